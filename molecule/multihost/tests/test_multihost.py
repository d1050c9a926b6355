"""Remote Docker hosts over SSH: each converged host serves its own stack, and a dead host
in the inventory is reported without failing the others."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(os.environ["DEVSTACK_ROOT"])
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def test_connection_is_ssh(host):
    assert host.backend.get_connection_type() == "ansible"
    assert host.ansible.get_variables()["ansible_connection"] == "ssh"


def test_redis_of_this_host_answers_with_its_password(host, generated_secret):
    stack = host.ansible.get_variables()["devstack_name"]
    password = generated_secret("redis_password")
    result = host.ansible(
        "community.docker.docker_container_exec",
        f"container={stack}-redis command='redis-cli --no-auth-warning -a {password} PING'",
        check=False,
    )
    assert result["stdout"].strip() == "PONG"


@pytest.fixture(scope="module")
def run_with_dead_host(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    dead = tmp_path_factory.mktemp("dead") / "dead.yml"
    # Nothing listens on 127.0.0.1:12309: a host that is down.
    dead.write_text(
        "all:\n  children:\n    docker_hosts:\n      children:\n        suzhou:\n          hosts:\n"
        "            molecule-sz-dead: {ansible_port: 12309, devstack_name: molecule-sz-dead}\n"
    )
    return subprocess.run(
        ["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), "-i", str(dead), "setup.yml",
         "--tags", "docker_host,images,samba,redis"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )


def recap(output: str) -> dict[str, dict[str, int]]:
    pattern = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
    return {m[1]: {"changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])} for m in pattern.finditer(output)}


def test_dead_host_is_named_unreachable_in_the_recap(run_with_dead_host):
    assert recap(run_with_dead_host.stdout)["molecule-sz-dead"]["unreachable"] == 1, run_with_dead_host.stdout[-3000:]
    assert run_with_dead_host.returncode == 4  # Ansible's code for "some hosts unreachable"


def test_live_hosts_converge_unchanged_beside_the_dead_one(run_with_dead_host):
    result = recap(run_with_dead_host.stdout)
    for name in ("molecule-sz-1", "molecule-sz-2", "molecule-sz-3"):
        assert result[name] == {"changed": 0, "unreachable": 0, "failed": 0}, run_with_dead_host.stdout[-3000:]
