from django.urls import path

from pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("debug/fail/", views.fail, name="fail"),
]
