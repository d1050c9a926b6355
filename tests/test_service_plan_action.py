"""Unit tests of roles/service/action_plugins/service_plan.py (the declaration check: its
message names the role and the bad value; the plan of one declaration against a listing) and
service_validate.py (a role's argument spec applied in its first task).
The action's listing call runs in every scenario and in tests/test_one_listing.py."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import playbook

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


def test_the_declaration_is_validated_against_the_roles_argument_spec():
    """The includes say rolespec_validate: false: the action applies meta/argument_specs.yml's
    `main` itself, with the messages Ansible's validation task gives."""
    spec = action.main_spec()
    assert {"service_container", "service_ports", "service_state", "service_files"} <= set(spec)
    good = {"service_container": "devstack-redis", "service_state": "started",
            "service_ports": [{"address": "127.0.0.1", "host": 7777, "container": 6379}]}
    assert action.spec_problems(good, spec) == []
    said = " ".join(action.spec_problems({**good, "service_state": "running", "service_ports": "7777"}, spec))
    assert "service_state" in said and "running" in said
    assert "service_ports" in said


@pytest.mark.parametrize(("name", "given"), [("service_env", '{"A": "1"}'), ("service_env", "A=1"),
                                             ("service_volumes_from", "my-data,other")])
def test_a_dict_or_list_given_as_a_string_is_named_without_its_value(name, given):
    """The validator converts such a string in its own copy only: the role would read the string."""
    spec = action.main_spec()
    said = action.spec_problems({"service_container": "x", name: given}, spec)
    assert said == [f"{name} must be a {spec[name]['type']}, got a string: `-e {name}=...` gives a string; give it as "
                    f"JSON, -e '{{\"{name}\": ...}}', or in a vars file"]
    assert given not in " ".join(said)
    assert action.spec_problems({"service_container": "x", name: {} if spec[name]["type"] == "dict" else []}, spec) == []


BAD_DECLARATION = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: service
        rolespec_validate: false
      vars:
        service_role: demo
        service_container: demo-x
        service_image: devstack/redis:7
        service_network: demo
        service_stack: demo
        service_state: running
        service_ports: 7777
"""


def test_a_malformed_declaration_is_named_by_the_spec_before_any_filter_runs(tmp_path):
    """End to end through ansible-playbook: declaration and files are templated after the spec
    check (finalize_task_arg), so the spec's message, not a filter's traceback, is what is said."""
    play = tmp_path / "bad.yml"
    play.write_text(BAD_DECLARATION)
    result = playbook("-i", "inventory/local", play)
    assert result.returncode != 0, result.output
    assert "Validation of the demo role's service declaration failed" in result.output, result.output[-3000:]
    assert "service_state must be one of: started, present, absent, got: running" in result.output
    assert "service_ports" in result.output and "not iterable" not in result.output


VALIDATE_SPEC = importlib.util.spec_from_file_location(
    "service_validate", ROOT / "roles" / "service" / "action_plugins" / "service_validate.py")
validate_action = importlib.util.module_from_spec(VALIDATE_SPEC)
VALIDATE_SPEC.loader.exec_module(validate_action)
IMPORTED_UNCHECKED = sorted({m for p in (ROOT / "playbooks").glob("*.yml")
                             for m in re.findall(r"import_role: \{name: (\w+), rolespec_validate: false\}",
                                                 p.read_text())})


def test_every_role_the_playbooks_import_unchecked_checks_its_spec_in_its_first_task():
    """The playbooks skip Ansible's prepended validation task for these roles: each must then
    start with the service role's validate entry point, which applies the role's spec."""
    assert len(IMPORTED_UNCHECKED) >= 9, IMPORTED_UNCHECKED
    for role in IMPORTED_UNCHECKED:
        main = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
        assert main[0].get("ansible.builtin.import_tasks") == "validate.yml", role
        first = yaml.safe_load((ROOT / "roles" / role / "tasks" / "validate.yml").read_text())[0]
        include = first.get("ansible.builtin.import_role") or first.get("ansible.builtin.include_role")
        assert include == {"name": "service", "tasks_from": "validate", "rolespec_validate": False}, role


@pytest.mark.parametrize("role", IMPORTED_UNCHECKED)
def test_a_roles_defaults_pass_its_spec_and_a_wrong_type_is_named(role):
    # The values as the user leaves them; those taken from an inventory-wide setting (the ports
    # moved by devstack_port_offset, the image age limit of devstack_image_max_age_days) are
    # templates, rendered first as Ansible does (the others stay strings, which their spec takes,
    # except a list or dict built from other variables: Ansible renders it to one, stood in here
    # by an empty one).
    spec = action.main_spec(ROOT / "roles" / role / "meta" / "argument_specs.yml")
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    empty = {"list": [], "dict": {}}
    inventory_wide = ("devstack_port_offset", "devstack_image_max_age_days")
    defaults = {k: jinja2.Template(v).render() if isinstance(v, str) and any(n in v for n in inventory_wide)
                else empty[spec[k]["type"]] if isinstance(v, str) and "{{" in v and spec.get(k, {}).get("type") in empty
                else v
                for k, v in defaults.items()}
    name, errors = validate_action.caller_spec_problems(str(ROOT / "roles" / role), defaults, lambda v: v)
    assert (name, errors) == (role, [])
    typed = next(k for k, v in spec.items() if v.get("type") in ("int", "bool", "dict"))
    _, errors = validate_action.caller_spec_problems(str(ROOT / "roles" / role), {**defaults, typed: ["x"]},
                                                     lambda v: v)
    assert len(errors) == 1 and typed in errors[0], errors


BAD_TYPE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.import_role: {name: redis, rolespec_validate: false}
      vars:
        redis_stop_timeout: [1]
        redis_port: [2]
        redis_maxmemory: "1 GB"
"""


def test_a_wrong_type_is_named_by_the_spec_before_the_roles_rules_run(tmp_path):
    """End to end: the role's first task says the spec's message (both variables); the rules
    (a malformed redis_maxmemory) are not read until the types hold, and nothing else runs."""
    play = tmp_path / "bad.yml"
    play.write_text(BAD_TYPE)
    result = playbook("-i", "inventory/local", play)
    assert result.returncode != 0, result.output
    assert "Validation of arguments failed (the redis role's meta/argument_specs.yml" in result.output, \
        result.output[-3000:]
    assert "redis_stop_timeout" in result.output and "redis_port" in result.output
    assert "redis_maxmemory must be a size" not in result.output
    assert "ok=0" in result.output and "failed=1" in result.output
