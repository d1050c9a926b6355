"""The service role's plumbing as the roles rely on it: what it makes (labelled network and
volume, the container with only its non-zero ports, waited for until healthy), a service that
never becomes healthy failing the run with its name and last check, and `absent` keeping the
volume (side_effect.yml)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from devstack_testinfra import health, inspect, published, scenario_var

STACK = scenario_var("devstack_name")
PORT = scenario_var("service_test_port")
CONTAINER = f"{STACK}-svc"


def test_the_declared_container_is_healthy_labelled_and_published_on_its_address_only(host):
    assert health(host, CONTAINER) == "healthy"
    config = inspect(host, CONTAINER)
    labels = config["Config"]["Labels"]
    assert (labels["org.devstack.project"], labels["org.devstack.stack"], labels["org.devstack.role"]) == \
        ("devstack", STACK, "service-test")
    assert published(host, CONTAINER) == {"8000/tcp": [f"127.0.0.1:{PORT}"]}
    assert config["HostConfig"]["Init"] is True
    assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert config["HostConfig"]["NetworkMode"] == STACK


def test_the_volume_and_network_carry_the_stack_labels(host):
    volume = host.ansible("community.docker.docker_volume_info", f"name={STACK}_keep", check=False)["volume"]
    assert volume["Labels"]["org.devstack.stack"] == STACK and volume["Labels"]["org.devstack.role"] == "service-test"
    network = host.ansible("community.docker.docker_network_info", f"name={STACK}", check=False)["network"]
    assert network["Labels"]["org.devstack.stack"] == STACK


def test_a_service_that_never_becomes_healthy_fails_naming_it_and_its_last_check():
    said = " ".join((Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "sick-message.txt").read_text().split())
    assert said != "NOT FAILED"
    assert f"{STACK}-sick (service-test) is not healthy" in said
    assert "molecule-probe-says-no" in said and f"docker logs {STACK}-sick" in said


def test_absent_removed_the_container_but_kept_its_volume(host):
    out = host.ansible("community.docker.docker_container_exec",
                       json.dumps({"container": CONTAINER, "argv": ["cat", "/keep/marker"]}), check=False)
    assert out["stdout"].strip() == "kept"
