"""Unit tests of the docker_host role's fast path (roles/docker_host/filter_plugins/
docker_host_probe.py): the one probe of the host compared with what the role would make."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location(
    "docker_host_probe", ROOT / "roles/docker_host/filter_plugins/docker_host_probe.py")
probe = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(probe)

SUM = "d" * 64
WANTED = {
    "stat": {"/etc/docker": ["755", "root", "root"], "/etc/docker/daemon.json": ["644", "root", "root", SUM],
             "/srv/devstack": ["2775", "root", "docker"]},
    "packages": ["docker.io", "python3-docker"],
    "users": ["docker", "alice"],
    "create_users": True,
    "shell": "/bin/bash",
}
CURRENT = [
    "marker", "/usr/sbin/dockerd",
    "stat\t/etc/docker\t755\troot\troot",
    f"stat\t/etc/docker/daemon.json\t644\troot\troot\t{SUM}",
    "stat\t/srv/devstack\t2775\troot\tdocker",
    "package\tdocker.io\tinstalled", "package\tpython3-docker\tinstalled",
    "service\tactive\tenabled",
    "group\tdocker:x:998:docker,alice",
    "user\tdocker\t/bin/bash", "user\talice\t/bin/bash",
]


def drift(*, drop=(), add=(), wanted=None):
    lines = [line for line in CURRENT if not any(line.startswith(d) for d in drop)] + list(add)
    return probe.docker_host_drift(lines, wanted or WANTED)


def test_a_host_as_the_role_left_it_has_no_drift():
    assert drift() == []


@pytest.mark.parametrize(
    ("drop", "add", "words"),
    [
        (["stat\t/etc/docker/daemon.json"], [f"stat\t/etc/docker/daemon.json\t644\troot\troot\t{'e' * 64}"],
         "/etc/docker/daemon.json is 644 root root"),
        (["stat\t/etc/docker/daemon.json"], ["stat\t/etc/docker/daemon.json\tmissing"], "daemon.json is missing"),
        (["stat\t/srv/devstack"], ["stat\t/srv/devstack\t755\troot\troot"], "/srv/devstack is 755 root root, not 2775"),
        (["stat\t/srv/devstack"], [], "/srv/devstack is missing"),
        (["package\tpython3-docker"], [], "package python3-docker is not installed"),
        (["package\tdocker.io"], ["package\tdocker.io\tconfig-files"], "package docker.io is config-files"),
        (["service"], ["service\tinactive\tenabled"], "docker is inactive enabled"),
        (["service"], ["service\tactive\tdisabled"], "not active enabled"),
        (["group"], ["group\tdocker:x:998:docker"], "user alice is not in the docker group"),
        (["group"], [], "user docker is not in the docker group"),
        (["user\talice"], [], "user alice does not exist"),
        (["user\talice"], ["user\talice\t/bin/sh"], "user alice has shell /bin/sh"),
    ],
)
def test_every_difference_is_named(drop, add, words):
    found = drift(drop=drop, add=add)
    assert any(words in line for line in found), found


def test_a_missing_user_is_no_drift_when_users_are_not_created():
    assert drift(drop=["user\talice"], wanted={**WANTED, "create_users": False}) == []


def test_the_probe_is_parsed_by_kind():
    found = probe.docker_host_probe(CURRENT)
    assert found["stat"]["/etc/docker"] == ["755", "root", "root"]
    assert found["packages"] == {"docker.io": "installed", "python3-docker": "installed"}
    assert found["group"] == ["docker", "alice"] and found["service"] == ["active", "enabled"]
    assert probe.docker_host_probe(["group\tdocker:x:998:"])["group"] == []
