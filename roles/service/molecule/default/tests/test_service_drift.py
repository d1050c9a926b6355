"""The fast path never hides a difference: a run with nothing to do changes nothing, and each
kind of drift is repaired by the next run (a run of its own, as a user's re-run is): a
container stopped or removed by hand, a newer image under the same tag, a changed secret
file (which stays out of `docker inspect`, its hash label included)."""

from __future__ import annotations

import hashlib
import json
import time

import docker
import pytest
from devstack_testinfra import converge_again, scenario_var

STACK = scenario_var("devstack_name")
CONTAINER = f"{STACK}-svc"
IMAGE = scenario_var("service_test_image")
TOKEN = scenario_var("service_test_token")


@pytest.fixture(scope="module")
def engine():
    client = docker.from_env()
    yield client
    client.close()


def healthy(container, timeout: float = 20) -> bool:
    """Running and healthy by Docker's own check, which follows the run's within an interval."""
    deadline = time.monotonic() + timeout
    container.reload()
    while container.attrs["State"]["Health"]["Status"] == "starting" and time.monotonic() < deadline:
        time.sleep(1)
        container.reload()
    return container.status == "running" and container.attrs["State"]["Health"]["Status"] == "healthy"


def read(container, path: str) -> str:
    code, out = container.exec_run(["cat", path])
    assert code == 0, out
    return out.decode().strip()


def test_a_rerun_with_nothing_to_do_changes_nothing(engine):
    before = engine.containers.get(CONTAINER).id
    assert set(converge_again().values()) == {0}
    assert engine.containers.get(CONTAINER).id == before


def test_a_container_stopped_by_hand_is_started_again(engine):
    container = engine.containers.get(CONTAINER)
    container.stop(timeout=1)
    assert sum(converge_again().values()) >= 1
    assert healthy(container), container.attrs["State"]
    assert set(converge_again().values()) == {0}


def test_a_container_removed_by_hand_is_made_again_with_its_data(engine):
    engine.containers.get(CONTAINER).remove(force=True)
    converge_again()
    container = engine.containers.get(CONTAINER)
    assert healthy(container)
    assert read(container, "/keep/marker") == "kept"


def test_a_newer_image_under_the_tag_re_creates_the_container(engine):
    repository, tag = IMAGE.rsplit(":", 1)
    scratch = engine.containers.create(IMAGE, command=["true"])
    newer = scratch.commit(repository=repository, tag=tag, changes=["LABEL org.devstack.test=newer"])
    scratch.remove()
    try:
        converge_again()
        container = engine.containers.get(CONTAINER)
        assert container.image.id == newer.id
        assert healthy(container)
    finally:
        engine.images.get("devstack/base:bookworm").tag(repository, tag)
        converge_again()
        engine.images.remove(newer.id)
    assert engine.containers.get(CONTAINER).image.id == engine.images.get("devstack/base:bookworm").id


def test_a_changed_secret_re_creates_the_container_and_stays_out_of_inspect(engine):
    second = "second-token-77aa"
    before = engine.containers.get(CONTAINER)
    try:
        converge_again("-e", f"service_test_token={second}")
        container = engine.containers.get(CONTAINER)
        assert container.id != before.id
        assert read(container, "/run/token") == second
        dumped = json.dumps(container.attrs)
        label = container.labels["org.devstack.config-hash"]
        assert second not in dumped and len(label) == 64
        assert label not in (hashlib.sha256(second.encode()).hexdigest(), hashlib.sha256(TOKEN.encode()).hexdigest())
    finally:
        converge_again()
    assert read(engine.containers.get(CONTAINER), "/run/token") == TOKEN
