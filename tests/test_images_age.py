"""images_max_age_days: a base built longer ago than the limit is made again, and every build
image on it, by the run itself (Debian's fixes since come in); a younger one changes nothing.
Run in check mode against this machine's images, listed as the docker_host stage lists them,
with only the base's build date moved back."""

from __future__ import annotations

import json
import time

import docker
import pytest
from conftest import playbook

BASE = "devstack/base:bookworm"


@pytest.fixture(scope="module")
def listing() -> list[dict]:
    """The project's images on this engine as docker_host_info lists them (bin/test built them)."""
    client = docker.from_env()
    images = [i for i in client.images.list() if any(t.startswith("devstack/") for t in i.tags)]
    assert any(BASE in i.tags for i in images), "run playbooks/images.yml first (bin/test does)"
    return [{"Id": i.id, "RepoTags": i.tags, "Labels": i.labels, "Created": int(time.time()) - 3600} for i in images]


def run_check(listing: list[dict], base_age_days: int, limit: int):
    aged = [dict(i, Created=int(time.time()) - base_age_days * 86400 - 60) if BASE in i["RepoTags"] else i
            for i in listing]
    return playbook("playbooks/images.yml", "--check",
                    "-e", json.dumps({"images_host_images": aged, "images_max_age_days": limit}))


def test_a_base_younger_than_the_limit_changes_nothing(listing):
    result = run_check(listing, base_age_days=29, limit=30)
    assert result.returncode == 0, result.output[-3000:]
    assert result.recap()["localhost"]["changed"] == 0, result.output[-3000:]


def test_a_base_older_than_the_limit_is_made_again_with_every_build_image(listing):
    result = run_check(listing, base_age_days=31, limit=30)
    assert result.returncode == 0, result.output[-3000:]
    assert "included: " in result.output and "base.yml" in result.output, result.output[-3000:]
    for ref in ("devstack/redis:7", "devstack/web:latest", "devstack/postgres:15", "devstack/samba:4.17"):
        assert f"(item={ref})" in result.output, (ref, result.output[-3000:])
    assert result.recap()["localhost"]["changed"] > 0


def test_a_limit_of_zero_never_rebuilds_by_age(listing):
    result = run_check(listing, base_age_days=400, limit=0)
    assert result.recap()["localhost"]["changed"] == 0, result.output[-3000:]
