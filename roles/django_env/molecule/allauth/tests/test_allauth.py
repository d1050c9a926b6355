"""A second project, unlike the shipped sample (make_allauth_project.py): a settings package,
split requirements, django-allauth, Celery worker and beat, a second database, wired to the
stack's Redis and PostgreSQL by name (django_env_env_refs). Checked as a developer would: curl
on the published port, `manage` in the work container, redis-cli and psql on the stack's ports."""

from __future__ import annotations

import json
import re
import shlex
import time

import docker
import pytest

from devstack_testinfra import assert_no_secret_in_inspect, scenario_var

STACK = scenario_var("devstack_name")
WEB = f"http://127.0.0.1:{scenario_var('django_env_test_web_port')}"
CONTAINER = f"{STACK}-web"
WORKERS = [f"{STACK}-worker-celery", f"{STACK}-worker-beat"]
STATE = "/home/dev/.devstack"
PROJECT = f"/data/{scenario_var('django_env_project')}"
REDIS_PORT = scenario_var("redis_port")
PG_PORT = scenario_var("postgres_port")


@pytest.fixture(scope="module")
def web():
    return docker.from_env().containers.get(CONTAINER)


@pytest.fixture(scope="module")
def secrets(generated_secret) -> dict[str, str]:
    return {name: generated_secret(name) for name in ("redis_password", "postgres_password", "django_secret_key")}


def sh(web, script: str, user: str = "dev") -> tuple[int, str]:
    """A login shell in the work container, as `docker exec -it web bash -l` gives."""
    code, out = web.exec_run(["bash", "-lc", script], user=user)
    return code, out.decode()


def manage_shell(web, code: str) -> str:
    rc, out = sh(web, f"python manage.py shell -c {shlex.quote(code)}")
    assert rc == 0, out
    return out


def curl(host, path: str, language: str = "") -> tuple[str, str]:
    """(status, body) of a GET on the published port, with an Accept-Language when given."""
    header = f"-H 'Accept-Language: {language}'" if language else ""
    result = host.run(f"curl -s --max-time 20 {header} -w '\\n%{{http_code}}' {WEB}{path}")
    assert result.rc == 0, f"GET {path}: rc {result.rc} {result.stderr}"
    body, _, status = result.stdout.rpartition("\n")
    return status, body


def test_the_home_page_answers_200_in_the_project_s_own_translation(host):
    status, body = curl(host, "/")
    assert status == "200", body[-2000:]
    assert 'id="welcome">Welcome to the second project<' in body and 'id="language">en<' in body
    # zh_Hans from the project's locale/ (LOCALE_PATHS at the root), compiled by the role.
    status, body = curl(host, "/", "zh-hans")
    assert status == "200"
    assert 'id="welcome">欢迎来到第二个项目<' in body and 'id="language">zh-hans<' in body


def test_the_project_s_translations_were_compiled(web):
    rc, out = sh(web, f"test -s {PROJECT}/locale/zh_Hans/LC_MESSAGES/django.mo && cat {STATE}/i18n.json")
    assert rc == 0, out
    assert json.loads(out)["po_files"] == [f"{PROJECT}/locale/zh_Hans/LC_MESSAGES/django.po"]


def test_allauth_login_page_is_chinese_for_a_zh_hans_request(host):
    status, body = curl(host, "/accounts/login/", "zh-hans")
    assert status == "200", body[-2000:]
    assert "登录" in body and "Sign In" not in body        # allauth's own zh_Hans catalogue
    status, body = curl(host, "/accounts/login/", "en")
    assert status == "200" and "Sign In" in body and "登录" not in body


def test_the_settings_package_and_split_requirements_are_used(web):
    rc, out = sh(web, "echo $DJANGO_SETTINGS_MODULE; pip show django-allauth celery | grep -E '^(Name|Version):'")
    assert rc == 0, out
    assert out.splitlines()[0] == "config.settings.local"
    # Only requirements/local.txt was given: allauth and celery came through its `-r base.txt`.
    assert "Name: django-allauth" in out and "Version: 65.13.1" in out and "Name: celery" in out


