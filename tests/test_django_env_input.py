"""Bad input to postgres, mailpit and django_env fails before anything changes, with a
message naming the variable."""

from __future__ import annotations

import base64
import struct

import pytest
from conftest import case_id, refused

STACK = "pytest-django-input"
# A well-formed ed25519 host key (the type inside the blob matches), for cases about something else.
HOST_KEY = "ssh-ed25519 " + base64.b64encode(struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + bytes(32)).decode()
SSH_URL = "git@git.example.com:team/app.git"


def rejected(docker_client, tmp_path, play: str, extra: dict, named: str) -> None:
    refused(docker_client, play, STACK, extra, named, credentials=tmp_path)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"postgres_port": 70000}, "postgres_port"),
        ({"postgres_bind_address": "localhost"}, "postgres_bind_address"),
        ({"postgres_user": "Robert'); DROP"}, "postgres_user"),
        ({"postgres_password": "short"}, "postgres_password"),  # pragma: allowlist secret
        ({"postgres_password": "has/slash@and-is-long-enough"}, "postgres_password"),  # pragma: allowlist secret
        ({"postgres_restart_policy": "sometimes"}, "postgres_restart_policy"),
        ({"postgres_extra_databases": ["Bad-Name"]}, "postgres_extra_databases"),
        ({"postgres_extra_databases": ["django"]}, "postgres_extra_databases"),
        ({"postgres_extra_databases": ["a", "a"]}, "postgres_extra_databases"),
    ],
    ids=case_id,
)
def test_postgres_rejects_bad_input(docker_client, tmp_path, extra, named):
    rejected(docker_client, tmp_path, "playbooks/postgres.yml", extra, named)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"mailpit_enabled": True, "mailpit_ui_port": 0}, "mailpit_ui_port"),
        ({"mailpit_enabled": True, "mailpit_smtp_port": 8025}, "mailpit_smtp_port"),
        ({"mailpit_enabled": True, "mailpit_bind_address": "0.0.0.0.0"}, "mailpit_bind_address"),
        ({"mailpit_enabled": True, "mailpit_image": "Not An Image"}, "mailpit_image"),
    ],
    ids=case_id,
)
def test_mailpit_rejects_bad_input(docker_client, tmp_path, extra, named):
    rejected(docker_client, tmp_path, "playbooks/mailpit.yml", extra, named)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"django_env_locales": ["zh CN"]}, "django_env_locales"),
        ({"django_env_locales": []}, "django_env_locales"),
        ({"django_env_repo_url": "not a url"}, "django_env_repo_url"),
        # Issue 30 item 3: a token in a URL would reach argv, logs, .git/config and a 0644 stamp.
        ({"django_env_repo_url": "https://ci:glpat-TOKEN@git.example.cn/team/site.git"},  # pragma: allowlist secret
         "django_env_repo_url holds a credential"),
        ({"django_env_pip_extra_args": ["--index-url", "https://bot:TOKEN@pypi.example.cn/simple"]},  # pragma: allowlist secret
         "django_env_pip_extra_args holds a credential"),
        ({"django_env_repo_version": "main; rm -rf /"}, "django_env_repo_version"),
        # Issue 30 item 11: an option is not a version (it became `git checkout -f`).
        ({"django_env_repo_version": "-f"}, "django_env_repo_version '-f'"),
        ({"django_env_repo_version": "--orphan=x"}, "django_env_repo_version '--orphan=x'"),
        ({"django_env_requirements_file": "../etc/passwd"}, "django_env_requirements_file"),
        ({"django_env_data_dir": "data"}, "django_env_data_dir"),
        ({"django_env_runserver_address": "0.0.0.0:80000"}, "django_env_runserver_address"),
        ({"django_env_step_timeout": 0}, "django_env_step_timeout (0) must be from 10 to 86400"),
        ({"django_env_step_timeout": "forever"}, "django_env_step_timeout"),
        ({"django_env_extra_env": {"BAD-NAME": "x"}}, "django_env_extra_env"),
        # As `-e django_env_extra_env='{"A": "1"}'` gives it: a string, not a mapping.
        ({"django_env_extra_env": '{"A": "1"}'}, "django_env_extra_env must be a dict, got a string"),
        # Issue 30 item 1: a variable the role writes (the stack's database, above all) is set by its own
        # variable, never through django_env_extra_env (migrate would run against it as the stack's).
        ({"django_env_extra_env": {"DATABASE_URL": "postgres://u:p@team-db.example.cn/prod"}},  # pragma: allowlist secret
         "django_env_extra_env.DATABASE_URL: DATABASE_URL is written by the role itself; set django_env_database_url"),
        ({"django_env_extra_env": {"DJANGO_SETTINGS_MODULE": "x.settings"}},
         "django_env_extra_env.DJANGO_SETTINGS_MODULE: DJANGO_SETTINGS_MODULE is written by the role itself; "
         "set django_env_settings_module"),
        ({"django_env_env_refs": {"CELERY_BROKER_URL": "redis_uri"}}, "django_env_env_refs.CELERY_BROKER_URL"),
        ({"django_env_env_refs": {"X": "database_url:analytics"}}, "django_env_env_refs.X"),
        ({"django_env_env_refs": {"DATABASE_URL": "redis_url"}}, "django_env_env_refs.DATABASE_URL"),
        ({"django_env_settings_module": "sample/settings"}, "django_env_settings_module"),
        ({"django_env_migrate": "perhaps"}, "django_env_migrate"),
        ({"django_env_migrate_external": "perhaps"}, "django_env_migrate_external"),
        ({"django_env_allowed_hosts": ["*"]}, "django_env_allowed_hosts"),
        ({"django_env_allowed_hosts": []}, "django_env_allowed_hosts"),
        # Git over SSH (issue 13): the URL forms, the pin, the deploy key.
        ({"django_env_repo_url": "ssh://git.example.com/team/app.git", "django_env_repo_host_key": HOST_KEY},
         "django_env_repo_url 'ssh://git.example.com/team/app.git' is a git-over-SSH URL of a form"),
        ({"django_env_repo_url": "ssh://git@git.example.com:99999/app.git", "django_env_repo_host_key": HOST_KEY},
         "django_env_repo_url 'ssh://git@git.example.com:99999/app.git': port 99999"),
        ({"django_env_repo_url": SSH_URL}, "django_env_repo_host_key is empty"),
        ({"django_env_repo_host_key": "ssh-ed25519 AAAA-not-base64", "django_env_repo_url": SSH_URL},
         "django_env_repo_host_key is not the git server's public host key"),
        ({"django_env_repo_host_key": "git.example.com " + HOST_KEY.replace("ed25519", "rsa", 1), "django_env_repo_url": SSH_URL},
         "django_env_repo_host_key is not the git server's public host key"),
        ({"django_env_repo_host_key_policy": "yes", "django_env_repo_url": SSH_URL}, "django_env_repo_host_key_policy"),
        ({"django_env_repo_key_file": "/nonexistent/deploy_key", "django_env_repo_url": SSH_URL,
          "django_env_repo_host_key": HOST_KEY}, "django_env_repo_key_file (/nonexistent/deploy_key) must be"),
        ({"django_env_repo_key_file": "deploy_key", "django_env_repo_url": SSH_URL,
          "django_env_repo_host_key": HOST_KEY}, "django_env_repo_key_file (deploy_key) must be"),
        ({"django_env_repo_key_file": "/etc/hostname", "django_env_repo_url": SSH_URL,
          "django_env_repo_host_key": HOST_KEY}, "django_env_repo_key_file (/etc/hostname) is not an SSH private key"),
        ({"django_env_repo_key": "ssh-ed25519 AAAA a public key", "django_env_repo_url": SSH_URL,  # pragma: allowlist secret
          "django_env_repo_host_key": HOST_KEY}, "django_env_repo_key is not an SSH private key"),
    ],
    ids=case_id,
)
def test_django_env_rejects_bad_input(docker_client, tmp_path, extra, named):
    rejected(docker_client, tmp_path, "playbooks/django_env.yml", extra, named)


def test_django_env_names_a_missing_work_container(docker_client, tmp_path):
    rejected(docker_client, tmp_path, "playbooks/django_env.yml", {}, "django_env_container pytest-django-input-web")


@pytest.mark.parametrize("extra", [
    {"django_env_repo_url": "https://ci:glpat-T0KEN@git.example.cn/team/site.git"},  # pragma: allowlist secret
    {"django_env_repo_url": "ssh://git:T0KEN@git.example.cn/team/site.git"},  # pragma: allowlist secret
    {"django_env_repo_url": "git:T0KEN@git.example.cn:team/site.git"},  # pragma: allowlist secret
    {"django_env_pip_extra_args": ["-i", "https://T0KEN@pypi.example.cn/simple"]},
], ids=case_id)
def test_a_credential_in_a_url_is_refused_and_never_shown(docker_client, tmp_path, extra):
    """Issue 30 item 3: the run fails naming the variable, and the token is in none of its output."""
    result = rejected_run(docker_client, tmp_path, extra)
    assert "holds a credential" in result.output and "T0KEN" not in result.output, result.output[-3000:]


def rejected_run(docker_client, tmp_path, extra):
    return refused(docker_client, "playbooks/django_env.yml", STACK, extra, "django_env_", credentials=tmp_path)
