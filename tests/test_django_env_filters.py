"""Unit tests of the django_env role's reference filters: env file variables that name the
stack's own URLs and secrets (roles/django_env/filter_plugins/django_env_refs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location(
    "django_env_refs", ROOT / "roles/django_env/filter_plugins/django_env_refs.py")
refs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(refs)

VALUES = {
    "database_url": "postgres://django:p%40ss@molecule-postgres:5432/django",  # pragma: allowlist secret
    "redis_url": "redis://:r3dis@molecule-redis:6379/0",  # pragma: allowlist secret
    "redis_password": "r3dis",  # pragma: allowlist secret
    "postgres_password": "p@ss",  # pragma: allowlist secret
    "secret_key": "k" * 50,
}


def test_references_resolve_to_the_stack_values():
    got = refs.django_env_refs({
        "CELERY_BROKER_URL": "redis_url",
        "CELERY_RESULT_BACKEND": "redis_url:1",
        "ANALYTICS_DATABASE_URL": "database_url:analytics",
        "MAIN_DB": "database_url",
        "REDIS_PASSWORD": "redis_password",  # pragma: allowlist secret
        "PGPASSWORD": "postgres_password",  # pragma: allowlist secret
        "OTHER_SECRET": "secret_key",  # pragma: allowlist secret
    }, VALUES)
    assert got == {
        "CELERY_BROKER_URL": "redis://:r3dis@molecule-redis:6379/0",  # pragma: allowlist secret
        "CELERY_RESULT_BACKEND": "redis://:r3dis@molecule-redis:6379/1",  # pragma: allowlist secret
        # The encoded password stays encoded; only the database changes.
        "ANALYTICS_DATABASE_URL": "postgres://django:p%40ss@molecule-postgres:5432/analytics",  # pragma: allowlist secret
        "MAIN_DB": VALUES["database_url"],
        "REDIS_PASSWORD": "r3dis",  # pragma: allowlist secret
        "PGPASSWORD": "p@ss",  # pragma: allowlist secret
        "OTHER_SECRET": "k" * 50,
    }


def test_a_url_query_and_a_unix_socket_keep_their_parts():
    values = {**VALUES, "database_url": "postgres://u:p@db:5432/main?sslmode=require",  # pragma: allowlist secret
              "redis_url": "unix:///run/redis/redis.sock?password=x&db=0"}  # pragma: allowlist secret
    got = refs.django_env_refs({"A": "database_url:other", "B": "redis_url:3"}, values)
    assert got["A"] == "postgres://u:p@db:5432/other?sslmode=require"  # pragma: allowlist secret
    assert got["B"] == "unix:///run/redis/redis.sock?password=x&db=3"  # pragma: allowlist secret


def test_no_references_are_no_problem_and_no_values():
    assert refs.django_env_ref_problems({}) == []
    assert refs.django_env_ref_problems(None) == []
    assert refs.django_env_refs({}, VALUES) == {}


def test_good_references_have_no_problems():
    assert refs.django_env_ref_problems(
        {"A": "redis_url", "B": "redis_url:15", "C": "database_url:analytics", "D": "secret_key"},
        extra_env={"E": "x"}, databases=["django", "analytics"], reserved=["DATABASE_URL"]) == []


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"CELERY_BROKER_URL": "redis_uri"}, "'redis_uri' is not a known reference"),
        ({"CELERY_BROKER_URL": ""}, "is not a known reference"),
        ({"CELERY_BROKER_URL": 5}, "is not a known reference"),
        ({"X": "redis_url:16"}, "number from 0 to 15"),
        ({"X": "redis_url:one"}, "number from 0 to 15"),
        ({"X": "redis_url:"}, "number from 0 to 15"),
        ({"X": "secret_key:1"}, "secret_key takes no argument"),
        ({"X": "database_url:Bad-Name"}, "lower-case identifier"),
        ({"X": "database_url:reports"}, "'reports' is not a database of the stack's PostgreSQL"),
        ({"BAD-NAME": "redis_url"}, "'BAD-NAME' is not a shell variable name"),
        ({"DATABASE_URL": "redis_url"}, "DATABASE_URL is written by the role itself"),
        ({"SHARED": "redis_url"}, "also set in django_env_extra_env"),
    ],
)
def test_bad_references_are_named(given, words):
    problems = refs.django_env_ref_problems(given, extra_env={"SHARED": "x"}, databases=["django", "analytics"],
                                            reserved=["DATABASE_URL", "REDIS_URL"])
    assert len(problems) == 1, problems
    assert problems[0].startswith("django_env_env_refs")
    assert words in problems[0]


def test_any_database_name_is_accepted_when_the_database_is_not_the_stacks():
    assert refs.django_env_ref_problems({"X": "database_url:reports"}, databases=None) == []


def test_not_a_mapping_is_named():
    assert "django_env_env_refs must be a mapping" in refs.django_env_ref_problems(["redis_url"])[0]


def test_resolving_a_bad_reference_fails_without_showing_a_value():
    with pytest.raises(AnsibleFilterError) as error:
        refs.django_env_refs({"X": "redis_pass"}, VALUES)
    assert "django_env_env_refs.X" in str(error.value)
    assert "r3dis" not in str(error.value)


def test_a_reference_without_a_value_fails():
    with pytest.raises(AnsibleFilterError, match="django_env_env_refs.X: redis_password has no value"):
        refs.django_env_refs({"X": "redis_password"}, {**VALUES, "redis_password": ""})


# What the role writes itself, and the variable that sets each (vars/main.yml _django_env_own_env).
OWN = {"DATABASE_URL": "django_env_database_url", "REDIS_URL": "django_env_redis_url",
       "DJANGO_SECRET_KEY": "django_env_secret_key", "DJANGO_INTERNAL_IPS": ""}  # pragma: allowlist secret


def test_extra_env_may_not_set_what_the_role_writes_and_names_the_variable_to_use():
    """DATABASE_URL in django_env_extra_env would be exported after the stack's own and migrate
    would run against it as if it were the stack's database (issue 30, item 1): refused."""
    problems = refs.django_env_extra_env_problems(
        {"DATABASE_URL": "postgres://team@db.example.cn/prod", "REDIS_URL": "redis://x", "SENTRY_DSN": "x"}, OWN)
    assert problems == [
        "django_env_extra_env.DATABASE_URL: DATABASE_URL is written by the role itself; set django_env_database_url "
        "instead (a database that is not the stack's own is then migrated only with django_env_migrate_external)",
        "django_env_extra_env.REDIS_URL: REDIS_URL is written by the role itself; set django_env_redis_url instead",
    ]
    assert "postgres://team" not in " ".join(problems)   # names only: the values may be secrets
    assert refs.django_env_extra_env_problems({"DJANGO_INTERNAL_IPS": "10.0.0.1"}, OWN) == [
        "django_env_extra_env.DJANGO_INTERNAL_IPS: DJANGO_INTERNAL_IPS is written by the role itself; "
        "choose another name"]


def test_extra_env_of_other_names_has_no_problem():
    assert refs.django_env_extra_env_problems({"SENTRY_DSN": "x", "DEBUG": "1"}, OWN) == []
    assert refs.django_env_extra_env_problems({}, OWN) == []
    assert refs.django_env_extra_env_problems(None, OWN) == []
