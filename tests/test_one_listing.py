"""The run's one listing of the host (issue 11): the docker_host stage lists the project's
containers and the host's images in the call that asks the engine its version, the images and
service roles plan from it, and it is never trusted once an image changed in the same run.

On this machine's engine, a stack of its own with Redis only, running a tag of its own
(devstack/redis:pytest-listing, built from the redis context with a build argument the test
moves): a new image under that tag, built by the images stage of a run, re-creates the
container in that same run, and a run with nothing to change asks the host no second time.
Everything labelled with the test stack, its configuration folder and the test's own tag are
removed at the end."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
from conftest import Run, playbook, remove_stack_objects

STACK = "pytest-listing"
OFFSET = 25000  # ports 25445, 32777, 30432, 33000: beside a running stack and the other tests
TAG = "devstack/redis:pytest-listing"
REDIS = f"{STACK}-redis"
# The service role's plan task (it says where its listing came from: run, stage or host),
# and the images role's own inspect: skipped when the docker_host stage's listing is used.
SERVICE_PLAN = "The declaration is checked, hashed and compared with the host's listing"
IMAGES_INSPECT = "The base and the images to build present on the host are inspected (one call)"


def converge(credentials: Path, build_round: str) -> Run:
    extra = {
        "devstack_name": STACK, "devstack_port_offset": OFFSET, "devstack_credentials_dir": str(credentials),
        "redis_image": TAG,
        "images_catalog_extra": [{"name": "devstack/redis", "tag": "pytest-listing", "source": "build", "context": "redis",
                                  "args": {"PYTEST_LISTING_ROUND": build_round}}],
    }
    # Skipped tasks are shown (Ansible's default, set here whatever the caller's environment
    # says): a skipped task prints `skipping:`, one that never ran prints nothing.
    return playbook("setup.yml", "-v", "--tags", "docker_host,images,redis", "-e", json.dumps(extra), timeout=1200,
                    env={"ANSIBLE_DISPLAY_SKIPPED_HOSTS": "true"})


def task_result(run: Run, name: str) -> str:
    """What the first task of this name said for the host (ok, changed, skipping, fatal), or ''
    when the output has no such task (renamed, moved, or never reached)."""
    _, found, rest = run.output.partition(name)
    for line in rest.splitlines()[1:] if found else []:
        if line.startswith("TASK ["):
            break
        word = line.split(":", 1)[0].strip()
        if word in ("ok", "changed", "skipping", "fatal"):
            return word
    return ""


def listed_from(run: Run) -> str:
    """Where the service role's first plan of the run took the host's listing from (its
    result's listed_from, printed with -v)."""
    _, found, rest = run.output.partition(SERVICE_PLAN)
    for line in rest.splitlines()[1:] if found else []:
        if line.startswith("TASK ["):
            break
        if line.strip().startswith("listed_from:"):
            return line.split(":", 1)[1].strip()
    return ""


def remove_everything(client: docker.DockerClient) -> None:
    remove_stack_objects(client, STACK)
    try:
        client.images.remove(TAG, force=True)
    except docker.errors.ImageNotFound:
        pass


@pytest.fixture()
def stack(docker_client):
    remove_everything(docker_client)
    yield docker_client
    remove_everything(docker_client)


def test_a_new_image_built_in_a_run_re_creates_its_container_in_that_run(stack, tmp_path):
    client, credentials = stack, tmp_path / "credentials"

    first = converge(credentials, "1")
    assert first.returncode == 0, first.output[-4000:]
    before = client.containers.get(REDIS)
    assert before.image.id == client.images.get(TAG).id

    # Nothing changed: both roles plan from the docker_host stage's listing.
    same = converge(credentials, "1")
    assert same.returncode == 0, same.output[-4000:]
    assert same.recap()["localhost"]["changed"] == 0, same.output[-4000:]
    assert listed_from(same) == "stage", same.output[-4000:]
    assert task_result(same, IMAGES_INSPECT) == "skipping", same.output[-4000:]

    # A new image under the tag, built by this run's images stage: the listing taken before it
    # names the old ID, so the service role lists again and re-creates the container now.
    moved = converge(credentials, "2")
    assert moved.returncode == 0, moved.output[-4000:]
    assert listed_from(moved) == "host", moved.output[-4000:]
    after = client.containers.get(REDIS)
    assert client.images.get(TAG).id != before.image.id
    assert after.id != before.id and after.image.id == client.images.get(TAG).id
    assert after.status == "running"

    again = converge(credentials, "2")
    assert again.returncode == 0 and again.recap()["localhost"]["changed"] == 0, again.output[-4000:]
    old = before.image.id
    if not client.containers.list(all=True, filters={"ancestor": old}):
        try:
            client.images.remove(old)
        except docker.errors.APIError:
            pass   # still used (another tag): not this test's to remove
