"""Helpers shared by the project-level tests (they drive ansible-playbook and Docker)."""

from __future__ import annotations

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