def test_every_migration_is_applied_in_the_stack_s_postgresql(host, web, secrets):
    rc, out = sh(web, "python manage.py showmigrations")
    assert rc == 0, out
    assert "account" in out and "[X] 0001_initial" in out
    assert "[ ]" not in out, out
    tables = host.run(
        f"PGPASSWORD={secrets['postgres_password']} psql -h 127.0.0.1 -p {PG_PORT} -U django -d django -Atc "
        "\"SELECT tablename FROM pg_tables WHERE tablename LIKE 'account_%' ORDER BY 1\"")
    assert tables.rc == 0, tables.stderr
    assert "account_emailaddress" in tables.stdout.split()


def test_the_second_database_is_the_stack_s_analytics_database(web):
    out = manage_shell(web, "from django.db import connections; c = connections['analytics'].cursor(); "
                            "c.execute('SELECT current_database(), current_user'); print('DB', *c.fetchone())")
    assert "DB analytics django" in out


def test_env_references_are_the_stack_s_redis_with_its_password(web, secrets):
    rc, out = sh(web, 'printf "%s\\n" "$REDIS_URL" "$CELERY_BROKER_URL" "$CELERY_RESULT_BACKEND" '
                      '"$DATABASE_URL" "$ANALYTICS_DATABASE_URL"')
    assert rc == 0
    redis_url, broker, backend, database, analytics = out.splitlines()[-5:]
    assert broker == redis_url and secrets["redis_password"] in broker
    assert backend == re.sub(r"/0$", "/1", redis_url) and backend.endswith("/1")
    assert analytics == re.sub(r"/django$", "/analytics", database) and analytics.endswith("/analytics")


def test_a_celery_task_returns_its_result_through_the_stack_s_redis(host, web, secrets):
    out = manage_shell(web, "from config.celery import add; r = add.delay(2, 3); "
                            "print('RESULT', r.get(timeout=90), r.id)")
    match = re.search(r"RESULT (\S+) (\S+)", out)
    assert match, out
    assert match[1] == "5"
    # The result is in Redis database 1 (CELERY_RESULT_BACKEND: redis_url:1), read with redis-cli.
    stored = host.run(f"REDISCLI_AUTH={secrets['redis_password']} redis-cli -p {REDIS_PORT} -n 1 "
                      f"GET celery-task-meta-{match[2]}")
    assert stored.rc == 0, stored.stderr
    assert json.loads(stored.stdout)["result"] == 5


def test_beat_sends_its_periodic_task_to_the_worker(host):
    client = docker.from_env()
    assert [client.containers.get(name).status for name in WORKERS] == ["running", "running"]
    deadline = time.monotonic() + 60
    while b"config.celery.tick" not in (logs := client.containers.get(WORKERS[0]).logs()) \
            and time.monotonic() < deadline:
        time.sleep(2)
    assert b"config.celery.tick" in logs and b"succeeded" in logs
    assert b"beat: Starting" in client.containers.get(WORKERS[1]).logs()


def test_resolved_values_are_only_in_the_0600_env_file(host, web, secrets):
    rc, out = sh(web, f"stat -c '%a %U' {STATE}/env; grep -c '^export CELERY_BROKER_URL=' {STATE}/env")
    assert rc == 0 and out.split() == ["600", "dev", "1"], out
    rc, bashrc = sh(web, f"cat ~/.bashrc {STATE}/bashrc")
    assert secrets["redis_password"] not in bashrc and "CELERY" not in bashrc
    assert_no_secret_in_inspect(host, [CONTAINER, *WORKERS], secrets.values())


def test_an_unknown_reference_was_refused_before_any_change(host, secrets):
    # side_effect.yml: CELERY_BROKER_URL: redis_uri on the converged stack.
    result = json.loads(host.file("/tmp/django_env_allauth_side_effect.json").content_string)
    assert "django_env_env_refs.CELERY_BROKER_URL: 'redis_uri' is not a known reference" in result["bad_ref"]
    assert secrets["redis_password"] not in result["bad_ref"]
    assert result["before"] and result["before"] == result["after"]
