"""Workers as the role makes them: the work container's /data, state volume and env file,
the command run after the env file in the project folder as the Django user, nothing of the
env file in docker inspect; re-created on a new fingerprint only; removed when undeclared
(side_effect.yml recorded the container IDs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from devstack_testinfra import inspect, scenario_var

STACK = scenario_var("devstack_name")
WEB = f"{STACK}-web"
PROBE = f"{STACK}-worker-probe"


@pytest.fixture(scope="module")
def ids() -> dict:
    return json.loads((Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "worker-ids.json").read_text())


def test_the_worker_ran_its_command_with_the_env_file_in_the_project_as_dev(host):
    out = host.ansible("community.docker.docker_container_exec",
                       json.dumps({"container": WEB, "argv": ["cat", "/data/project/probe.txt"]}), check=False)
    assert out["stdout"].strip() == "from-the-env-file /data/project dev"


def test_the_worker_shares_the_work_containers_mounts_and_not_its_env_file_values(host):
    worker, web = inspect(host, PROBE), inspect(host, WEB)
    assert worker["HostConfig"]["VolumesFrom"] == [WEB]
    assert sorted(m["Destination"] for m in worker["Mounts"]) == sorted(m["Destination"] for m in web["Mounts"])
    assert worker["Config"]["Image"] == web["Config"]["Image"]
    assert worker["Config"]["User"] == "dev" and worker["HostConfig"]["Init"] is True
    assert "from-the-env-file" not in json.dumps(worker)
    labels = worker["Config"]["Labels"]
    assert (labels["org.devstack.stack"], labels["org.devstack.role"]) == (STACK, "worker")


def test_a_new_fingerprint_recreates_the_workers_and_none_keeps_them(ids):
    assert all(ids["before"].values()) and all(ids["recreated"].values())
    assert set(ids["before"].values()).isdisjoint(ids["recreated"].values())   # both re-created
    assert ids["after"]["probe"] == ids["recreated"]["probe"]                 # no fingerprint: kept


def test_a_worker_no_longer_declared_is_removed(ids, host):
    assert ids["after"]["second"] is None
    assert inspect(host, PROBE)["Config"]["Labels"]["org.devstack.restart-key"] == "two"
