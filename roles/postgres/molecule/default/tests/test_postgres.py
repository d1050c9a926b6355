"""PostgreSQL as a user meets it: psql on the Docker host against the published port."""

from __future__ import annotations

import json

import pytest

from devstack_testinfra import health
from devstack_testinfra import inspect as inspect_container
from devstack_testinfra import scenario_var

PORT = scenario_var("postgres_port")
CONTAINER = f"{scenario_var('devstack_name')}-postgres"


@pytest.fixture(scope="module")
def password(generated_secret) -> str:
    return generated_secret("postgres_password")


def psql(host, sql: str, password: str, user: str = "django", db: str = "django"):
    return host.run(f"PGPASSWORD={password} psql -h 127.0.0.1 -p {PORT} -U {user} -d {db} -Atc \"{sql}\"")


def inspect(host) -> dict:
    return inspect_container(host, CONTAINER)


def test_login_with_the_password_reaches_the_project_database(host, password):
    result = psql(host, "SELECT current_user || ' ' || current_database()", password)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "django django"


def test_the_extra_database_exists_owned_by_the_project_role(host, password):
    result = psql(host, "SELECT current_database() || ' ' || pg_get_userbyid(datdba) FROM pg_database "
                        "WHERE datname = current_database()", password, db="analytics")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "analytics django"
    # The project's role may create tables in it (Django's migrate does).
    result = psql(host, "CREATE TABLE IF NOT EXISTS probe (n int); DROP TABLE probe", password, db="analytics")
    assert result.rc == 0, result.stderr


def test_a_database_not_declared_does_not_exist(host, password):
    result = psql(host, "SELECT 1", password, db="reports")
    assert result.rc != 0 and 'database "reports" does not exist' in result.stderr


def test_wrong_password_is_refused(host):
    result = psql(host, "SELECT 1", "not-the-password-at-all")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_row_survives_recreation_of_the_container(host, password):
    # side_effect.yml wrote it, removed the container and converged again.
    assert psql(host, "SELECT note FROM survivor", password).stdout.strip() == "written-before-recreate"


def test_published_on_loopback_only(host):
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening


def test_container_is_healthy_by_pg_isready_and_restarts_by_itself(host):
    assert health(host, CONTAINER) == "healthy"
    config = inspect(host)
    assert "pg_isready" in config["Config"]["Healthcheck"]["Test"]
    assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert config["Config"]["Labels"]["org.devstack.stack"] == "molecule-postgres"


def test_password_is_only_in_a_read_only_root_only_file(host, password):
    config = inspect(host)
    assert password not in json.dumps(config)
    mounts = {m["Destination"]: m for m in config["Mounts"]}
    assert mounts["/run/secrets/postgres_password"]["RW"] is False
    folder = host.file("/etc/devstack/molecule-postgres/postgres")
    assert folder.user == "root" and folder.mode == 0o700
    secret = host.file("/etc/devstack/molecule-postgres/postgres/password")
    assert secret.uid == 999 and secret.mode == 0o400


def test_password_is_not_in_the_log_or_a_command_line(host, password):
    logs = host.run(f"curl -s --unix-socket /var/run/docker.sock 'http://docker/containers/{CONTAINER}/logs?stdout=1&stderr=1' | cat -v")
    assert logs.rc == 0 and "database system is ready" in logs.stdout
    assert password not in logs.stdout
    cmdlines = host.ansible("community.docker.docker_container_exec",
                            f"container={CONTAINER} argv=['sh','-c','cat /proc/[0-9]*/cmdline']", check=False)
    assert password not in cmdlines["stdout"]


def test_data_lives_in_the_named_volume(host):
    mounts = {m["Destination"]: m for m in inspect(host)["Mounts"]}
    assert mounts["/var/lib/postgresql/data"]["Type"] == "volume"
    assert mounts["/var/lib/postgresql/data"]["Name"] == "molecule-postgres_postgres_data"
