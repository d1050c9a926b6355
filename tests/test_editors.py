"""playbooks/editors.yml run alone (no stage before it in the run): the editor configurations
are written on the controller from what the workspace and django_env roles report, for the
stack the variables name, and bad input is refused before anything is written. Needs no
container: the molecule/default scenario checks them against a running stack (the interpreter
exists in the work container, the toolbar shows through the published port)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import playbook

STACK = "pytest-editors"


def editors(folder: Path, *extra: str):
    return playbook("playbooks/editors.yml", "-e", json.dumps({
        "devstack_name": STACK, "devstack_port_offset": 300, "devstack_editors_dir": str(folder),
        "django_env_project": "shop", "django_env_user": "alice"}), *extra, timeout=300)


def test_editors_writes_what_the_roles_report_and_a_rerun_changes_nothing(tmp_path):
    first = editors(tmp_path)
    assert first.returncode == 0, first.output[-3000:]
    vscode = json.loads((tmp_path / "localhost" / "nameConfigs" / f"{STACK}-web.json").read_text())
    assert vscode == {
        "workspaceFolder": "/data/shop", "remoteUser": "alice", "userEnvProbe": "loginInteractiveShell",
        "forwardPorts": [8000], "portsAttributes": {"8000": {"label": "Django (runserver)", "onAutoForward": "silent"}},
        "settings": {"python.defaultInterpreterPath": "/home/dev/.devstack/venv/bin/python"},
        "extensions": ["ms-python.python"],
    }
    note = (tmp_path / "localhost" / f"pycharm-{STACK}-web.md").read_text()
    for value in (f"`{STACK}-web`", "`/data/shop`", "`/home/dev/.devstack/venv/bin/python`", "http://localhost:8300/",
                  f"--volumes-from {STACK}-web --network {STACK} --user alice", "this machine"):
        assert value in note, value
    again = editors(tmp_path)
    assert again.returncode == 0 and again.recap()["localhost"]["changed"] == 0, again.output[-3000:]
    # Edited by hand: check mode names it and leaves it; the next run writes it back.
    edited = tmp_path / "localhost" / f"pycharm-{STACK}-web.md"
    edited.write_text("mine")
    checked = editors(tmp_path, "--check")
    assert checked.returncode == 0 and checked.recap()["localhost"]["changed"] == 1, checked.output[-3000:]
    assert edited.read_text() == "mine"
    repaired = editors(tmp_path)
    assert repaired.returncode == 0 and repaired.recap()["localhost"]["changed"] == 1, repaired.output[-3000:]
    assert edited.read_text() == note


def test_editors_refuses_an_empty_folder_and_writes_nothing(tmp_path):
    refused = playbook("playbooks/editors.yml", "-e", json.dumps({"devstack_editors_dir": " "}), timeout=300)
    said = " ".join(refused.output.split())
    assert refused.returncode != 0
    assert "devstack_editors_dir must be a folder on the controller" in said, said[-2000:]
    assert "PyCharm note are written" not in said
