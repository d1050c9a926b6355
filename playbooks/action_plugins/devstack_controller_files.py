"""Action plugin devstack_controller_files: small text files written on the controller itself.

The editors stage writes a few files on the machine that runs Ansible (VS Code's and
PyCharm's configuration of each work container). ansible.builtin.file/copy/template would run
three modules a host, each a Python process of its own, in every re-run, for files that are
almost never different. This action runs in the task's own worker, on the controller, and
touches nothing when every file already holds its content and mode:

    - name: The editor files are written
      devstack_controller_files:
        files:
          - {path: ~/.config/devstack/editors/h1/nameConfigs/web.json, content: "{...}", mode: "0644"}
        dir_mode: "0755"          # for folders it creates (default 0755)

A file is written only when its content differs (to a temporary file in the same folder,
then renamed over it, so a reader never sees half a file); a mode that differs is set. Check
mode reports what would change and writes nothing; --diff shows each changed file's text.
Only the controller is written, whatever host the task runs for: the task belongs on a play of
hosts: localhost (or delegate_to: localhost).
"""

from __future__ import annotations

import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

MODE_DIGITS = set("01234567")


def parse_mode(value, name: str) -> int:
    text = str(value)
    if not (3 <= len(text) <= 4 and set(text) <= MODE_DIGITS):
        raise AnsibleActionFail(f"devstack_controller_files: {name} must be an octal mode such as '0644', got {value!r}")
    return int(text, 8)


def plan(files, dir_mode: int) -> list[dict]:
    """What each file needs: {path, content, mode, write, chmod, before, dirs}; touches nothing."""
    if not isinstance(files, list) or not files:
        raise AnsibleActionFail("devstack_controller_files: files must be a non-empty list of {path, content, mode}")
    steps, seen = [], set()
    for index, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"].strip():
            raise AnsibleActionFail(f"devstack_controller_files: files[{index}] needs a path (a non-empty string)")
        if not isinstance(entry.get("content"), str):
            raise AnsibleActionFail(f"devstack_controller_files: files[{index}] ({entry['path']}) needs its content as a string")
        path = os.path.abspath(os.path.expanduser(entry["path"]))
        if path in seen:
            raise AnsibleActionFail(f"devstack_controller_files: {path} is given twice")
        seen.add(path)
        mode = parse_mode(entry.get("mode", "0644"), f"files[{index}].mode")
        before = None
        current_mode = None
        if os.path.lexists(path):
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                raise AnsibleActionFail(f"devstack_controller_files: {path} exists and is not a regular file; nothing was written")
            current_mode = stat.S_IMODE(info.st_mode)
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                before = handle.read()
        dirs = []
        parent = os.path.dirname(path)
        while not os.path.isdir(parent):
            if os.path.lexists(parent):
                raise AnsibleActionFail(f"devstack_controller_files: {parent} exists and is not a folder; nothing was written")
            dirs.append(parent)
            parent = os.path.dirname(parent)
        write = before != entry["content"]
        steps.append({"path": path, "content": entry["content"], "mode": mode, "before": before, "dirs": dirs[::-1],
                      "write": write, "chmod": not write and current_mode != mode, "dir_mode": dir_mode})
    return steps


def apply(step: dict) -> None:
    for folder in step["dirs"]:
        if not os.path.isdir(folder):
            os.mkdir(folder, step["dir_mode"])
    if step["write"]:
        folder = os.path.dirname(step["path"])
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".devstack-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
                out.write(step["content"])
            os.chmod(temporary, step["mode"])
            os.replace(temporary, step["path"])
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    elif step["chmod"]:
        os.chmod(step["path"], step["mode"])


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "dir_mode"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        steps = plan(args.get("files"), parse_mode(args.get("dir_mode", "0755"), "dir_mode"))
        changed = [step for step in steps if step["write"] or step["chmod"] or step["dirs"]]
        if not self._task.check_mode:
            try:
                for step in changed:
                    apply(step)
            except OSError as error:
                raise AnsibleActionFail(f"devstack_controller_files: {error}") from error
        result["changed"] = bool(changed)
        result["files"] = [step["path"] for step in steps]
        result["written"] = [step["path"] for step in changed]
        if self._task.diff and changed:
            result["diff"] = [{"before_header": step["path"], "after_header": step["path"],
                               "before": step["before"] or "", "after": step["content"]}
                              for step in changed if step["write"]]
        return result
