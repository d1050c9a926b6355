"""The VM as the team meets it: the `docker` user runs docker without sudo, the daemon runs
with the configured mirror and log limits, and the role restarts the daemon only when its
configuration changed, and never touches an engine it did not install."""

from __future__ import annotations

import json

import pytest

MIRROR = "https://mirror.sz.example.test"
KEPT_LABEL = "devstack.test=set-before-the-role"  # prepare.yml writes it before the role runs
RULE_COMMENT = "devstack-direct-to-container"


def docker_as(host, user: str, fmt: str):
    return host.run(f"runuser -l {user} -c \"docker info --format '{fmt}'\"")


def test_docker_user_runs_docker_without_sudo(host):
    result = docker_as(host, "docker", "{{.ServerVersion}}")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().startswith("20.10")


def test_access_comes_from_the_docker_group(host):
    assert "docker" in host.user("docker").groups
    host.run("id probe-outsider || useradd --create-home probe-outsider")
    result = host.run("runuser -l probe-outsider -c 'docker ps'")
    assert result.rc != 0
    assert "permission denied" in (result.stdout + result.stderr).lower()


def test_engine_is_debians_docker_io_enabled_at_boot(host):
    assert host.package("docker.io").is_installed
    assert host.service("docker").is_enabled
    assert host.service("docker").is_running


def test_daemon_json_holds_mirror_log_limits_and_live_restore(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["registry-mirrors"] == [MIRROR]
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert config["live-restore"] is True


def test_daemon_json_keeps_the_keys_the_host_had(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["labels"] == [KEPT_LABEL]
    assert json.loads(docker_as(host, "docker", "{{json .Labels}}").stdout) == [KEPT_LABEL]


def test_running_daemon_uses_the_configuration(host):
    mirrors = json.loads(docker_as(host, "docker", "{{json .RegistryConfig.Mirrors}}").stdout)
    assert mirrors == [MIRROR + "/"]
    assert docker_as(host, "docker", "{{.LiveRestoreEnabled}}").stdout.strip() == "true"
    assert docker_as(host, "docker", "{{.LoggingDriver}}").stdout.strip() == "json-file"


def test_docker_modules_have_their_python_pieces(host):
    assert host.run("python3 -c 'import docker, requests'").rc == 0


def test_shared_data_folder_is_the_docker_groups(host):
    folder = host.file("/srv/devstack")
    assert folder.is_directory
    assert folder.group == "docker"
    assert folder.mode == 0o2775


def test_marker_says_the_role_installed_the_engine(host):
    assert "docker_host role" in host.file("/etc/devstack/docker_host.managed").content_string


@pytest.fixture(scope="module")
def side_effect(host) -> dict:
    return json.loads(host.file("/root/side_effect.json").content_string)


def test_unchanged_run_restarts_nothing(side_effect):
    assert side_effect["unchanged"]["pid"] == side_effect["pid_before"]


def test_changed_configuration_restarts_the_daemon(side_effect):
    assert side_effect["changed"]["daemon_json"]["log-opts"]["max-size"] == "20m"
    assert side_effect["changed"]["pid"] != side_effect["unchanged"]["pid"]


def test_engine_not_installed_by_the_role_is_left_alone(side_effect):
    # Marker removed, a new limit asked for: mode auto only verified and reported.
    assert side_effect["not_ours"]["daemon_json"]["log-opts"]["max-size"] == "20m"
    assert side_effect["not_ours"]["pid"] == side_effect["changed"]["pid"]


def test_mode_manage_adopts_the_engine(side_effect, host):
    assert side_effect["adopted"]["pid"] != side_effect["not_ours"]["pid"]
    assert host.file("/etc/devstack/docker_host.managed").exists


def test_an_unchanged_run_probes_once_and_finds_nothing_to_change(side_effect):
    assert side_effect["fast"] == []


def test_drift_by_hand_is_named_and_repaired_by_the_next_run(side_effect, host):
    drift = " | ".join(side_effect["drifted"])
    assert "user docker is not in the docker group" in drift
    assert "/srv/devstack is 2700 root docker, not 2775" in drift   # GNU chmod keeps setgid on a folder
    assert "docker is inactive" in drift
    assert "docker" in host.user("docker").groups
    assert host.file("/srv/devstack").mode == 0o2775
    assert host.service("docker").is_running


def test_a_storage_move_without_the_flag_fails_before_anything_changes(side_effect):
    refused = side_effect["refused"]
    assert "docker_host_daemon_options sets data-root to '/srv/elsewhere'" in refused["msg"]
    assert "docker_host_daemon_storage_change=true" in refused["msg"]
    assert "data-root" not in refused["daemon_json"]
    assert refused["daemon_json"]["labels"] == [KEPT_LABEL]
    assert refused["pid"] == refused["pid_before"] != "0"


def test_docker_user_rules_are_there_once_each_after_every_restart(host):
    rules = [line for line in host.check_output("iptables -S DOCKER-USER").splitlines() if RULE_COMMENT in line]
    assert len(rules) == 2, rules
    assert any("! -i docker0 -o docker0" in rule for rule in rules), rules
    assert any("! -i br-+ -o br-+" in rule for rule in rules), rules
    assert all("! --ctstate DNAT" in rule and rule.endswith("-j DROP") for rule in rules)
    assert host.run("/usr/local/sbin/devstack-docker-user check").stdout.strip() == "ok"
    dropin = host.file("/etc/systemd/system/docker.service.d/devstack-docker-user.conf")
    assert "ExecStartPost=-/usr/local/sbin/devstack-docker-user apply" in dropin.content_string


def test_removed_rules_are_named_and_put_back_by_the_next_run(side_effect):
    assert side_effect["rules_drift"] == ["the DOCKER-USER rules are missing"]


def test_a_folder_someone_else_made_keeps_its_owner_and_mode(side_effect, host):
    assert side_effect["team_folder"] == {"mode": "0750", "group": "root"}
    assert "/srv/team-share" not in host.file("/etc/devstack/created-folders").content_string
    assert "/srv/devstack" in host.file("/etc/devstack/created-folders").content_string.splitlines()


def test_a_file_as_the_data_folder_fails_before_anything_changes(side_effect, host):
    assert "docker_host_data_dir: /srv/not-a-folder exists and is not a folder" in side_effect["file_refused"]
    assert host.file("/srv/not-a-folder").content_string == "kept\n"
    assert not host.user("probe-newcomer").exists
