"""Helpers shared by the project-level tests (they drive ansible-playbook and Docker)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / ".test-output"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Run:
    returncode: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        """Per host: ok, changed, unreachable, failed counts from the PLAY RECAP."""
        return {
            m[1]: {"ok": int(m[2]), "changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])}
            for m in RECAP.finditer(self.output)
        }


def run(*args: str | Path, timeout: int = 900, env: dict[str, str] | None = None) -> Run:
    """Runs a command from the project root, output (stdout+stderr) captured."""
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(env or {})},
    )
    return Run(proc.returncode, proc.stdout)


def playbook(*args: str | Path, **kwargs) -> Run:
    return run("ansible-playbook", *args, **kwargs)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return docker.from_env()


def stack_objects(client: docker.DockerClient, stack: str) -> list[str]:
    """Names of every container, volume and network labelled with this stack."""
    label = {"label": f"org.devstack.stack={stack}"}
    return (
        [c.name for c in client.containers.list(all=True, filters=label)]
        + [v.name for v in client.volumes.list(filters=label)]
        + [n.name for n in client.networks.list(filters=label)]
    )


def remove_stack_objects(client: docker.DockerClient, stack: str) -> None:
    """Removes every container (running or not), volume and network labelled with this test
    stack. Only for stacks a test created: the caller names its own."""
    label = {"label": f"org.devstack.stack={stack}"}
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True)
    for volume in client.volumes.list(filters=label):
        volume.remove(force=True)
    for network in client.networks.list(filters=label):
        network.remove()


def case_id(value: object) -> str:
    """Test id of a bad-input case: `variable=value` for a dict of extra variables."""
    if isinstance(value, dict):
        key = next(iter(value))
        return f"{key}={json.dumps(value[key])}"
    return str(value)


def refused(client: docker.DockerClient, play: str, stack: str, extra: dict,
            named: str, credentials: Path | None = None) -> Run:
    """Runs `play` on this machine with bad extra variables and checks it was refused before
    any change: it failed, the output names the variable, the recap says changed=0, nothing is
    labelled with the stack, and (given a credentials folder) no password was generated."""
    args = ["-e", json.dumps({"devstack_name": stack, **extra})]
    if credentials is not None:
        args += ["-e", f"devstack_credentials_dir={credentials}"]
    result = playbook(play, *args)
    assert result.returncode != 0, result.output[-3000:]
    assert named in result.output, result.output[-3000:]
    assert result.recap()["localhost"]["changed"] == 0
    assert stack_objects(client, stack) == []
    if credentials is not None:
        assert list(credentials.iterdir()) == [], "no password may be generated before the input is valid"
    return result


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Molecule scenarios run first, in their own order (the longest first): with
    `--dist worksteal` (bin/test) they are the head of the first worker's share, and the other
    workers take from its tail once their quick tests are done."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("molecule") else 1)
