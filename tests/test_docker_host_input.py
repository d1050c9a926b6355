"""docker_host rejects bad input before changing anything, and an engine started outside the
role (no marker file) is only verified and reported.

Each run names a marker file of the test's own (docker_host_marker_file, in a temporary folder,
absent): whether this machine's own marker exists (its engine adopted by the role) changes
nothing here, and no run can reconfigure this machine's engine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import playbook

DAEMON_JSON = Path("/etc/docker/daemon.json")


def fingerprint() -> str:
    return hashlib.sha256(DAEMON_JSON.read_bytes()).hexdigest() if DAEMON_JSON.exists() else "absent"


@pytest.fixture()
def marker(tmp_path) -> Path:
    """The marker file the role is told to look for: the test's own, absent."""
    return tmp_path / "devstack" / "docker_host.managed"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"docker_host_registry_mirrors": ["ftp://mirror.example.cn"]}, "docker_host_registry_mirrors"),
        ({"docker_host_registry_mirrors": ["mirror.example.cn"]}, "docker_host_registry_mirrors"),
        ({"docker_host_registry_mirrors": ["https://mirror.example.cn/v2/path"]}, "docker_host_registry_mirrors"),
        ({"docker_host_registry_mirrors": "https://mirror.example.cn, https://b"}, "docker_host_registry_mirrors"),
        ({"docker_host_log_max_size": "10 MB"}, "docker_host_log_max_size"),
        ({"docker_host_log_max_file": 0}, "docker_host_log_max_file"),
        ({"docker_host_users": ["Bad User"]}, "docker_host_users"),
        ({"docker_host_engine_mode": "sometimes"}, "docker_host_engine_mode"),
        ({"docker_host_engine_source": "snap"}, "docker_host_engine_source"),
        ({"docker_host_data_dir": "srv/devstack"}, "docker_host_data_dir"),
        ({"docker_host_data_dir": "/home"}, "docker_host_data_dir"),
        ({"docker_host_data_dir": "/etc"}, "docker_host_data_dir"),
        ({"docker_host_upstream_url": "http://download.docker.com/linux"}, "docker_host_upstream_url"),
        ({"docker_host_upstream_key_fingerprint": "9DC8 5822 9FC7 DD38"}, "docker_host_upstream_key_fingerprint"),
    ],
    ids=["ftp-mirror", "mirror-without-scheme", "mirror-with-path", "mirrors-as-string", "log-size",
         "log-files", "user-name", "engine-mode", "engine-source", "relative-data-dir", "home-as-data-dir",
         "etc-as-data-dir", "upstream-over-http", "fingerprint-short"],
)
def test_docker_host_rejects_bad_input_before_changing_anything(marker, extra, named):
    before = fingerprint()
    # Never with docker_host_engine_mode=manage here: this machine's engine is not the role's.
    result = playbook("playbooks/docker_host.yml", "-e", json.dumps({"docker_host_marker_file": str(marker), **extra}))
    assert result.returncode != 0
    assert named in result.output
    assert result.recap()["localhost"]["changed"] == 0
    assert fingerprint() == before
    assert not marker.parent.exists()


def test_engine_not_installed_by_the_role_is_only_verified(marker):
    before = fingerprint()
    result = playbook("playbooks/docker_host.yml", "-e", f"docker_host_marker_file={marker}")
    assert result.returncode == 0, result.output[-3000:]
    assert result.recap()["localhost"]["changed"] == 0
    assert f"NOT installed by this role (no {marker}" in result.output, result.output[-3000:]
    # This machine's engine has none of the role's DOCKER-USER rules: the report says so.
    said = " ".join(result.output.split())
    assert "Its DOCKER-USER rules are not installed: a LAN neighbour" in said, result.output[-3000:]
    assert fingerprint() == before
    assert not marker.parent.exists()
