"""The Django environment as a developer meets it: the page and the health URL on the
published port (curl from the Docker host), a login shell in the work container, the
server surviving bad inputs, code changes and a restart of the container."""

from __future__ import annotations

import json
import re
import time

import docker
import pytest

WEB = "http://127.0.0.1:18100"
CONTAINER = "molecule-django-env-web"
STATE = "/home/dev/.devstack"


@pytest.fixture(scope="module")
def web():
    return docker.from_env().containers.get(CONTAINER)


def sh(web, script: str, user: str = "dev") -> tuple[int, str]:
    """A login shell in the work container, as `docker exec -it web bash -l` would give."""
    code, out = web.exec_run(["bash", "-lc", script], user=user)
    return code, out.decode()


def get(host, path: str) -> str:
    result = host.run(f"curl -sf --max-time 10 {WEB}{path}")
    assert result.rc == 0, f"GET {path}: rc {result.rc} {result.stderr}"
    return result.stdout


def wait_for(host, path: str, pattern: str, seconds: int = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        result = host.run(f"curl -s --max-time 5 {WEB}{path}")
        if re.search(pattern, result.stdout) or time.monotonic() > deadline:
            return result.stdout
        time.sleep(1)


def secrets(generated_secret) -> list[str]:
    return [generated_secret(name) for name in ("postgres_password", "redis_password", "django_secret_key")]


def side_effect(host) -> dict:
    return json.loads(host.file("/tmp/django_env_side_effect.json").content_string)


def test_the_server_kept_running_through_the_failures(host, web):
    # First: later tests restart the server on purpose.
    result = side_effect(host)
    assert result["pid_before"] and result["pid_before"] == result["pid_after"]
    code, pid_now = web.exec_run(["pgrep", "--oldest", "--full", "manage.py runserver"])
    assert pid_now.decode().strip() == result["pid_before"]


def test_page_is_translated_and_reads_postgres_and_the_redis_cache(host):
    page = get(host, "/")
    assert "来自团队开发环境的问候" in page                      # zh_Hans, compiled from the .po
    assert "stored in the database by migration 0001" in page   # a row read back
    assert "(postgresql)" in page
    first = int(re.search(r'id="visit-count">(\d+)<', page)[1])
    second = int(re.search(r'id="visit-count">(\d+)<', get(host, "/"))[1])
    assert second == first + 1                                  # the counter lives in Redis


def test_health_url_reports_database_and_cache_ok(host):
    health = json.loads(get(host, "/health/"))
    assert health["database"] == "ok" and health["cache"] == "ok", health
    assert health["database_vendor"] == "postgresql" and health["cache_backend"] == "RedisCache"


def test_fuzzy_entry_is_reported_not_compiled_and_compiled_with_use_fuzzy(host, web):
    assert 'id="draft">This sentence is a draft translation<' in get(host, "/")
    code, report = sh(web, f"cat {STATE}/i18n.json")
    assert json.loads(report)["fuzzy"] == {"locale/zh_Hans/LC_MESSAGES/django.po": 1}
    i18n = (f"{STATE}/venv/bin/python {STATE}/bin/django_env_i18n.py --project /data/sample "
            f"--manage {STATE}/bin/manage --state {STATE}/i18n.json --locale zh_Hans")
    restart = "pkill --full 'manage.py runserver'"   # what the role's handler does after compiling
    try:
        code, out = sh(web, i18n + " --use-fuzzy && " + restart)
        assert code == 0, out
        assert "这句话是翻译草稿" in wait_for(host, "/", "这句话是翻译草稿", 60)
    finally:
        sh(web, i18n + " && " + restart)
        assert "draft translation" in wait_for(host, "/", "draft translation", 60)


def test_login_shell_has_the_venv_the_environment_and_the_project(web):
    code, out = sh(web, 'echo "$PWD|$(command -v python)|$DJANGO_SETTINGS_MODULE|${DATABASE_URL%%:*}|${REDIS_URL%%:*}|$EMAIL_HOST"')
    assert code == 0, out
    assert out.strip().splitlines()[-1] == (
        f"/data/sample|{STATE}/venv/bin/python|sample.settings|postgres|redis|molecule-django-env-mailpit")


def test_manage_py_check_passes(web):
    code, out = sh(web, "python manage.py check")
    assert code == 0, out
    assert "System check identified no issues" in out


def test_mail_from_django_reaches_the_mail_catcher(host, web):
    code, out = sh(web, "python manage.py sendtestemail dev@example.org")
    assert code == 0, out
    listed = host.run("curl -sf http://127.0.0.1:18180/api/v1/messages").stdout
    assert "dev@example.org" in listed


def test_passwords_only_in_the_0600_env_file(web, generated_secret):
    code, stat = sh(web, f"stat -c '%a %U' {STATE}/env")
    assert stat.strip().splitlines()[-1] == "600 dev"
    _, bashrc = sh(web, f"cat ~/.bashrc {STATE}/bashrc")
    _, env = sh(web, f"cat {STATE}/env")
    inspect = json.dumps(web.client.api.inspect_container(CONTAINER))
    for secret in secrets(generated_secret):
        assert secret in env
        assert secret not in bashrc
        assert secret not in inspect


def test_secret_key_is_generated_once_and_only_in_the_env_file(web, generated_secret):
    key = generated_secret("django_secret_key")
    assert len(key) == 50 and key.isalnum()
    # What the project's settings read, in a login shell (the env file sourced).
    code, out = sh(web, "python -c 'from django.conf import settings; print(settings.SECRET_KEY)'")
    assert code == 0 and out.strip().splitlines()[-1] == key, out[-500:]


def test_only_the_published_names_are_allowed_hosts(host):
    # Issue 12: no '*' (a DNS name rebinding to this host would reach the server): a request
    # naming another host is refused with 400, one naming localhost is served.
    def status(host_header: str) -> str:
        return host.run(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 -H 'Host: {host_header}' "
                        f"{WEB}/health/").stdout.strip()

    assert status("rebind.example.com") == "400"
    assert status("localhost:18100") == "200"
    assert status("127.0.0.1:18100") == "200"


def test_the_debug_page_shows_no_password_of_the_stack(host, generated_secret):
    # Issue 12: DEBUG is on (development), so an error shows Django's technical page with the
    # settings and request.META, where runserver puts the whole environment. The sample's
    # reporter filter hides DATABASE_URL, REDIS_URL, CACHES' LOCATION and any URL with a password.
    page = host.run(f"curl -s --max-time 10 {WEB}/debug/fail/").stdout
    assert "the sample&#x27;s deliberate failure" in page or "the sample's deliberate failure" in page, page[:500]
    assert "DATABASE_URL" in page and "REDIS_URL" in page     # the environment is on the page...
    for secret in secrets(generated_secret):
        assert secret not in page                            # ...without the passwords in it


def test_a_repository_that_does_not_exist_fails_clearly(host):
    result = side_effect(host)
    assert "django_env_repo_url 'http://127.0.0.1:9/no/such/repository.git'" in result["bad_repo"]
    assert "could not be cloned" in result["bad_repo"]
    assert result["elsewhere_exists"] is False


def test_requirements_that_cannot_be_installed_fail_clearly(host):
    message = side_effect(host)["bad_requirements"]
    assert "django_env_requirements_file requirements-broken.txt could not be installed" in message
    assert "devstack-no-such-package-anywhere" in message


def test_a_code_change_under_data_reloads_the_server(host, web):
    motto = "/data/sample/pages/motto.py"
    _, original = sh(web, f"cat {motto}")
    try:
        sh(web, f"printf 'MOTTO = \"reloaded-by-the-test\"\\n' > {motto}")
        assert "reloaded-by-the-test" in wait_for(host, "/", "reloaded-by-the-test", 30)
    finally:
        web.exec_run(["sh", "-c", f"git -C /data/sample checkout -- pages/motto.py"], user="dev")


def test_the_server_comes_back_after_a_restart_of_the_container(host, web):
    web.restart(timeout=10)
    page = wait_for(host, "/", "来自团队开发环境的问候", 90)
    assert "来自团队开发环境的问候" in page
