"""Redis as a user meets it: redis-cli on the Docker host against the published port."""

import time

import pytest
from devstack_testinfra import assert_no_secret_in_inspect, published, scenario_var
from devstack_testinfra import inspect as inspect_container

PORT = scenario_var("redis_port")
CONTAINER = f"{scenario_var('devstack_name')}-redis"


@pytest.fixture(scope="module")
def password(generated_secret) -> str:
    return generated_secret("redis_password")


def cli(host, *args: str, password: str | None = None):
    auth = f"REDISCLI_AUTH={password} " if password else ""
    return host.run(f"{auth}redis-cli --no-auth-warning -p {PORT} " + " ".join(args))


def test_ping_with_password_answers_pong(host, password):
    assert cli(host, "PING", password=password).stdout.strip() == "PONG"


def test_commands_without_password_are_refused(host):
    out = cli(host, "SET", "intruder", "1").stdout
    assert "NOAUTH" in out


def test_wrong_password_is_refused(host):
    result = cli(host, "PING", password="not-the-password-at-all")
    assert "WRONGPASS" in result.stderr
    assert "PONG" not in result.stdout


def test_key_survives_recreation_of_the_container(host, password):
    # side_effect.yml wrote it, removed the container and converged again.
    assert cli(host, "GET", "survivor", password=password).stdout.strip() == "written-before-recreate"


def test_append_only_persistence_is_on(host, password):
    assert cli(host, "CONFIG", "GET", "appendonly", password=password).stdout.split() == ["appendonly", "yes"]


def test_published_on_loopback_only(host):
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening


def inspect(host) -> dict:
    return inspect_container(host, CONTAINER)


def test_container_is_healthy_and_restarts_by_itself(host):
    deadline = time.monotonic() + 60
    while (state := inspect(host)["State"]["Health"]["Status"]) != "healthy" and time.monotonic() < deadline:
        time.sleep(2)
    assert state == "healthy"
    config = inspect(host)
    assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert config["Config"]["Labels"]["org.devstack.stack"] == scenario_var("devstack_name")


def test_published_on_the_bind_address_only(host):
    assert published(host, CONTAINER) == {"6379/tcp": [f"127.0.0.1:{PORT}"]}


def test_password_is_not_in_docker_inspect(host, password):
    assert_no_secret_in_inspect(host, [CONTAINER], [password])
    assert not any("requirepass" in part for part in inspect(host)["Config"]["Cmd"])


def test_data_lives_in_the_named_volume(host):
    mounts = {m["Destination"]: m for m in inspect(host)["Mounts"]}
    assert mounts["/data"]["Type"] == "volume"
    assert mounts["/data"]["Name"] == f"{scenario_var('devstack_name')}_redis_data"
    assert mounts["/etc/redis/redis.conf"]["RW"] is False
