"""The shipped inventories parse, and the Suzhou example is consistent: every host is reached
over SSH as `docker` with sudo, and entries that share a machine are separate stacks (their own
name and ports) that leave the engine and the images to the machine's own entry."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from conftest import run


def hostvars(inventory: str) -> dict[str, dict]:
    result = run("ansible-inventory", "-i", inventory, "--list")
    assert result.returncode == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    return data["_meta"]["hostvars"]


@pytest.mark.parametrize("inventory", ["inventory/local", "inventory/suzhou"])
def test_inventory_has_docker_hosts(inventory):
    result = run("ansible-inventory", "-i", inventory, "--graph", "docker_hosts")
    assert result.returncode == 0, result.output
    assert "--" in result.output  # at least one host under docker_hosts


def test_suzhou_hosts_are_reached_as_docker_with_sudo():
    for name, variables in hostvars("inventory/suzhou").items():
        assert variables["ansible_user"] == "docker" and variables["ansible_become"] is True, name
        assert variables.get("ansible_host"), name


def test_entries_sharing_a_machine_are_separate_stacks():
    by_machine = defaultdict(list)
    for name, variables in hostvars("inventory/suzhou").items():
        by_machine[variables["ansible_host"]].append((name, variables))
    shared = [entries for entries in by_machine.values() if len(entries) > 1]
    assert shared, "the example shows a machine shared by two developers"
    for entries in shared:
        stacks = [v.get("devstack_name", "devstack") for _, v in entries]
        offsets = [int(v.get("devstack_port_offset", 0)) for _, v in entries]
        assert len(set(stacks)) == len(stacks) and len(set(offsets)) == len(offsets), entries
        managing = [n for n, v in entries if v.get("docker_host_engine_mode", "auto") != "verify"]
        loading = [n for n, v in entries if v.get("images_catalog") != []]
        assert len(managing) == 1 and len(loading) == 1, entries  # one entry owns engine and images
