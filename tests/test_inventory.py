"""The shipped inventories parse, and the Suzhou example is consistent: every host is reached
over SSH as `docker` with sudo, and entries that share a machine are separate stacks (their own
name and ports) that leave the engine and the images to the machine's own entry."""

from __future__ import annotations

import ipaddress
import json
from collections import defaultdict

import pytest
import yaml
from conftest import ROOT, playbook, remove_stack_objects, run, stack_objects


def hostvars(inventory: str) -> dict[str, dict]:
    result = run("ansible-inventory", "-i", inventory, "--list")
    assert result.returncode == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    return data["_meta"]["hostvars"]


def graph(inventory: str, group: str) -> list[str]:
    """The group's tree as `ansible-inventory --graph` draws it: one entry a line (`@group:`
    or a host name), indented two spaces a level."""
    result = run("ansible-inventory", "-i", inventory, "--graph", group)
    assert result.returncode == 0, result.output
    lines = result.output[result.output.index(f"@{group}:"):].splitlines()
    return ["  " * line.count("|") + line.rpartition("|--")[2] for line in lines if line.strip()]


@pytest.mark.parametrize(
    ("inventory", "tree"),
    [
        ("inventory/local", ["@docker_hosts:", "  localhost"]),
        ("inventory/suzhou", ["@docker_hosts:", "  @suzhou:", "    sz-dev-01", "    sz-dev-02",
                              "    sz-dev-02-alice", "    sz-dev-03"]),
    ],
)
def test_inventory_has_docker_hosts(inventory, tree):
    # setup.yml's plays target docker_hosts: the example's hosts are there, in their group.
    assert graph(inventory, "docker_hosts") == tree


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def test_what_the_suzhou_example_publishes_on_the_lan_is_limited():
    # A share published on a LAN address is open only to the listed clients (samba_hosts_allow,
    # each entry an address or network), and a Django published there has DEBUG off: its debug
    # page shows settings and environment to whoever reaches the port.
    lan = {name: v for name, v in hostvars("inventory/suzhou").items()
           if not is_loopback(v.get("samba_bind_address", "127.0.0.1"))
           or not is_loopback(v.get("workspace_bind_address", "127.0.0.1"))}
    assert lan, "the example shows a host publishing on its LAN address"
    for name, variables in lan.items():
        if not is_loopback(variables.get("samba_bind_address", "127.0.0.1")):
            allowed = variables.get("samba_hosts_allow") or []
            assert allowed, f"{name}: a share on the LAN without samba_hosts_allow"
            for entry in allowed:
                ipaddress.ip_network(entry, strict=False)
        if not is_loopback(variables.get("workspace_bind_address", "127.0.0.1")):
            debug = (variables.get("django_env_extra_env") or {}).get("DJANGO_DEBUG", "1")
            assert str(debug) == "0", f"{name}: Django on the LAN with DJANGO_DEBUG {debug!r}"


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


VAULT_EXAMPLE = ROOT / "inventory/suzhou/group_vars/suzhou/vault.yml.example"
PLACEHOLDER_STACK = "pytest-placeholder"
PLACEHOLDER_OFFSET = 27000  # ports 27445, 34777, 32432: should a run get past its checks


@pytest.mark.parametrize(
    ("play", "extra", "named"),
    [
        ("playbooks/redis.yml", lambda v: {"redis_password": v["vault_redis_password"]}, "redis_password"),
        ("playbooks/postgres.yml", lambda v: {"postgres_password": v["vault_postgres_password"]}, "postgres_password"),
        ("playbooks/samba.yml", lambda v: {"samba_users": [{"name": "dev", "password": v["vault_samba_dev_password"]}]},
         "samba_users"),
    ],
    ids=["redis", "postgres", "samba"],
)
def test_the_vault_examples_placeholders_are_refused(docker_client, tmp_path, play, extra, named):
    # vault.yml.example copied and encrypted without filling it in: each placeholder fails its
    # role's password check, naming the variable, before anything is created or generated.
    example = yaml.safe_load(VAULT_EXAMPLE.read_text())
    variables = {"devstack_name": PLACEHOLDER_STACK, "devstack_port_offset": PLACEHOLDER_OFFSET,
                 "devstack_credentials_dir": str(tmp_path), **extra(example)}
    try:
        result = playbook(play, "-e", json.dumps(variables))
        assert result.returncode != 0, result.output[-3000:]
        assert named in result.output and "placeholder" in result.output, result.output[-3000:]
        assert result.recap()["localhost"]["changed"] == 0
        assert stack_objects(docker_client, PLACEHOLDER_STACK) == []
        assert list(tmp_path.iterdir()) == [], "no password may be generated before the input is valid"
    finally:
        remove_stack_objects(docker_client, PLACEHOLDER_STACK)
