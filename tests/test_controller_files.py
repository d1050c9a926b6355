"""Unit tests of playbooks/action_plugins/devstack_controller_files.py (plan and apply, no
Ansible run): a file is written only when its text differs, a mode alone is set, folders are
made, and a path that is not a regular file is refused before anything is written."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location(
    "devstack_controller_files", ROOT / "playbooks" / "action_plugins" / "devstack_controller_files.py")
files = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(files)


def run(entries, dir_mode="0755"):
    steps = files.plan(entries, files.parse_mode(dir_mode, "dir_mode"))
    for step in steps:
        if step["write"] or step["chmod"] or step["dirs"]:
            files.apply(step)
    return steps


def test_new_file_and_its_folders_are_made_then_nothing_changes(tmp_path):
    target = tmp_path / "a" / "b" / "c.json"
    first = run([{"path": str(target), "content": "{}\n", "mode": "0640"}])
    assert first[0]["write"] and first[0]["dirs"] == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) & 0o755 == 0o755
    again = files.plan([{"path": str(target), "content": "{}\n", "mode": "0640"}], 0o755)
    assert not again[0]["write"] and not again[0]["chmod"] and again[0]["dirs"] == []
    assert not list(target.parent.glob(".devstack-*"))


def test_changed_text_is_replaced_and_a_mode_alone_is_set(tmp_path):
    target = tmp_path / "note.md"
    target.write_text("old")
    os.chmod(target, 0o600)
    step = run([{"path": str(target), "content": "new", "mode": "0644"}])[0]
    assert step["write"] and step["before"] == "old" and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    os.chmod(target, 0o600)
    step = run([{"path": str(target), "content": "new", "mode": "0644"}])[0]
    assert step["chmod"] and not step["write"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_plan_touches_nothing(tmp_path):
    target = tmp_path / "x" / "y.txt"
    steps = files.plan([{"path": str(target), "content": "text"}], 0o755)
    assert steps[0]["write"] and steps[0]["mode"] == 0o644
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("entries, said", [
    ([], "non-empty list"),
    ([{"content": "x"}], r"files\[0\] needs a path"),
    ([{"path": "/tmp/x", "content": 3}], "needs its content as a string"),
    ([{"path": "/tmp/x", "content": "", "mode": "644x"}], "octal mode"),
    ([{"path": "/tmp/x", "content": ""}, {"path": "/tmp/x", "content": ""}], "given twice"),
])
def test_bad_entries_are_refused(entries, said):
    with pytest.raises(AnsibleActionFail, match=said):
        files.plan(entries, 0o755)


def test_a_folder_or_link_in_the_way_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "dir.json").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.json")
    (tmp_path / "file").write_text("")
    good = tmp_path / "good.json"
    for bad, said in ((tmp_path / "dir.json", "not a regular file"), (tmp_path / "link.json", "not a regular file"),
                      (tmp_path / "file" / "inside.json", "is not a folder")):
        with pytest.raises(AnsibleActionFail, match=said):
            files.plan([{"path": str(good), "content": "x"}, {"path": str(bad), "content": "x"}], 0o755)
    assert not good.exists() and not (tmp_path / "elsewhere").exists()
