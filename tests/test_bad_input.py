"""Bad input fails before anything changes, with a message naming the variable."""

from __future__ import annotations

import pytest
from conftest import case_id, playbook, refused

STACK = "pytest-badinput"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"redis_port": 70000}, "redis_port"),
        ({"redis_port": 0}, "redis_port"),
        ({"redis_port": "seven"}, "redis_port"),
        ({"redis_bind_address": "0.0.0.0.0"}, "redis_bind_address"),
        ({"redis_bind_address": "localhost"}, "redis_bind_address"),
        ({"redis_password": "short"}, "redis_password"),  # pragma: allowlist secret
        ({"redis_restart_policy": "sometimes"}, "redis_restart_policy"),
        ({"redis_config_dir": "/srv"}, "redis_config_dir"),
        ({"redis_config_dir": "/etc/ssl"}, "redis_config_dir"),
    ],
    ids=case_id,
)
def test_redis_rejects_bad_input_before_changing_anything(docker_client, tmp_path, extra, named):
    refused(docker_client, "playbooks/redis.yml", STACK, extra, named, credentials=tmp_path)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"postgres_config_dir": "/home/alice"}, "postgres_config_dir"),
        ({"postgres_config_dir": "etc/devstack/postgres"}, "postgres_config_dir"),
    ],
    ids=case_id,
)
def test_postgres_rejects_bad_input_before_changing_anything(docker_client, tmp_path, extra, named):
    refused(docker_client, "playbooks/postgres.yml", STACK, extra, named, credentials=tmp_path)


# The roles' own checks alone (nothing on the host is touched, whatever they say): the
# configuration folders, which the service role makes root-only (0700), go through the same
# folder check as every other folder variable.
CONFIG_DIR_CHECK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.import_role: {name: ROLE, tasks_from: validate}
      vars: {VARIABLE: "VALUE"}
"""


@pytest.mark.parametrize(
    ("variable", "value", "passes"),
    [
        ("redis_config_dir", "/srv", False),
        ("redis_config_dir", "/etc", False),
        ("redis_config_dir", "/var/lib", False),
        ("redis_config_dir", "/etc/devstack/pytest/redis", True),
        ("postgres_config_dir", "/srv", False),
        ("postgres_config_dir", "/home/alice", False),
        ("postgres_config_dir", "/etc/devstack/pytest/postgres", True),
    ],
)
def test_config_dirs_go_through_the_folder_check(tmp_path, variable, value, passes):
    play = tmp_path / "check.yml"
    role = variable.split("_")[0]
    play.write_text(CONFIG_DIR_CHECK.replace("ROLE", role).replace("VARIABLE", variable).replace("VALUE", value))
    result = playbook("-i", "inventory/local", play)
    assert (result.returncode == 0) == passes, result.output[-3000:]
    if not passes:
        assert f"{variable} must be a folder this project may own" in result.output, result.output[-3000:]


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"name": "x/y", "tag": "1", "source": "ftp", "context": "redis"}, "source"),
        ({"name": "x/y", "tag": "1", "source": "build", "context": "no-such-context"}, "context"),
        ({"name": "Bad Name", "tag": "1", "source": "build", "context": "redis"}, "images_catalog"),
    ],
    ids=["unknown-source", "missing-context", "bad-name"],
)
def test_images_rejects_a_bad_catalog_entry(docker_client, entry, named):
    import json

    result = playbook("playbooks/images.yml", "-e", json.dumps({"images_catalog": [entry]}))
    assert result.returncode != 0
    assert named in result.output
    assert result.recap()["localhost"]["changed"] == 0
    assert docker_client.images.list(name="x/y") == []


def test_images_rejects_a_malformed_mirror():
    result = playbook("playbooks/images.yml", "-e", "images_base_mirror=ftp//nowhere")
    assert result.returncode != 0
    assert "images_base_mirror" in result.output


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"devstack_port_offset": -1}, "devstack_port_offset"),
        ({"devstack_port_offset": "ten"}, "devstack_port_offset"),
        ({"devstack_port_offset": 60000}, "devstack_port_offset"),
        ({"devstack_name": "my stack"}, "devstack_name"),
    ],
    ids=case_id,
)
def test_setup_rejects_bad_stack_settings_before_changing_anything(docker_client, tmp_path, extra, named):
    refused(docker_client, "setup.yml", STACK, extra, named, credentials=tmp_path)


def test_images_names_the_removed_test_switch_and_its_replacement():
    result = playbook("playbooks/images.yml", "-e", "images_include_test=true")
    assert result.returncode != 0
    assert "images_include_test is gone" in result.output and "molecule/shared/images.yml" in result.output
    assert result.recap()["localhost"]["changed"] == 0
