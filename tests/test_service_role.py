"""The internal service role alone, on this machine's engine: what it makes (labelled
network and volume, the container with its ports), that a container which never becomes
healthy fails the run with the container's name and its last health check output, and that
`absent` removes the container but never its volume."""

from __future__ import annotations

import json

import pytest
from conftest import playbook, stack_objects

STACK = "pytest-service"
PORT = 23456


def converge(**extra):
    return playbook("tests/playbooks/service_role.yml", "-e", json.dumps({"test_stack": STACK, "test_port": PORT, **extra}))


@pytest.fixture()
def clean(docker_client):
    def remove():
        for c in docker_client.containers.list(all=True, filters={"label": f"org.devstack.stack={STACK}"}):
            c.remove(force=True)
        for v in docker_client.volumes.list(filters={"label": f"org.devstack.stack={STACK}"}):
            v.remove(force=True)
        for n in docker_client.networks.list(filters={"label": f"org.devstack.stack={STACK}"}):
            n.remove()
    remove()
    yield docker_client
    remove()


def test_a_healthy_service_is_made_labelled_waited_for_and_idempotent(clean):
    first = converge(test_health=["CMD", "true"])
    assert first.returncode == 0, first.output[-3000:]
    container = clean.containers.get(f"{STACK}-svc")
    assert container.attrs["State"]["Health"]["Status"] == "healthy"   # waited for
    labels = container.labels
    assert (labels["org.devstack.project"], labels["org.devstack.stack"], labels["org.devstack.role"]) == \
        ("devstack", STACK, "pytest")
    assert container.attrs["HostConfig"]["PortBindings"] == {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(PORT)}]}
    assert clean.volumes.get(f"{STACK}_keep").attrs["Labels"]["org.devstack.role"] == "pytest"
    assert clean.networks.get(STACK).attrs["Labels"]["org.devstack.stack"] == STACK
    again = converge(test_health=["CMD", "true"])
    assert again.returncode == 0 and again.recap()["localhost"]["changed"] == 0, again.output[-3000:]


def test_a_service_that_never_becomes_healthy_fails_naming_it_and_its_last_check(clean):
    result = converge(test_health=["CMD-SHELL", "echo pytest-probe-says-no; exit 1"])
    said = " ".join(result.output.split())
    assert result.returncode != 0
    assert f"{STACK}-svc (pytest) is not healthy" in said
    assert "pytest-probe-says-no" in said and f"docker logs {STACK}-svc" in said


def test_absent_removes_the_container_and_keeps_its_volume(clean):
    assert converge(test_health=["CMD", "true"]).returncode == 0
    gone = converge(test_health=["CMD", "true"], test_state="absent")
    assert gone.returncode == 0, gone.output[-3000:]
    assert f"{STACK}-svc" not in stack_objects(clean, STACK)
    assert f"{STACK}_keep" in stack_objects(clean, STACK)
