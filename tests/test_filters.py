"""Unit tests of the playbooks' filter plugins."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "playbooks" / "filter_plugins" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_aligns_columns_and_marks_missing_values():
    table = load("devstack_table").devstack_table(
        [{"host": "sz-dev-01", "state": "ok", "url": "http://192.0.2.11:8000/"},
         {"host": "sz-dev-03", "state": "unreachable"}],
        ["host", "state", "url"])
    assert table == [
        "HOST       STATE        URL",
        "sz-dev-01  ok           http://192.0.2.11:8000/",
        "sz-dev-03  unreachable  -",
    ]


def test_table_refuses_rows_that_are_not_dicts():
    with pytest.raises(TypeError, match="rows must be a list of dicts"):
        load("devstack_table").devstack_table(["sz-dev-01"], ["host"])


def _svc(container, what="Redis", stage="redis", address="127.0.0.1", port=7777):
    return {"container": container, "what": what, "stage": stage, "address": address, "port": port}


HEALTHY = {"Running": True, "Status": "running", "Health": {"Status": "healthy", "Log": []}}
SHARE_OK = {"rc": 0, "stdout": "", "stderr": ""}
DJANGO_OK = {"json": {"status": "ok", "database": "ok", "cache": "ok"}}


def test_a_healthy_stack_has_no_problems():
    problems = load("devstack_problems").devstack_problems(
        [{"item": _svc("s-redis"), "exists": True, "container": {"State": HEALTHY}}],
        [{"item": _svc("s-redis"), "state": "started"}], SHARE_OK, DJANGO_OK, "web")
    assert problems == []


def test_each_problem_says_what_and_how_to_fix_it_in_order():
    unhealthy = {"Running": True, "Status": "running",
                 "Health": {"Status": "unhealthy", "Log": [{"Output": "old"}, {"Output": "NOAUTH " + "x" * 300}]}}
    problems = load("devstack_problems").devstack_problems(
        [{"item": _svc("s-gone", "PostgreSQL", "postgres"), "exists": False},
         {"item": _svc("s-stopped"), "exists": True, "container": {"State": {"Running": False, "Status": "exited"}}},
         {"item": _svc("s-sick", "the share (SMB)", "samba"), "exists": True, "container": {"State": unhealthy}}],
        [{"item": _svc("s-stopped"), "failed": True, "msg": "Timeout"}],
        {"rc": 1, "stderr": "NT_STATUS_ACCESS_DENIED", "stdout": ""},
        {"status": -1, "msg": "Connection refused"}, "s-web")
    assert problems[0] == "s-gone (PostgreSQL) does not exist: run ansible-playbook setup.yml --tags postgres"
    assert problems[1] == "s-stopped is exited: docker start s-stopped, then docker logs s-stopped"
    assert problems[2].startswith("s-sick is unhealthy (last check: NOAUTH x")
    assert "...): see docker logs s-sick; ansible-playbook setup.yml --tags samba re-creates it" in problems[2]
    assert problems[3].startswith("Redis does not answer on 127.0.0.1:7777: is s-stopped running")
    assert problems[4].startswith("the share refuses a write (NT_STATUS_ACCESS_DENIED)")
    assert problems[5] == ("Django /health/ is not ok (Connection refused): ansible-playbook setup.yml --tags django_env;"
                           " server output: docker logs s-web")
    assert len(problems) == 6


def test_a_skipped_share_probe_is_not_a_problem_and_a_bad_health_answer_is():
    problems = load("devstack_problems").devstack_problems(
        [], [], {"skipped": True}, {"json": {"status": "error", "database": "error: refused"}}, "w")
    assert problems == ["Django /health/ is not ok ({'status': 'error', 'database': 'error: refused'}): "
                        "ansible-playbook setup.yml --tags django_env; server output: docker logs w"]


def test_images_older_than_the_limit_are_problems_oldest_first_with_the_refresh():
    now = 1_800_000_000.0  # 2027-01-15 08:00 UTC
    day = 86400
    images = [
        {"Id": "sha256:a", "RepoTags": ["devstack/redis:7"], "Created": "2026-12-01T08:00:00.5Z"},   # 45 days
        {"Id": "sha256:b", "RepoTags": [], "Created": "2026-11-01T08:00:00Z"},                       # 75 days
        {"Id": "sha256:c", "RepoTags": ["devstack/web:latest"], "Created": "2027-01-10T08:00:00Z"},  # 5 days
    ]
    old = load("devstack_problems").devstack_old_images
    problems = old(images, 30, now=now)
    assert [p.split(" was built ")[0] for p in problems] == ["sha256:b", "devstack/redis:7"]
    assert "75 days ago" in problems[0] and "images_refresh=" in problems[0]
    assert "devstack_image_max_age_days=30" in problems[1]
    assert old(images, 75, now=now) == []
    assert len(old(images, 0, now=now)) == 3  # 0: any image built before now
    assert len(old(images, 44, now=now)) == 2 and len(old(images, 45, now=now)) == 1  # exactly 45 days is not more
    assert old(images, 45, now=now + day)[1].startswith("devstack/redis:7 was built 45 days ago")  # 46 days less half a second


def test_each_image_the_stack_runs_is_shown_with_its_age_oldest_first():
    ages = load("devstack_problems").devstack_image_ages
    now = 1_800_000_000
    listing = {
        "containers": [{"Image": "devstack/redis:7", "Labels": {"org.devstack.stack": "devstack"}},
                       {"Image": "devstack/web:latest", "Labels": {"org.devstack.stack": "devstack"}},
                       {"Image": "devstack/web:latest", "Labels": {"org.devstack.stack": "alice"}}],
        "images": [{"RepoTags": ["devstack/redis:7"], "Created": now - 40 * 86400},
                   {"RepoTags": ["devstack/web:latest"], "Created": "2027-01-14T07:00:00.123456789Z"},
                   {"RepoTags": ["devstack/samba:4.17"], "Created": now}],
    }
    assert ages(listing, "devstack", now=now) == ["devstack/redis:7 40 days", "devstack/web:latest 1 day"]
    # Before the stack has containers: every image under the namespace.
    assert ages({"images": listing["images"]}, "bob", now=now) == [
        "devstack/redis:7 40 days", "devstack/web:latest 1 day", "devstack/samba:4.17 0 days"]
    assert ages({}, "devstack", now=now) == []
