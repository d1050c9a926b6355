"""Helpers shared by the project-level tests (they drive ansible-playbook and Docker)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / ".test-output"

# The testinfra suites' helpers (molecule/shared): read_secret gives a str whose repr is masked,
# so a failing test prints no password into the run's logs (tools/scan_secrets.py reads them).
sys.path.insert(0, str(ROOT / "molecule" / "shared"))
from devstack_testinfra import read_secret  # noqa: E402
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
    stack, and the stack's configuration folder on this machine (/etc/devstack/<stack>: the
    service roles' files). Only for stacks a test created: the caller names its own."""
    shutil.rmtree(f"/etc/devstack/{stack}", ignore_errors=True)
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


# Minutes each Molecule scenario took in CI on this 2-core machine (3 workers, a fresh clone;
# measured 2026-11-30 from the scenario logs' timestamps): what the order below is planned
# from. Only their ratios matter. A scenario not listed counts as 3.
SCENARIO_MINUTES = {
    "stack/multihost": 13.7, "stack/default": 6.2, "django_env/default": 6.0, "docker_host/default": 4.3,
    "images/load": 4.0, "service/default": 3.4, "django_env/allauth": 3.3, "django_env/ssh": 2.9,
    "samba/default": 2.8, "workspace/default": 2.1, "worker/default": 1.9, "images/default": 1.7,
    "postgres/default": 1.4, "redis/default": 1.3, "mailpit/default": 1.3,
}


def worksteal_shares(count: int, workers: int) -> list[int]:
    """How many tests `--dist worksteal` first gives each worker: even contiguous shares, in
    order (xdist's WorkStealingScheduling.check_schedule)."""
    shares, left = [], count
    for i in range(workers):
        shares.append(left // (workers - i))
        left -= shares[-1]
    return shares


def plan_lanes(weights: list[float], shares: list[int]) -> list[list[int]]:
    """Indexes of the long tests (given longest first) per worker: each goes to the worker with
    the least planned time so far (longest processing time first), except that the worker of
    the longest gets nothing else: a test queued right behind it could not be taken away by an
    idle worker (worksteal leaves a worker its last two), so it would wait for the longest."""
    lanes: list[list[int]] = [[] for _ in shares]
    loads = [0.0] * len(shares)
    alone = len(shares) > 1
    for index, weight in enumerate(weights):
        open_lanes = range(1, len(shares)) if alone and index > 0 else range(len(shares))
        lane = min(open_lanes, key=lambda k: (loads[k], k))
        lanes[lane].append(index)
        loads[lane] += weight
    return lanes


# trylast: after -m and -k took their tests out (the shares are counted on what runs).
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Molecule scenarios run first, the longest first, spread over the workers.

    `--dist worksteal` (bin/test) first gives each worker a contiguous share of the collection
    and later lets an idle worker take from the tail of a busy one. So the order is planned per
    share: each share starts with its scenarios (the longest ones on different workers, as
    plan_lanes assigns them), then quick tests fill it. The scenario each share starts with is
    never taken away; the quick tests behind it are. Every worker computes the same order."""
    def minutes(item: pytest.Item) -> float:
        callspec = getattr(item, "callspec", None)
        return SCENARIO_MINUTES.get(callspec.id if callspec else "", 3)

    scenarios = sorted((i for i in items if i.get_closest_marker("molecule")), key=minutes, reverse=True)
    quick = [i for i in items if not i.get_closest_marker("molecule")]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers <= 1:
        items[:] = scenarios + quick
        return
    shares = worksteal_shares(len(items), workers)
    ordered, rest = [], iter(quick)
    for share, lane in zip(shares, plan_lanes([minutes(s) for s in scenarios], shares)):
        ordered += [scenarios[i] for i in lane]
        ordered += [t for _, t in zip(range(share - len(lane)), rest)]
    ordered += list(rest)
    items[:] = ordered
