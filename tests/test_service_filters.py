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
        # The defaults of docker_host_data_dir, images_work_dir, backup_dir, and a home's sub-folder.
        "folders": {"d": "/srv/devstack", "i": "/var/lib/devstack/images", "b": "/var/backups/devstack/s",
                    "h": "/home/alice/devstack", "m": "/mnt/data/devstack", "o": "/opt/devstack",
                    "e": "/etc/devstack/s/bind"},  # the project's own configuration root
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
        ("folders", "/", "folder this project may own"),
        ("folders", "/home", "folder this project may own"),
        ("folders", "/home/alice", "folder this project may own"),
        ("folders", "/var", "folder this project may own"),
        ("folders", "/var/lib", "folder this project may own"),
        ("folders", "/srv", "folder this project may own"),
        ("folders", "/etc/ssh/devstack", "folder this project may own"),
        ("folders", "/etc/devstack-other", "folder this project may own"),
        ("folders", "/usr/local/devstack", "folder this project may own"),
        ("folders", "/var/lib/docker/volumes", "folder this project may own"),
        ("folders", "/tmp/x", "folder this project may own"),
        ("folders", "relative/folder", "folder this project may own"),
        ("folders", "/srv/devstack/", "folder this project may own"),
        ("folders", "/srv/devstack/../..", "folder this project may own"),
        ("folders", "/srv/dev stack", "folder this project may own"),
        ("folders", "", "folder this project may own"),
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
         "redis_network", "workspace_data_container", "redis_image", "samba_uid", "samba_gid", "images_work_dir",
         "workspace_data_path"],
        [7777, 0, "127.0.0.1", "s-redis", "s_redis_data", "s", "my-data", "devstack/redis:7", 1000, 1000,
         "/var/lib/devstack/images", "/srv/work"],
        ["samba_netbios_port"])
    assert checks["ports"] == {"redis_port": 7777}
    assert checks["optional_ports"] == {"samba_netbios_port": 0}
    assert checks["addresses"] == {"redis_bind_address": "127.0.0.1"}
    assert set(checks["names"]) == {"redis_container_name", "redis_volume", "redis_network", "workspace_data_container"}
    assert checks["images"] == {"redis_image": "devstack/redis:7"}
    assert checks["ids"] == {"samba_uid": 1000, "samba_gid": 1000}
    assert checks["folders"] == {"images_work_dir": "/var/lib/devstack/images", "workspace_data_path": "/srv/work"}
    assert plumbing.service_problems(checks) == []


def test_a_name_of_no_known_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="redis_maxmemory"):
        plumbing.service_checks(["redis_maxmemory"], ["0"])
    with pytest.raises(ValueError):
        plumbing.service_checks(["redis_port"], [])
    # The imports skip the role's argument validation: the filter refuses what the spec refused.
    with pytest.raises(ValueError, match="service_check_vars must be a list of variable names"):
        plumbing.service_checks("redis_port", ["7777"])
    with pytest.raises(ValueError, match="service_check_optional_ports must be a list"):
        plumbing.service_checks(["redis_port"], [7777], None)


@pytest.mark.parametrize("value", [0, 65534, 65535, -1, "x", True])
def test_root_and_nobody_are_not_regular_ids(value):
    assert plumbing.service_problems({"ids": {"samba_uid": value}}) == [
        f"samba_uid must be from 1 to 65533 (never root), got {value}"]


# --- The fast path: one listing a run, a config hash per container ---

HOST_INFO = {
    "containers": [
        {"Id": "c1", "Names": ["/devstack-redis"], "State": "running", "Status": "Up 3 minutes (healthy)",
         "ImageID": "sha256:r7", "Labels": {"org.devstack.config-hash": "h1"}},
        {"Id": "c2", "Names": ["/my-data"], "State": "exited", "Status": "Exited (0) 2 seconds ago",
         "ImageID": "sha256:s4", "Labels": {"org.devstack.config-hash": "h2"}},
        {"Id": "c3", "Names": ["/web"], "State": "running", "Status": "Up 1 second (health: starting)",
         "ImageID": "sha256:w", "Labels": {"org.devstack.config-hash": "h3"}},
    ],
    "images": [
        {"Id": "sha256:r7", "RepoTags": ["devstack/redis:7"]},
        {"Id": "sha256:s4", "RepoTags": ["devstack/samba:4.17"]},
        {"Id": "sha256:w", "RepoTags": ["devstack/web:latest", "devstack/web:1"]},
    ],
    "networks": [{"Name": "devstack", "Id": "n1"}, {"Name": "bridge", "Id": "n0"}],
    "volumes": [{"Name": "devstack_data", "Driver": "local"}],
}


def plan(container, state="started", image="devstack/redis:7", config_hash="h1", healthcheck=True, info=HOST_INFO):
    return plumbing.service_plan(plumbing.service_listing(info), container, state, image, config_hash, healthcheck)


