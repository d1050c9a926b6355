"""Writes a second Django project, unlike the shipped sample, into a git repository that the
django_env role then clones (django_env_repo_url: a path in the work container):

- a settings package, config/settings/{base,local}.py (DJANGO_SETTINGS_MODULE=config.settings.local);
- split requirements, requirements/base.txt and requirements/local.txt (`-r base.txt`);
- django-allauth (its login page at /accounts/login/, translated by allauth's own zh_Hans files);
- Celery in config/celery.py, `celery -A config worker` and `beat`, broker and result backend
  from CELERY_BROKER_URL / CELERY_RESULT_BACKEND (django_env_env_refs: redis_url, redis_url:1);
- a second database alias from ANALYTICS_DATABASE_URL (database_url:analytics);
- LOCALE_PATHS at the project root, LocaleMiddleware and LANGUAGES with zh-hans, and a string of
  its own translated in locale/zh_Hans/LC_MESSAGES/django.po (compiled by the role).

Run as the work container's user: python3 make_allauth_project.py DEST. Standard library and
git only. Idempotent: a second run with the same files makes no commit. Prints one JSON line:
{"changed": bool, "commit": "<sha>"}.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FILES: dict[str, str] = {}

FILES[".gitignore"] = """\
__pycache__/
*.pyc
celerybeat-schedule*
"""

FILES["requirements/base.txt"] = """\
# What every machine of the project installs.
Django==5.2.19
django-allauth==65.13.1
celery==5.5.3
redis==8.1.0
psycopg[binary]==3.3.9
dj-database-url==3.1.2
"""

FILES["requirements/local.txt"] = """\
# A developer's machine: the base requirements (from the file next to this one) and local tools.
-r base.txt
"""

FILES["manage.py"] = """\
#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

FILES["config/__init__.py"] = """\
# The Celery app is loaded with Django, so `celery -A config` and @shared_task find it.
from .celery import app as celery_app

__all__ = ("celery_app",)
"""

FILES["config/celery.py"] = """\
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
# CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_BEAT_SCHEDULE ... from the settings.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task
def add(x, y):
    return x + y


@app.task
def tick():
    # Sent by beat every few seconds (CELERY_BEAT_SCHEDULE): the worker logs it.
    return "tick"
"""

FILES["config/settings/__init__.py"] = ""

FILES["config/settings/base.py"] = """\
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(os.environ["DATABASE_URL"]),
    # A second database on the stack's PostgreSQL (django_env_env_refs: database_url:analytics).
    "analytics": dj_database_url.parse(os.environ["ANALYTICS_DATABASE_URL"]),
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": os.environ["REDIS_URL"]}}

CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_RESULT_BACKEND = os.environ["CELERY_RESULT_BACKEND"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {"tick": {"task": "config.celery.tick", "schedule": 5.0}}

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

FILES["config/settings/local.py"] = """\
from .base import *  # noqa: F401,F403

DEBUG = True
"""

FILES["config/urls.py"] = """\
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("allauth.urls")),
]
"""

FILES["config/views.py"] = """\
from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _


def home(request):
    # Outside the f-string: xgettext (makemessages) does not look inside one.
    welcome = _("Welcome to the second project")
    return HttpResponse(f'<p id="welcome">{welcome}</p><p id="language">{get_language()}</p>')
"""

FILES["config/wsgi.py"] = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()
"""

FILES["locale/zh_Hans/LC_MESSAGES/django.po"] = """\
msgid ""
msgstr ""
"Project-Id-Version: allauth-project\\n"
"Language: zh_Hans\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

#: config/views.py:8
msgid "Welcome to the second project"
msgstr "欢迎来到第二个项目"

#: config/settings/base.py:75
msgid "English"
msgstr "英语"

#: config/settings/base.py:75
msgid "Simplified Chinese"
msgstr "简体中文"
"""


def git(dest: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=devstack-test", "-c", "user.email=test@devstack.localhost",
                           *args], cwd=dest, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed in {dest}: {done.stderr}")
    return done.stdout.strip()


def main() -> None:
    dest = Path(sys.argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    for rel, text in FILES.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    (dest / "manage.py").chmod(0o755)
    if not (dest / ".git").exists():
        git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "--all")
    changed = bool(git(dest, "status", "--porcelain"))
    if changed:
        git(dest, "commit", "--quiet", "-m", "allauth test project")
    print(json.dumps({"changed": changed, "commit": git(dest, "rev-parse", "HEAD")}))


if __name__ == "__main__":
    main()
