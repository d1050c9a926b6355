"""A stack converged by the previous main, upgraded by this checkout: every volume and every
file is kept (containers may be re-created once), data in Redis and PostgreSQL too, and the run
after the upgrade reports changed=0.

The previous main is taken from git (git archive of UPGRADE_FROM, no worktree) and run with this
checkout's toolchain and collections. Both runs skip the docker_host and images stages (the
engine and the images are this machine's; they are not what an upgrade changes). Everything
labelled with the test stack is removed at the end."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import docker
import pytest
from conftest import RECAP, ROOT, Run, read_secret, remove_stack_objects

# The last main before the container plumbing was written once (issue 10). Move it forward
# when an upgrade from a later main is the one that matters.
UPGRADE_FROM = "3b1965e31f38780318602a13cc353aacc7d356cb"  # pragma: allowlist secret
STACK = "pytest-upgrade"
OFFSET = 21000  # ports 21445, 28777, 26432, 29000: beside a running stack and the other tests
WEB, REDIS, POSTGRES = f"{STACK}-web", f"{STACK}-redis", f"{STACK}-postgres"


def converge(checkout: Path, credentials: Path) -> Run:
    extra = {"devstack_name": STACK, "devstack_port_offset": OFFSET, "devstack_credentials_dir": str(credentials),
             "devstack_editors_dir": str(credentials / "editors")}
    proc = subprocess.run(
        ["ansible-playbook", "setup.yml", "--skip-tags", "docker_host,images", "-e", json.dumps(extra)],
        cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
             "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".ansible" / "collections")})
    return Run(proc.returncode, proc.stdout)


def sh(client: docker.DockerClient, container: str, command: str, user: str = "", **env: str) -> str:
    result = client.containers.get(container).exec_run(["sh", "-c", command], user=user, environment=env)
    assert result.exit_code == 0, result.output.decode()[-2000:]
    return result.output.decode().strip()


def volumes(client: docker.DockerClient) -> set[str]:
    return {v.name for v in client.volumes.list(filters={"label": f"org.devstack.stack={STACK}"})}


def remove_stack(client: docker.DockerClient) -> None:
    remove_stack_objects(client, STACK)


@pytest.fixture()
def previous_main(tmp_path: Path) -> Path:
    archive = subprocess.run(["git", "archive", UPGRADE_FROM], cwd=ROOT, capture_output=True, check=True).stdout
    folder = tmp_path / "previous-main"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.fixture()
def stack(docker_client):
    remove_stack(docker_client)
    yield docker_client
    remove_stack(docker_client)


def test_an_upgrade_from_the_previous_main_keeps_all_data_then_changes_nothing(stack, previous_main, tmp_path):
    client, credentials = stack, tmp_path / "credentials"
    old = converge(previous_main, credentials)
    assert old.returncode == 0, old.output[-5000:]

    # What a developer has made by now: files in /data (one inside the project), a Redis key, a table.
    sh(client, WEB, "echo 'my notes' > /data/upgrade-probe.txt && echo 'draft' > /data/sample/my-draft.txt", user="dev")
    redis_password = read_secret(credentials / "localhost" / "redis_password")
    sh(client, REDIS, "redis-cli --no-auth-warning SET upgrade-probe kept", REDISCLI_AUTH=redis_password)
    pg_password = read_secret(credentials / "localhost" / "postgres_password")
    psql = "psql -h 127.0.0.1 -U django -d django -Atc"
    sh(client, POSTGRES, f"{psql} 'CREATE TABLE upgrade_probe (v text); INSERT INTO upgrade_probe VALUES (1)'",
       PGPASSWORD=pg_password)
    before_volumes = volumes(client)
    before_files = sh(client, WEB, "cd /data && find . -path ./sample/.git -prune -o -type f -print | sort")

    new = converge(ROOT, credentials)
    assert new.returncode == 0, new.output[-5000:]
    assert volumes(client) >= before_volumes, "the upgrade removed a volume"
    after_files = sh(client, WEB, "cd /data && find . -path ./sample/.git -prune -o -type f -print | sort")
    assert set(before_files.splitlines()) <= set(after_files.splitlines()), "the upgrade removed a file"
    assert sh(client, WEB, "cat /data/upgrade-probe.txt /data/sample/my-draft.txt") == "my notes\ndraft"
    assert sh(client, REDIS, "redis-cli --no-auth-warning GET upgrade-probe", REDISCLI_AUTH=redis_password) == "kept"
    assert sh(client, POSTGRES, f"{psql} 'SELECT v FROM upgrade_probe'", PGPASSWORD=pg_password) == "1"

    containers = {c.name: c.id for c in client.containers.list(all=True, filters={"label": f"org.devstack.stack={STACK}"})}
    again = converge(ROOT, credentials)
    assert again.returncode == 0, again.output[-5000:]
    recap = {m[1]: int(m[3]) for m in RECAP.finditer(again.output)}
    assert recap and set(recap.values()) == {0}, again.output[-5000:]
    assert {c.name: c.id for c in client.containers.list(all=True, filters={"label": f"org.devstack.stack={STACK}"})} == containers