def test_a_listed_container_as_declared_is_current():
    assert plan("devstack-redis") == {"current": True, "reason": ""}


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"container": "gone"}, "missing"),
        ({"container": "devstack-redis", "config_hash": "other"}, "declaration changed"),
        ({"container": "devstack-redis", "image": "devstack/redis:8"}, "image changed"),
        ({"container": "my-data", "image": "devstack/samba:4.17", "config_hash": "h2"}, "not running (exited)"),
    ],
)
def test_any_difference_means_the_full_path(kwargs, reason):
    assert plan(**kwargs) == {"current": False, "reason": reason}


def test_a_container_as_declared_that_docker_has_not_checked_yet_is_only_waited_for():
    assert plan("web", image="devstack/web", config_hash="h3") == {
        "current": False, "reason": "not healthy (health: starting)", "wait_only": True}
    # Any other difference beside it still takes the full path, and so does a container declared
    # `present` (the full path does not wait for those).
    assert "wait_only" not in plan("web", image="devstack/web", config_hash="other")
    assert "wait_only" not in plan("web", state="present", image="devstack/web", config_hash="h3")
    unhealthy = {**HOST_INFO, "containers": [{**c, "Status": "Up 1 minute (unhealthy)"} if c["Names"] == ["/web"] else c
                                             for c in HOST_INFO["containers"]]}
    assert plan("web", image="devstack/web", config_hash="h3", info=unhealthy) == {
        "current": False, "reason": "not healthy (unhealthy)"}


def test_a_newer_image_under_the_same_tag_is_a_difference():
    info = {**HOST_INFO, "images": [{"Id": "sha256:new", "RepoTags": ["devstack/redis:7"]}]}
    assert plan("devstack-redis", info=info)["reason"] == "image changed"


def test_no_health_check_needs_only_running_and_a_tag_without_colon_means_latest():
    assert plan("web", image="devstack/web", config_hash="h3", healthcheck=False)["current"]
    assert plumbing._image_ref("registry.local:5000/x/y") == "registry.local:5000/x/y:latest"


def test_absent_is_current_only_when_not_listed():
    assert plan("gone", state="absent")["current"]
    assert plan("devstack-redis", state="absent") == {"current": False, "reason": "exists"}


def test_a_changed_container_is_remembered_as_it_is_now_and_a_removed_one_forgotten():
    listing = plumbing.service_listing(HOST_INFO)
    inspected = {"Id": "c9", "Image": "sha256:r7", "State": {"Status": "running", "Health": {"Status": "starting"}},
                 "Config": {"Labels": {"org.devstack.config-hash": "h9"}}}
    now = plumbing.service_remember(listing, "devstack-redis", inspected)
    assert now["containers"]["devstack-redis"] == {"id": "c9", "state": "running", "health": "starting",
                                                   "image_id": "sha256:r7", "labels": {"org.devstack.config-hash": "h9"},
                                                   "gateways": []}
    assert plumbing.service_plan(now, "devstack-redis", "started", "devstack/redis:7", "h9", True) == \
        {"current": False, "reason": "not healthy (starting)", "wait_only": True}
    gone = plumbing.service_remember(listing, "devstack-redis", {})
    assert plumbing.service_plan(gone, "devstack-redis", "started", "devstack/redis:7", "h1", True)["reason"] == "missing"
    assert "my-data" in gone["containers"] and "devstack-redis" in listing["containers"]


def test_a_containers_gateways_are_listed_from_the_listing_and_from_an_inspect():
    # Where a published port is reached from (django_env's INTERNAL_IPS): each network's gateway.
    networks = {"NetworkSettings": {"Networks": {
        "devstack": {"Gateway": "172.20.0.1", "IPv6Gateway": "fd00::1"},
        "bridge": {"Gateway": "172.17.0.1", "IPv6Gateway": ""},
        "none": {"Gateway": ""}}}}
    info = {"containers": [{"Id": "c3", "Names": ["/web"], "State": "running", "Status": "Up", **networks}]}
    assert plumbing.service_listing(info)["containers"]["web"]["gateways"] == ["172.17.0.1", "172.20.0.1", "fd00::1"]
    assert plumbing.service_listing(HOST_INFO)["containers"]["web"]["gateways"] == []
    inspected = {"Id": "c4", "State": {"Status": "running"}, **networks}
    assert plumbing.service_remember({}, "web", inspected)["containers"]["web"]["gateways"] == \
        ["172.17.0.1", "172.20.0.1", "fd00::1"]


def test_the_config_hash_is_stable_across_types_and_key_order_and_follows_every_value():
    def h(decl, pw="pw", salt="s/redis", mode="0400"):
        return plumbing.service_config_hash(decl, [{"name": "redis.conf", "mode": mode, "content": pw, "secret": True},
                                                   {"name": "smb.conf", "content": "[global]"}], salt)
    a = h({"port": 7777, "env": {"A": "1", "B": True}})
    assert a == h({"env": {"B": True, "A": 1}, "port": "7777"}) and len(a) == 64
    assert h({"port": 7778, "env": {"A": "1", "B": True}}) != a
    assert h({"port": 7777, "env": {"A": "1", "B": True}}, pw="pw2") != a
    assert h({"port": 7777, "env": {"A": "1", "B": True}}, salt="t/redis") != a
    assert h({"port": 7777, "env": {"A": "1", "B": True}}, mode="0440") != a
    assert plumbing.service_config_hash({}, [{"name": "smb.conf", "content": "[other]"}]) != \
        plumbing.service_config_hash({}, [{"name": "smb.conf", "content": "[global]"}])


