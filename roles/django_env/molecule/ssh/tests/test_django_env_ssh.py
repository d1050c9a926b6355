"""A private repository over SSH (issue 13): the project is the git server's commit, cloned
with the deploy key generated in prepare and the host key pinned; the key is 0600 for the
container's user, in no container's `docker inspect` and in no output of a run, even at -vvv;
the server refuses anyone without the key; a wrong pin fails the clone with a host key error
and changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import docker
import pytest
from devstack_testinfra import read_secret, scenario_var

STACK = scenario_var("devstack_name")
WEB = f"{STACK}-web"
GIT = scenario_var("django_env_test_git_server")
URL = scenario_var("django_env_repo_url")
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SSH = "/home/dev/.devstack/ssh"
PROJECT = "/data/sample"
COMMIT = (EPHEMERAL / "git_commit").read_text().strip()


@pytest.fixture(scope="module")
def engine():
    client = docker.from_env()
    yield client
    client.close()


def sh(engine, script: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    code, out = engine.containers.get(WEB).exec_run(["bash", "-c", script], user="dev", environment=env)
    return code, out.decode()


def ok(engine, script: str) -> str:
    code, out = sh(engine, script)
    assert code == 0, out
    return out.strip()


def key_pieces() -> list[str]:
    """The deploy key's text and each line of its body: any of them in an output is a leak."""
    key = read_secret(EPHEMERAL / "deploy_key")
    lines = [line for line in key.splitlines() if len(line) >= 20 and "PRIVATE KEY" not in line]
    assert lines, "the deploy key has no body"
    return [key, *lines]


def leaked(text: str) -> list[str]:
    return [piece[:6] + "..." for piece in key_pieces() if piece in text]


def playbook(*args: str) -> tuple[int, str, dict[str, int]]:
    """converge.yml again, a process of its own, with the given arguments: (rc, output, changed= per host)."""
    done = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
         str(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=900,
        env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    recap = {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}
    assert recap, f"no PLAY RECAP:\n{output[-3000:]}"
    return done.returncode, output, recap


def ssh_state(engine) -> str:
    """The installed key's and pin's digests, modes and owners: what a failed run must not move."""
    return ok(engine, f"cd {SSH} && sha256sum deploy_key known_hosts && stat -c '%n %a %U:%G' . deploy_key known_hosts")


def test_the_project_is_the_git_servers_commit_cloned_over_ssh(engine):
    assert ok(engine, f"git -C {PROJECT} rev-parse HEAD") == COMMIT
    assert ok(engine, f"git -C {PROJECT} remote get-url origin") == URL
    # Not the shipped sample (its commit says 'devstack sample project'): the server's.
    assert ok(engine, f"git -C {PROJECT} log -1 --format=%s") == "sample served over ssh"


def test_the_deploy_key_is_0600_for_the_containers_user_with_the_pin_beside_it(engine):
    assert ok(engine, f"stat -c '%a %U:%G' {SSH} {SSH}/deploy_key {SSH}/known_hosts").split("\n") == [
        "700 dev:dev", "600 dev:dev", "600 dev:dev"]
    controller = hashlib.sha256((EPHEMERAL / "deploy_key").read_bytes()).hexdigest()
    assert ok(engine, f"sha256sum < {SSH}/deploy_key").split()[0] == controller
    kind, blob = (EPHEMERAL / "git_host_key.pub").read_text().split()[:2]
    assert ok(engine, f"cat {SSH}/known_hosts") == f"[{GIT}]:2222 {kind} {blob}"


def test_the_server_refuses_a_client_without_the_deploy_key(engine):
    """The repository is private: the same container and user, the pinned host, no key."""
    no_key = (f"ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={SSH}/known_hosts "
              "-o IdentitiesOnly=yes")
    code, out = sh(engine, f"git ls-remote {URL} main", env={"GIT_SSH_COMMAND": f"{no_key} -i /nonexistent"})
    assert code != 0 and "Permission denied (publickey" in out, out
    with_key = f"{no_key} -i {SSH}/deploy_key"
    code, out = sh(engine, f"git ls-remote {URL} main", env={"GIT_SSH_COMMAND": with_key})
    assert code == 0 and out.split()[0] == COMMIT, out


def test_no_container_inspect_holds_the_key(engine):
    """Every container of the engine (the work container, the git server, the instance and any
    other): neither the key's text nor a mount or variable of its file."""
    containers = engine.containers.list(all=True)
    assert {WEB, GIT} <= {c.name for c in containers}
    for container in containers:
        dumped = json.dumps(engine.api.inspect_container(container.id))
        assert not leaked(dumped), f"{container.name}: docker inspect shows the deploy key"
        assert "deploy_key" not in dumped, f"{container.name}: docker inspect names the deploy key's file"


def test_a_wrong_pin_fails_the_clone_with_a_host_key_error_and_changes_nothing(engine):
    before = ssh_state(engine)
    wrong = " ".join((EPHEMERAL / "wrong_host_key.pub").read_text().split()[:2])
    for extra in ({"django_env_project": "elsewhere"},                       # a clone
                  {"django_env_repo_update": True}):                         # a fetch into the checkout
        rc, output, recap = playbook("-e", json.dumps({"django_env_repo_host_key": wrong, **extra}))
        assert rc != 0, output[-3000:]
        assert "Host key verification failed" in output, output[-3000:]
        assert "django_env_repo_host_key" in output and "nothing was installed" in output, output[-3000:]
        assert set(recap.values()) == {0}, output[-3000:]
        assert not leaked(output)
    assert ssh_state(engine) == before
    assert ok(engine, "ls /data") == "sample"
    assert ok(engine, f"git -C {PROJECT} rev-parse HEAD") == COMMIT


def test_a_fresh_clone_at_vvv_never_shows_the_key(engine):
    """The run that reads the key on the controller and hands it to the container, at -vvv."""
    rc, output, recap = playbook("-vvv", "-e", "django_env_project=sample_again", "-e", "django_env_makemessages=false",
                                 "-e", "django_env_settings_module=sample.settings")
    assert rc == 0, output[-3000:]
    assert "project cloned into /data/sample_again" in output
    assert not leaked(output), "the run's output shows the deploy key"
    assert ok(engine, "git -C /data/sample_again rev-parse HEAD") == COMMIT
