"""Settings of the devstack sample: everything that differs between machines comes from
the environment (the django_env role writes it to ~/.devstack/env)."""

import os
import sys
from importlib.util import find_spec
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

# The django_env role writes a generated key and the published names to the env file; never '*'
# (a DNS name that rebinds to this host would reach the server).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-development-only-key")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
# The debug page hides the stack's passwords inside URLs too (sample/reporting.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "sample.reporting.DevstackReporterFilter"

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "pages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# The debug toolbar shows to INTERNAL_IPS only. In the work container a browser's request through
# the published port arrives from the stack network's gateway, not 127.0.0.1: the django_env role
# writes the gateway to DJANGO_INTERNAL_IPS. Off with DEBUG off, and under `manage.py test`.
INTERNAL_IPS = [ip for ip in os.environ.get("DJANGO_INTERNAL_IPS", "127.0.0.1,::1").split(",") if ip]
DEBUG_TOOLBAR = DEBUG and find_spec("debug_toolbar") is not None and "test" not in sys.argv[1:2]
if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")

ROOT_URLCONF = "sample.urls"
WSGI_APPLICATION = "sample.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# postgres://user:password@host:5432/name (the local PostgreSQL of the stack, or the team's).  # pragma: allowlist secret
DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60)}

# redis://:password@host:6379/0 (the stack's Redis); without it, a per-process memory cache.
if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Mail goes to the stack's mail catcher when EMAIL_HOST is set, else to the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "sample@devstack.localhost")

LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
