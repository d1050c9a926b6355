"""The page shows every wire of the environment; /health/ reports them as JSON."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import motto
from .models import Note


def visits() -> int:
    cache.add("sample:visits", 0, timeout=None)
    return cache.incr("sample:visits")


def home(request: HttpRequest) -> HttpResponse:
    note = Note.objects.order_by("id").first()
    return render(request, "pages/home.html", {
        "greeting": _("Hello from the team's development stack"),
        "draft": _("This sentence is a draft translation"),
        "note": note.text if note else "",
        "vendor": connection.vendor,
        "visits": visits(),
        "motto": motto.MOTTO,
    })


def check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 (the report names any failure)
        return f"error: {exc.__class__.__name__}: {exc}"


def health(request: HttpRequest) -> JsonResponse:
    def database() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def cache_roundtrip() -> None:
        cache.set("sample:health", "ok", timeout=10)
        if cache.get("sample:health") != "ok":
            raise RuntimeError("value not read back")

    report = {"database": check(database), "cache": check(cache_roundtrip),
              "database_vendor": connection.vendor, "cache_backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}
    ok = report["database"] == "ok" and report["cache"] == "ok"
    return JsonResponse({"status": "ok" if ok else "error", **report}, status=200 if ok else 503)


def fail(request: HttpRequest) -> HttpResponse:
    """Raises on purpose, so the debug page can be checked: with DEBUG on it shows the settings
    and the environment, and no password of the stack (sample/reporting.py). 404 without DEBUG."""
    if not settings.DEBUG:
        raise Http404
    raise RuntimeError("the sample's deliberate failure (/debug/fail/)")
