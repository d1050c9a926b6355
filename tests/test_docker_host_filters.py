"""Unit tests of the docker_host role's fast path (roles/docker_host/filter_plugins/
docker_host_probe.py): the one probe of the host compared with what the role would make."""

from __future__ import annotations

import base64
import importlib.util
import json
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
    "marker\t/etc/devstack/docker-engine", "engine\t/usr/sbin/dockerd",
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
    ],
)
def test_every_difference_is_named(drop, add, words):
    found = drift(drop=drop, add=add)
    assert any(words in line for line in found), found


def test_an_existing_users_own_shell_is_no_drift():
    """A user who already exists keeps the shell they chose: only the docker group is ensured."""
    assert drift(drop=["user\talice"], add=["user\talice\t/usr/bin/zsh"]) == []


def test_a_missing_user_is_no_drift_when_users_are_not_created():
    assert drift(drop=["user\talice"], wanted={**WANTED, "create_users": False}) == []


def test_the_probe_is_parsed_by_kind():
    found = probe.docker_host_probe(CURRENT)
    assert found["stat"]["/etc/docker"] == ["755", "root", "root"]
    assert found["packages"] == {"docker.io": "installed", "python3-docker": "installed"}
    assert found["group"] == ["docker", "alice"] and found["service"] == ["active", "enabled"]
    assert probe.docker_host_probe(["group\tdocker:x:998:"])["group"] == []


def test_the_rules_are_drift_when_wanted_and_missing_or_unwanted_and_there():
    wanted_on = {**WANTED, "firewall": True}
    assert drift(add=["firewall\tok"], wanted=wanted_on) == []
    assert drift(add=["firewall\tmissing"], wanted=wanted_on) == ["the DOCKER-USER rules are missing"]
    assert drift(add=["firewall\t"], wanted=wanted_on) == ["the DOCKER-USER rules are not installed"]
    wanted_off = {**WANTED, "firewall": False}
    assert drift(add=["firewall\t"], wanted=wanted_off) == []
    assert drift(add=["firewall\tok"], wanted=wanted_off) == [
        "the DOCKER-USER rules are installed, and docker_host_firewall is false"]


def daemon_line(text: str) -> str:
    return "daemon\t" + base64.b64encode(text.encode()).decode()


OURS = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": True}


def test_daemon_json_keys_someone_else_set_are_kept():
    theirs = {"data-root": "/srv/docker", "log-opts": {"labels": "team"}, "default-address-pools": [{"base": "10.9.0.0/16", "size": 24}]}
    merged = probe.docker_host_daemon_config(["engine\t/usr/sbin/dockerd", daemon_line(json.dumps(theirs))], OURS)
    assert merged["problem"] == ""
    assert merged["config"] == {
        "data-root": "/srv/docker", "default-address-pools": [{"base": "10.9.0.0/16", "size": 24}],
        "log-driver": "json-file", "log-opts": {"labels": "team", "max-size": "10m", "max-file": "3"},
        "live-restore": True}


@pytest.mark.parametrize("lines", [["daemon\tmissing"], [daemon_line("")], []])
def test_no_daemon_json_is_ours_alone(lines):
    assert probe.docker_host_daemon_config(lines, OURS) == {"config": OURS, "problem": ""}


@pytest.mark.parametrize("theirs, options", [
    ({"data-root": "/srv/docker"}, {"data-root": "/var/lib/docker"}),
    ({}, {"data-root": "/srv/docker"}),
    ({"storage-driver": "vfs"}, {"storage-driver": "overlay2"}),
    ({}, {"storage-driver": "overlay2"}),
])
def test_moving_an_installed_engines_storage_needs_the_flag(theirs, options):
    lines = ["engine\t/usr/sbin/dockerd", daemon_line(json.dumps(theirs))]
    refused = probe.docker_host_daemon_config(lines, {**OURS, **options})
    assert "docker_host_daemon_options sets" in refused["problem"]
    assert "docker_host_daemon_storage_change=true" in refused["problem"]
    assert probe.docker_host_daemon_config(lines, {**OURS, **options}, True)["problem"] == ""
    # No engine yet: nothing to move.
    assert probe.docker_host_daemon_config(lines[1:], {**OURS, **options})["problem"] == ""


def test_the_default_data_root_named_or_not_is_the_same():
    lines = ["engine\t/usr/sbin/dockerd", daemon_line("{}")]
    assert probe.docker_host_daemon_config(lines, {**OURS, "data-root": "/var/lib/docker"})["problem"] == ""


@pytest.mark.parametrize("text, words", [("{not json", "not valid JSON"), ('["a"]', "not a JSON object"),
                                         ("\udcff", "not valid JSON")])
def test_a_daemon_json_that_cannot_be_merged_is_never_replaced(text, words):
    line = daemon_line(text) if text != "\udcff" else "daemon\t/w=="
    result = probe.docker_host_daemon_config(["engine\t/usr/sbin/dockerd", line], OURS)
    assert words in result["problem"] and "never replaces it" in result["problem"]


def test_a_data_folder_someone_else_made_is_no_drift_whatever_its_mode():
    wanted = {**WANTED, "if_made_here": ["/srv/devstack"]}
    chmodded = ["stat\t/srv/devstack\t750\troot\troot"]
    assert drift(drop=["stat\t/srv/devstack"], add=chmodded, wanted=wanted) == []
    assert drift(drop=["stat\t/srv/devstack"], add=chmodded + ["created\t/srv/devstack"], wanted=wanted) == [
        "/srv/devstack is 750 root root, not 2775 root docker"]
    assert drift(drop=["stat\t/srv/devstack"], add=["stat\t/srv/devstack\tmissing"], wanted=wanted) == [
        "/srv/devstack is missing"]
    assert probe.docker_host_probe(["not-a-folder\t/srv/x"])["not_folders"] == ["/srv/x"]


def test_the_probe_reads_the_marker_and_the_engines_found():
    found = probe.docker_host_probe(CURRENT + ["engine\t/var/run/docker.sock"])
    assert found["marker"] is True
    assert found["engines"] == ["/usr/sbin/dockerd", "/var/run/docker.sock"]
    assert probe.docker_host_probe(CURRENT[1:])["marker"] is False
    assert probe.docker_host_probe([])["engines"] == []


def test_a_terminals_line_ends_and_lines_not_the_probes_are_ignored():
    """Over SSH with become, `raw` runs on a terminal: lines end in CR LF (splitlines leaves no
    CR, a CR left at a line's end is dropped here) and a warning of sudo's or the shell's comes
    in the same stream. It is neither an engine nor the marker."""
    noisy = ["sudo: unable to resolve host sz-dev-01: Name or service not known\r"] + [line + "\r" for line in CURRENT]
    assert probe.docker_host_probe(noisy) == probe.docker_host_probe(CURRENT)
    assert probe.docker_host_drift(noisy, WANTED) == []
    assert probe.docker_host_probe(["/usr/sbin/dockerd", "marker"])["engines"] == []
    assert probe.docker_host_probe(["/usr/sbin/dockerd", "marker"])["marker"] is False
