"""Helpers and fixtures shared by every testinfra suite (roles/*/molecule/*/tests,
molecule/*/tests): the scenario's own values, docker inspect, and the secrets a role generated.

Loaded as a pytest plugin by the shared Molecule configuration (verifier: -p devstack_testinfra);
the helpers are imported by the suites (`from devstack_testinfra import inspect, scenario_var`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml


@cache
def _scenario_vars() -> dict[str, Any]:
    """group_vars/all of the scenario's molecule.yml (the values a suite must not write twice)."""
    config = yaml.safe_load(Path(os.environ["MOLECULE_FILE"]).read_text()) or {}
    return ((config.get("provisioner") or {}).get("inventory") or {}).get("group_vars", {}).get("all", {}) or {}


def scenario_var(name: str) -> Any:
    """A value the scenario sets (a port, the stack name), read from its molecule.yml."""
    values = _scenario_vars()
    assert name in values, f"{name} is not set in {os.environ['MOLECULE_FILE']} (provisioner.inventory.group_vars.all)"
    return values[name]


def inspect(host, name: str) -> dict[str, Any]:
    """`docker inspect` of a container on the instance's engine; it must exist."""
    info = host.ansible("community.docker.docker_container_info", f"name={name}", check=False)
    assert info.get("exists"), f"container {name} does not exist: {info}"
    return info["container"]


def health(host, name: str, timeout: float = 20) -> str:
    """The container's Docker health status, once Docker's own check has run: a run waits
    for the check's command to pass (roles/service/tasks/ready.yml), and Docker says
    `healthy` at its next check, within one interval (5 s)."""
    deadline = time.monotonic() + timeout
    while (status := inspect(host, name)["State"].get("Health", {}).get("Status", "")) == "starting" \
            and time.monotonic() < deadline:
        time.sleep(1)
    return status


def published(host, name: str) -> dict[str, list[str]]:
    """The container's published ports as {"6379/tcp": ["127.0.0.1:17777"]}."""
    bindings = inspect(host, name)["HostConfig"]["PortBindings"] or {}
    return {port: [f"{b['HostIp']}:{b['HostPort']}" for b in binds or []] for port, binds in bindings.items()}


def assert_no_secret_in_inspect(host, containers: Iterable[str], secrets: Iterable[str]) -> None:
    """None of the secrets appears anywhere in `docker inspect` of the containers."""
    secrets = [s for s in secrets if s]
    assert secrets, "no secret to look for"
    for name in containers:
        dumped = json.dumps(inspect(host, name))
        found = [s[:4] + "..." for s in secrets if s in dumped]
        assert not found, f"{name}: docker inspect shows secrets {found}"


class Secret(str):
    """A secret a test read: a str everywhere (comparisons, `in`, f-strings, environments), but
    its repr, which pytest prints for a failing test's arguments and assertions, never shows
    it. Issue 12: the secret scan of the run's logs found a failing test's fixture argument
    `dev_password = '...'` printed in full."""

    def __repr__(self) -> str:
        return "<secret>"


def read_secret(path: Path) -> Secret:
    return Secret(path.read_text().strip())


@pytest.fixture(scope="module")
def generated_secret(host) -> Callable[[str], str]:
    """Reads a secret a role generated on the controller for this host, checking it is 0600."""
    folder = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "credentials" / host.backend.get_hostname()

    def read(name: str) -> str:
        path = folder / name
        assert path.stat().st_mode & 0o777 == 0o600, f"{path} must be 0600"
        return read_secret(path)

    return read


def converge_again(*args: str, playbook: str = "converge.yml") -> dict[str, int]:
    """One more run of the scenario's playbook, a process of its own as a user's re-run is
    (nothing of the earlier run is remembered); it must succeed. Returns changed= per host."""
    scenario = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
    done = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(scenario / playbook), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=900,
        env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    assert done.returncode == 0, f"{playbook} {' '.join(args)} failed:\n{output[-6000:]}"
    recap = {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}
    assert recap, f"no PLAY RECAP in the output of {playbook}:\n{output[-3000:]}"
    return recap
