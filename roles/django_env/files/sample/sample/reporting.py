"""Django's debug page (DEBUG on, as in development) without the stack's passwords.

Django hides settings and request.META entries whose NAME looks secret (PASS, KEY, TOKEN,
SECRET...). The stack's passwords also travel inside values whose names do not: DATABASE_URL,
REDIS_URL and CELERY_BROKER_URL in the environment (runserver puts it in request.META), and
CACHES' LOCATION. This filter hides those names too, and any value that holds a URL with a
password in it (a user, a colon and a password before the @), whatever it is called."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/@:]*:[^\s/@]+@", re.IGNORECASE)


class DevstackReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|DSN|LOCATION|BROKER|BACKEND_URL",
                                 flags=re.IGNORECASE)

    def cleanse_setting(self, key, value):
        if isinstance(value, str) and URL_PASSWORD.search(value):
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)
