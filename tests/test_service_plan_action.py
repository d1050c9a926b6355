"""Unit tests of roles/service/action_plugins/service_plan.py: the declaration check (its
message names the role and the bad value) and the plan of one declaration against a listing.
The action's listing call runs in every scenario and in tests/test_one_listing.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("service_plan", ROOT / "roles" / "service" / "action_plugins" / "service_plan.py")
action = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(action)

GOOD = {"container": "devstack-redis", "state": "started", "image": "devstack/redis:7", "network": "devstack",
        "stack": "devstack", "role": "redis", "log_max_size": "10m", "log_max_file": "3",
        "declaration": {"image": "devstack/redis:7", "env": {"A": "1"}}, "files": [{"name": "redis.conf", "content": "x",
                                                                                     "secret": True}],
        "healthcheck": True}


def listing(hash_label: str, health: str = "healthy", state: str = "running", image_id: str = "sha256:1") -> dict:
    return {"containers": {"devstack-redis": {"id": "c1", "state": state, "health": health, "image_id": "sha256:1",
                                              "labels": {"org.devstack.config-hash": hash_label}, "gateways": []}},
            "images": {"devstack/redis:7": image_id}, "networks": ["devstack"], "volumes": []}


def test_a_complete_declaration_passes():
    assert action.declaration_problem(GOOD) == ""
    assert action.declaration_problem({"container": "x", "state": "absent"}) == ""


@pytest.mark.parametrize("change, said", [
    ({"container": ""}, "the redis role declared a service without service_container"),
    ({"image": ""}, "without service_container, service_image"),
    ({"log_max_size": "10"}, "service_log_max_size (10: a size such as 10m)"),
    ({"log_max_file": "0"}, "service_log_max_file (0: 1 or more)"),
    ({"log_max_file": "x"}, "service_log_max_file (x: 1 or more)"),
])
def test_an_incomplete_declaration_is_named(change, said):
    assert said in action.declaration_problem({**GOOD, **change})


def test_plan_is_current_only_when_hash_image_state_and_health_match():
    first = action.plan(GOOD, {"containers": {}, "images": {}})
    assert first["plan"] == {"current": False, "reason": "missing"}
    config_hash = first["hash"]
    assert len(config_hash) == 64 and "x" not in config_hash
    assert action.plan(GOOD, listing(config_hash))["plan"] == {"current": True, "reason": ""}
    assert action.plan(GOOD, listing("other"))["plan"]["reason"] == "declaration changed"
    assert action.plan(GOOD, listing(config_hash, image_id="sha256:2"))["plan"]["reason"] == "image changed"
    assert action.plan(GOOD, listing(config_hash, state="exited"))["plan"]["reason"] == "not running (exited)"
    assert action.plan(GOOD, listing(config_hash, health="starting"))["plan"]["reason"] == "not healthy (starting)"
    # The secret file's content moves the hash (through PBKDF2), and so does the stack (its salt).
    other_secret = {**GOOD, "files": [{"name": "redis.conf", "content": "y", "secret": True}]}
    assert action.plan(other_secret, {})["hash"] != config_hash
    assert action.plan({**GOOD, "stack": "other"}, {})["hash"] != config_hash


def test_absent_is_current_only_when_not_listed():
    absent = {**GOOD, "state": "absent"}
    assert action.plan(absent, listing("h"))["plan"] == {"current": False, "reason": "exists"}
    assert action.plan(absent, {"containers": {}})["plan"] == {"current": True, "reason": ""}
    assert action.plan(absent, {})["hash"] == ""
