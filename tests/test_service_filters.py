"""Unit tests of the service role's filters: the shared input checks and the declaration
turned into docker_container arguments (roles/service/filter_plugins/service_plumbing.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location(
    "service_plumbing", ROOT / "roles/service/filter_plugins/service_plumbing.py")
plumbing = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(plumbing)


def test_good_values_have_no_problems():
    checks = {
        "ports": {"redis_port": 7777, "web_port": "8000"},
        "optional_ports": {"smtp": 0},
        "addresses": {"a": "127.0.0.1", "b": "0.0.0.0", "c": "::1", "d": "fd00::2"},
        "names": {"c": "my-data", "v": "devstack_redis_data", "n": "a.b"},
        "images": {"i": "devstack/redis:7", "j": "axllent/mailpit:v1.21", "k": "registry.local:5000/x/y:1"},
    }
    assert plumbing.service_problems(checks) == []


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("ports", 0, "TCP port from 1 to 65535"),
        ("ports", 65536, "TCP port from 1 to 65535"),
        ("ports", "seven", "TCP port"),
        ("ports", True, "TCP port"),
        ("optional_ports", -1, "or 0"),
        ("addresses", "0.0.0.0.0", "IPv4 or IPv6"),
        ("addresses", "localhost", "IPv4 or IPv6"),
        ("addresses", "256.1.1.1", "IPv4 or IPv6"),
        ("addresses", ":::", "IPv4 or IPv6"),
        ("names", "my data", "Docker name"),
        ("names", "-x", "Docker name"),
        ("names", "", "Docker name"),
        ("images", "Devstack/Redis", "image reference"),
        ("images", "x y", "image reference"),
    ],
)
def test_a_bad_value_is_named_with_what_it_must_be(kind, value, words):
    problems = plumbing.service_problems({kind: {"the_variable": value}})
    assert len(problems) == 1
    assert problems[0].startswith("the_variable must be")
    assert words in problems[0]
    assert str(value) in problems[0]


def test_one_port_twice_is_a_problem_naming_both_but_zero_is_not():
    problems = plumbing.service_problems(
        {"ports": {"ui": 8025}, "optional_ports": {"smtp": 8025, "netbios": 0, "other": 0}})
    assert problems == ["smtp and ui are the same port (8025)"]


def test_every_bad_value_is_reported_at_once():
    problems = plumbing.service_problems({"ports": {"a": 0}, "names": {"b": "x y"}})
    assert [p.split()[0] for p in problems] == ["a", "b"]


def test_published_ports_skip_zero_and_bracket_ipv6():
    ports = [
        {"address": "127.0.0.1", "host": "7777", "container": 6379},
        {"address": "127.0.0.1", "host": 0, "container": 139},
        {"address": "::1", "host": 8000, "container": "8000"},
    ]
    assert plumbing.service_published_ports(ports) == ["127.0.0.1:7777:6379", "[::1]:8000:8000"]
    assert plumbing.service_published_ports([]) == []


def test_mounts_are_volumes_then_read_only_binds():
    mounts = plumbing.service_mounts(
        [{"name": "s_redis_data", "target": "/data"}],
        [{"source": "/etc/devstack/s/redis/redis.conf", "target": "/etc/redis/redis.conf"},
         {"source": "/srv/code", "target": "/data", "read_only": False}])
    assert mounts == [
        {"type": "volume", "source": "s_redis_data", "target": "/data"},
        {"type": "bind", "source": "/etc/devstack/s/redis/redis.conf", "target": "/etc/redis/redis.conf",
         "read_only": True},
        {"type": "bind", "source": "/srv/code", "target": "/data", "read_only": False},
    ]


def test_labels_say_project_stack_role_and_keep_extras_as_strings():
    assert plumbing.service_labels({"org.devstack.restart-key": 12}, "s", "worker") == {
        "org.devstack.project": "devstack", "org.devstack.stack": "s", "org.devstack.role": "worker",
        "org.devstack.restart-key": "12"}
    assert plumbing.service_labels({}, "s", "") == {"org.devstack.project": "devstack", "org.devstack.stack": "s"}


def test_checks_take_their_kind_from_the_variable_name():
    checks = plumbing.service_checks(
        ["redis_port", "samba_netbios_port", "redis_bind_address", "redis_container_name", "redis_volume",
         "redis_network", "workspace_data_container", "redis_image", "samba_uid", "samba_gid"],
        [7777, 0, "127.0.0.1", "s-redis", "s_redis_data", "s", "my-data", "devstack/redis:7", 1000, 1000],
        ["samba_netbios_port"])
    assert checks["ports"] == {"redis_port": 7777}
    assert checks["optional_ports"] == {"samba_netbios_port": 0}
    assert checks["addresses"] == {"redis_bind_address": "127.0.0.1"}
    assert set(checks["names"]) == {"redis_container_name", "redis_volume", "redis_network", "workspace_data_container"}
    assert checks["images"] == {"redis_image": "devstack/redis:7"}
    assert checks["ids"] == {"samba_uid": 1000, "samba_gid": 1000}
    assert plumbing.service_problems(checks) == []


def test_a_name_of_no_known_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="redis_maxmemory"):
        plumbing.service_checks(["redis_maxmemory"], ["0"])
    with pytest.raises(ValueError):
        plumbing.service_checks(["redis_port"], [])


@pytest.mark.parametrize("value", [0, 65534, 65535, -1, "x", True])
def test_root_and_nobody_are_not_regular_ids(value):
    assert plumbing.service_problems({"ids": {"samba_uid": value}}) == [
        f"samba_uid must be from 1 to 65533 (never root), got {value}"]