def test_the_config_hash_does_not_contain_the_plain_sha256_of_a_secret():
    import hashlib
    import json
    secret = "hunter2"  # pragma: allowlist secret
    digest = plumbing.service_config_hash({}, [{"name": "pw", "content": secret, "secret": True}], "s/redis")
    assert secret not in digest
    in_plain = plumbing.service_config_hash({}, [{"name": "pw", "content": secret, "secret": False}], "s/redis")
    assert digest != in_plain
    body = json.dumps({"declaration": {}, "files": [{"name": "pw", "secret": "true"}]}, sort_keys=True).encode()
    assert digest == hashlib.sha256(
        body + hashlib.pbkdf2_hmac("sha256", secret.encode(), b"devstack:s/redis", 100_000)).hexdigest()


def test_containers_of_a_stack_and_role_are_found_by_their_labels():
    info = {"containers": [
        {"Names": ["/s-worker-a"], "Labels": {"org.devstack.stack": "s", "org.devstack.role": "worker"}},
        {"Names": ["/s-worker-b"], "Labels": {"org.devstack.stack": "s", "org.devstack.role": "worker"}},
        {"Names": ["/t-worker-a"], "Labels": {"org.devstack.stack": "t", "org.devstack.role": "worker"}},
        {"Names": ["/s-redis"], "Labels": {"org.devstack.stack": "s", "org.devstack.role": "redis"}},
    ]}
    listing = plumbing.service_listing(info)
    assert plumbing.service_containers(listing, "s", "worker") == ["s-worker-a", "s-worker-b"]
    assert plumbing.service_containers(listing, "s") == ["s-redis", "s-worker-a", "s-worker-b"]
    assert plumbing.service_containers(listing, "u", "worker") == []


@pytest.mark.parametrize(
    ("healthcheck", "argv"),
    [
        ({"test": ["CMD", "redis-cli", "ping"], "timeout": "5s"}, ["timeout", "5", "redis-cli", "ping"]),
        ({"test": ["CMD-SHELL", "pg_isready -q"], "timeout": "1m30s"}, ["timeout", "90", "/bin/sh", "-c", "pg_isready -q"]),
        ({"test": ["CMD", "true"], "timeout": "500ms"}, ["timeout", "1", "true"]),
        ({"test": ["CMD", "true"]}, ["timeout", "30", "true"]),
        ({"test": ["NONE"]}, []),
        ({}, []),
    ],
)
def test_a_health_check_becomes_the_argv_that_runs_it_once(healthcheck, argv):
    assert plumbing.service_probe_argv(healthcheck) == argv


@pytest.mark.parametrize(
    ("healthcheck", "words"),
    [
        ({"test": ["redis-cli", "ping"]}, "must start with CMD"),
        ({"test": ["CMD"]}, "names no command"),
        ({"test": ["CMD", "true"], "timeout": "5 seconds"}, "not a duration"),
        ({"test": ["CMD", "true"], "timeout": "5"}, "not a duration"),
    ],
)
def test_a_health_check_that_cannot_be_run_is_refused_naming_the_variable(healthcheck, words):
    with pytest.raises(ValueError, match="service_healthcheck") as error:
        plumbing.service_probe_argv(healthcheck)
    assert words in str(error.value)


def test_networks_and_volumes_are_listed_by_name_and_remembered_when_made():
    listing = plumbing.service_listing(HOST_INFO)
    assert listing["networks"] == ["bridge", "devstack"] and listing["volumes"] == ["devstack_data"]
    now = plumbing.service_remember(listing, "devstack-redis", None, networks=["other"], volumes=["devstack_redis"])
    assert now["networks"] == ["bridge", "devstack", "other"]
    assert now["volumes"] == ["devstack_data", "devstack_redis"]
    assert listing["volumes"] == ["devstack_data"]


def test_rule_problems_say_every_failing_rule_in_order():
    rules = [{"that": True, "msg": "a"}, {"that": [True, False], "msg": " b "}, {"that": False, "msg": "c"}, {"that": [], "msg": "d"}]
    assert plumbing.service_rule_problems(rules) == ["b", "c"]
    assert plumbing.service_rule_problems([]) == []


def test_rule_problems_stop_at_a_rules_first_false_condition():
    """As assert does: a later condition may rely on an earlier one, so it is not read."""

    class Conditions(list):
        def __iter__(self):
            yield False
            raise AssertionError("read past the first false condition")

    assert plumbing.service_rule_problems([{"that": Conditions(), "msg": "x"}]) == ["x"]


@pytest.mark.parametrize("rules", ["not a list", [{"that": "yes", "msg": "m"}], [{"that": [True, 1], "msg": "m"}]])
def test_rule_problems_refuse_what_is_not_a_boolean(rules):
    with pytest.raises(ValueError, match="service_check_rules"):
        plumbing.service_rule_problems(rules)
