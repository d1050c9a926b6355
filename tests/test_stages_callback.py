"""bin/setup's output: callback_plugins/devstack_stages.py (one line per stage, the full output in
a log file). Unit tests of its logic with fake events and results, then real ansible-playbook runs
of a generated playbook (a few stages, a module warning, a long task, a loop, a secret, a failure)
with the environment bin/setup sets."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "callback_plugins" / "devstack_stages.py"

SPEC = importlib.util.spec_from_file_location("devstack_stages", PLUGIN)
stages = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = stages  # its dataclasses look their module up
SPEC.loader.exec_module(stages)

STAGE_LINE = re.compile(r"^\[ ?(\d+)/(\d+)\] (.+?) \.{2,} (ok|changed \d+|failed \d+.*|unreachable \d+|skipped) +"
                        r"(\d+\.\d s|\d+ min \d\d s)$")


# ---------------------------------------------------------------- pure logic


def test_durations_read_as_seconds_then_minutes():
    assert stages.format_duration(0.04) == "0.0 s"
    assert stages.format_duration(4.25) == "4.2 s"
    assert stages.format_duration(59.9) == "59.9 s"
    assert stages.format_duration(59.96) == "1 min 00 s"
    assert stages.format_duration(125.4) == "2 min 05 s"


def test_stages_are_named_by_their_import_and_the_summary_is_shown_in_full(tmp_path):
    (tmp_path / "setup.yml").write_text(
        "- name: Preflight\n  ansible.builtin.import_playbook: playbooks/preflight.yml\n"
        "- name: Redis\n  import_playbook: playbooks/redis.yml\n"
        "- name: Templated\n  import_playbook: '{{ x }}.yml'\n"
        "- name: Summary\n  import_playbook: playbooks/summary.yml\n")
    names = stages.import_names(str(tmp_path / "setup.yml"))
    pb = str(tmp_path / "playbooks")
    assert names == {f"{pb}/preflight.yml": "Preflight", f"{pb}/redis.yml": "Redis", f"{pb}/summary.yml": "Summary"}
    plan = stages.plan_stages(
        [("u1", f"{pb}/preflight.yml", "Preflight - the hosts answer"), ("u2", f"{pb}/redis.yml", "Redis runs"),
         ("u3", f"{pb}/other.yml", "A play of its own"), ("u4", f"{pb}/summary.yml", "Summary - per host"),
         ("u5", f"{pb}/summary.yml", "Summary - one line per host")],
        names, ["summary.yml"])
    assert [(s.name, s.number, s.full, s.plays) for s in plan] == [
        ("Preflight", 1, False, ["u1"]), ("Redis", 2, False, ["u2"]),
        ("A play of its own", 3, False, ["u3"]), ("Summary", 0, True, ["u4", "u5"])]
    assert stages.import_names(str(tmp_path / "missing.yml")) == {}


def test_a_stage_result_says_the_worst_that_happened():
    tally = stages.Tally()
    assert tally.result() == "skipped"
    tally.add("skipped")
    assert tally.result() == "skipped"
    tally.add("ok")
    assert tally.result() == "ok"
    tally.add("ok", changed=True)
    tally.add("ok", changed=True)
    assert tally.result() == "changed 2"
    tally.add("ignored")
    assert tally.result() == "changed 2"
    tally.add("failed")
    assert tally.result() == "failed 1"
    tally.add("unreachable")
    assert tally.result() == "failed 1, unreachable 1"


def test_a_stage_line_has_number_name_result_and_time_aligned():
    first = stages.stage_line(2, 10, "Redis", "changed 2", 3.14, 12)
    second = stages.stage_line(10, 10, "Docker host", "ok", 75, 12)
    assert first == "[ 2/10] Redis ......... changed 2         3.1 s"
    assert second == "[10/10] Docker host ... ok           1 min 15 s"
    assert len(first) == len(second)
    assert STAGE_LINE.match(first) and STAGE_LINE.match(second)


def test_a_long_task_is_reported_each_interval_with_its_items():
    progress = stages.Progress(20)
    assert progress.due(100) is None  # no task
    progress.start("images : The images are built", 100)
    assert progress.due(119.9) is None
    assert progress.due(120.2) == "  ... still running: images : The images are built (20.2 s)"
    assert progress.due(125) is None
    progress.item_done()
    progress.item_done()
    assert progress.due(181) == "  ... still running: images : The images are built (1 min 21 s, 2 items done)"
    assert progress.due(199) is None  # the missed ones are not caught up
    progress.stop()
    assert progress.due(500) is None
    assert stages.Progress(0).due(1e9) is None


def test_only_a_changed_result_with_a_diff_has_one_to_show():
    assert stages.has_diff(None, {"changed": True, "diff": {"before": "a", "after": "b"}})
    assert not stages.has_diff(None, {"changed": False, "diff": {"before": "a", "after": "b"}})
    assert not stages.has_diff(None, {"changed": True})
    assert stages.has_diff([1, 2], {"results": [{"changed": False}, {"changed": True, "diff": [{"after": "x"}]}]})


# ---------------------------------------------------------------- the callback, fed fake events


class Screen:
    """A Display that records what would reach the screen and the log."""

    verbosity = 0
    columns = 80

    def __init__(self):
        self.screen: list[str] = []
        self.log: list[str] = []

    def display(self, msg, color=None, stderr=False, screen_only=False, log_only=False, newline=True, caplevel=None):
        if not log_only:
            self.screen.extend(msg.strip("\n").split("\n"))
        if not screen_only:
            self.log.append(msg)

    def banner(self, msg, color=None, cows=True):
        self.display(f"\n{msg} ***")

    def _error(self, error, stderr):
        self.display(f"[ERROR]: {error.event.msg}", stderr=stderr)


def _play(uuid, path, name):
    return SimpleNamespace(_uuid=uuid, get_path=lambda: f"{path}:3", get_name=lambda: name,
                           check_mode=False, strategy="linear")


def _task(name, **kw):
    fields = dict(name=name, _uuid=name, loop=None, action="debug", delegate_to=None, no_log=False,
                  check_mode=False, args={}, ignore_unreachable=False, ignore_errors=False)
    fields.update(kw)
    return SimpleNamespace(get_name=lambda: name, **fields)


def _result(task, host="localhost", **result):
    return SimpleNamespace(task=task, host=SimpleNamespace(get_name=lambda: host), result=result,
                           _result=result, task_name=task.get_name(), warnings=[], deprecations=[], exception=None)


@pytest.fixture
def callback(tmp_path, monkeypatch):
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.plugins.loader import callback_loader

    monkeypatch.setattr(context, "CLIARGS", ImmutableDict(check=False))
    callback_loader.add_directory(str(ROOT / "callback_plugins"))
    screen = Screen()
    plugin = callback_loader.get("devstack_stages", display=screen)
    plugin.set_options()
    plugin.set_option("progress_interval", 0)  # no ticking thread work in unit tests
    (tmp_path / "setup.yml").write_text(
        "- name: Redis\n  import_playbook: playbooks/redis.yml\n"
        "- name: Work container\n  import_playbook: playbooks/workspace.yml\n"
        "- name: Summary\n  import_playbook: playbooks/summary.yml\n")
    pb = tmp_path / "playbooks"
    plays = [_play("p1", pb / "redis.yml", "Redis is running"), _play("p2", pb / "workspace.yml", "Work container"),
             _play("p3", pb / "summary.yml", "Summary - per host")]
    plugin.v2_playbook_on_start(SimpleNamespace(_file_name=str(tmp_path / "setup.yml"), get_plays=lambda: plays))
    yield plugin, screen, plays
    plugin._stop.set()


def test_fake_results_give_one_line_per_stage_and_the_summary_in_full(callback):
    from ansible.module_utils._internal._messages import Event, WarningSummary

    plugin, screen, plays = callback
    plugin.v2_playbook_on_play_start(plays[0])
    task = _task("redis : Redis is running")
    plugin.v2_playbook_on_task_start(task, False)
    plugin.v2_runner_on_ok(_result(task, changed=True))
    warned = _task("redis : The config is checked")
    plugin.v2_playbook_on_task_start(warned, False)
    result = _result(warned, changed=False, warnings=True)
    result.warnings = [WarningSummary(event=Event(msg="vm.overcommit_memory is 0"))]
    plugin._current_task_result = result
    plugin.v2_runner_on_ok(result)
    plugin._current_task_result = None
    secret = _task("redis : The password file is written", no_log=True)
    plugin.v2_playbook_on_task_start(secret, False)
    plugin.v2_runner_on_ok(_result(secret, changed=True, censored="the output has been hidden"))
    skipped = _task("redis : Nothing to do")
    plugin.v2_playbook_on_task_start(skipped, False)
    plugin.v2_runner_on_skipped(_result(skipped, skipped=True))

    plugin.v2_playbook_on_play_start(plays[1])
    failing = _task("workspace : The work container runs")
    plugin.v2_playbook_on_task_start(failing, False)
    plugin.v2_runner_on_failed(_result(failing, failed=True, msg="port 8000 is taken by another program"))

    plugin.v2_playbook_on_play_start(plays[2])
    summary = _task("The stack is ready")
    plugin.v2_playbook_on_task_start(summary, False)
    plugin.v2_runner_on_ok(_result(summary, msg="Django: http://localhost:8000/", _ansible_verbose_always=True))

    lines = screen.screen
    assert lines[0].startswith(("Full log: ", "No log file"))
    assert lines[1] == "  [WARNING] redis : The config is checked [localhost]: vm.overcommit_memory is 0"
    assert STAGE_LINE.match(lines[2]) and lines[2].startswith("[1/2] Redis ") and " changed 2 " in lines[2]
    assert lines[3] == "  FAILED: workspace : The work container runs [localhost]"
    assert any("msg: port 8000 is taken by another program" in line for line in lines[4:])
    fail_line = next(line for line in lines if line.startswith("[2/2]"))
    assert STAGE_LINE.match(fail_line) and " failed 1 " in fail_line
    # The summary stage: the default callback's own output, banners and result.
    after = lines[lines.index(fail_line) + 1:]
    assert after[0].startswith("PLAY [Summary - per host]")
    assert any(line.startswith("TASK [The stack is ready]") for line in after)
    assert "    msg: 'Django: http://localhost:8000/'" in after
    # Before the summary: no banner and no per-host line reached the screen ...
    before = lines[:lines.index(fail_line) + 1]
    assert not any(line.startswith(("TASK [", "PLAY [", "ok: [", "changed: [")) for line in before)
    # ... but the log has them all.
    log = "".join(screen.log)
    for expected in ("TASK [redis : Redis is running]", "changed: [localhost]", "skipping: [localhost]",
                     "[WARNING]: vm.overcommit_memory is 0", "fatal: [localhost]: FAILED!", "PLAY [Redis is running]"):
        assert expected in log


def test_stages_that_never_started_are_named_at_the_end(callback):
    plugin, screen, plays = callback
    plugin.v2_playbook_on_play_start(plays[0])
    task = _task("redis : Redis is running")
    plugin.v2_playbook_on_task_start(task, False)
    plugin.v2_runner_on_unreachable(_result(task, unreachable=True, msg="ssh: connect to host sz-dev-03"))
    plugin.v2_playbook_on_stats(SimpleNamespace(processed={}, custom={}))
    lines = screen.screen
    assert "  UNREACHABLE: localhost (redis : Redis is running)" in lines
    assert any("ssh: connect to host sz-dev-03" in line for line in lines)
    assert any(STAGE_LINE.match(line) and " unreachable 1 " in line for line in lines)
    assert lines.index("Not run: Work container") < lines.index("PLAY RECAP ***")


def test_a_failed_item_of_a_loop_is_shown_in_full_an_ignored_one_only_in_the_log(callback):
    plugin, screen, plays = callback
    plugin.v2_playbook_on_play_start(plays[0])
    loop = _task("redis : Each config file is written", loop=["a.conf", "b.conf"], action="copy")
    plugin.v2_playbook_on_task_start(loop, False)
    plugin.v2_runner_item_on_ok(_result(loop, item="a.conf", changed=True))
    plugin.v2_runner_item_on_failed(_result(loop, item="b.conf", failed=True, msg="Destination not writable"))
    plugin.v2_runner_on_failed(_result(loop, failed=True, msg="One or more items failed", results=[]))
    ignored = _task("redis : An optional probe", ignore_errors=True)
    plugin.v2_playbook_on_task_start(ignored, False)
    plugin.v2_runner_on_failed(_result(ignored, failed=True, msg="probe said no"), ignore_errors=True)
    lines = screen.screen
    assert "  FAILED: redis : Each config file is written [localhost] (item=b.conf)" in lines
    assert any("msg: Destination not writable" in line for line in lines)
    assert not any("probe said no" in line for line in lines)
    assert "probe said no" in "".join(screen.log)
    plugin.v2_playbook_on_play_start(plays[1])
    assert " failed 1 " in next(line for line in lines if line.startswith("[1/2] Redis "))  # tasks, as the recap counts


# ---------------------------------------------------------------- real runs


PLAYBOOKS = {
    "main.yml": """\
- name: First stage
  ansible.builtin.import_playbook: playbooks/one.yml
- name: Second stage
  ansible.builtin.import_playbook: playbooks/two.yml
- name: Summary
  ansible.builtin.import_playbook: playbooks/summary.yml
""",
    "playbooks/one.yml": """\
- name: One
  hosts: all
  gather_facts: false
  tasks:
    - name: A module warns
      warner: {text: "careful: the disk is almost full"}
    - name: Something changes
      ansible.builtin.copy: {content: "new\\n", dest: "{{ out_dir }}/file.txt", mode: "0600"}
    - name: An expected failure
      ansible.builtin.command: sh -c 'exit 3'
      changed_when: false
      ignore_errors: true
""",
    "playbooks/two.yml": """\
- name: Two
  hosts: all
  gather_facts: false
  tasks:
    - name: A long task
      ansible.builtin.command: "sleep {{ long | default(5) }}"
      changed_when: false
    - name: A loop
      ansible.builtin.command: "true"
      loop: [1, 2, 3]
      changed_when: false
    - name: A secret is handled
      ansible.builtin.debug: {msg: "TopSecret-{{ 41 + 1 }}"}  # pragma: allowlist secret
      no_log: true
- name: Two b
  hosts: all
  gather_facts: false
  tasks:
    - name: A check that can fail
      ansible.builtin.assert: {that: false, fail_msg: "the bad thing named x"}
      when: fail | default(false) | bool
""",
    "playbooks/summary.yml": """\
- name: Summary play
  hosts: all
  gather_facts: false
  tasks:
    - name: The end
      ansible.builtin.debug: {msg: "all done"}
""",
    "library/warner.py": """\
#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec={"text": {"type": "str", "required": True}})
module.warn(module.params["text"])
module.exit_json(changed=False)
""",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stages")
    for name, text in PLAYBOOKS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def _run(folder: Path, *args: str, stages_output: bool = True, log: Path | None = None) -> subprocess.CompletedProcess:
    """ansible-playbook from the project root (its ansible.cfg), with bin/setup's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "DEVSTACK_"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", DEVSTACK_PROGRESS_INTERVAL="2")
    if stages_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "devstack_stages"
    if log:
        env["ANSIBLE_LOG_PATH"] = str(log)
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"out_dir={folder}",
         str(folder / "main.yml"), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


def test_a_real_run_prints_a_line_per_stage_and_keeps_the_full_log(generated, tmp_path):
    log = tmp_path / "setup.log"
    run = _run(generated, log=log)
    assert run.returncode == 0, run.stdout
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("PLAY [Summary play]"))
    before = [line for line in lines[:start] if line]
    shown_log = f"Full log: {log}"
    assert before[0] == shown_log and lines[-1] == shown_log
    # A line per stage; a warning in full; a line each 2 s while a task runs (the long one, and any
    # other the loaded machine is slow with): nothing else.
    ticks = [line for line in before if line.startswith("  ... still running: ")]
    assert all(re.fullmatch(r"  \.\.\. still running: .+ \(\d+\.\d s(, \d items? done)?\)", t) for t in ticks), ticks
    assert [t for t in ticks if t.startswith("  ... still running: A long task (")], before
    assert [line for line in before if line not in ticks] == [
        shown_log, "  [WARNING] A module warns [localhost]: careful: the disk is almost full",
        *[line for line in before if line.startswith("[1/2] First stage ")],
        *[line for line in before if line.startswith("[2/2] Second stage ")]], before
    assert len(before) <= 4 + 8
    first, second = (line for line in before if STAGE_LINE.match(line))
    assert " changed 1 " in first and " ok " in second
    # The summary as the default callback prints it, then the recap.
    after = "\n".join(lines[start:])
    assert "TASK [The end]" in after and "msg: all done" in after
    assert re.search(r"^localhost +: ok=7 +changed=1 .*ignored=1", after, re.M)
    # The log has Ansible's full output (and keeps no_log), the screen only the lines above.
    text = log.read_text()
    for expected in ("TASK [A long task]", "TASK [A loop]", "ok: [localhost] => (item=3)", "...ignoring",
                     "[WARNING]: careful: the disk is almost full", "TASK [The end]", "PLAY RECAP"):
        assert expected in text
    assert "TopSecret-42" not in text + run.stdout  # pragma: allowlist secret
    assert "TASK [A long task]" not in run.stdout


def test_a_failure_and_a_diff_are_shown_in_full(generated, tmp_path):
    (generated / "file.txt").write_text("old\n")
    run = _run(generated, "-e", "fail=true", "-e", "long=0", "--diff", log=tmp_path / "setup.log")
    assert run.returncode == 2, run.stdout
    out = run.stdout
    assert "  diff: Something changes [localhost]" in out and "-old" in out and "+new" in out
    assert "  FAILED: A check that can fail [localhost]" in out
    assert "msg: the bad thing named x" in out
    assert re.search(r"^\[2/2\] Second stage \.+ failed 1 ", out, re.M), out
    assert "PLAY [Summary play]" not in out  # the only host failed: nothing left to summarise
    assert "TASK [A loop]" not in out


def test_ansible_playbook_used_directly_keeps_the_default_output(generated):
    run = _run(generated, "-e", "long=0", stages_output=False)
    assert run.returncode == 0, run.stdout
    assert "TASK [A long task]" in run.stdout and "PLAY [One]" in run.stdout
    assert not re.search(r"^\[\d/\d\] ", run.stdout, re.M)


def test_bin_setup_refuses_an_unknown_output_mode_before_doing_anything():
    run = subprocess.run([str(ROOT / "bin" / "setup")], env={**os.environ, "DEVSTACK_OUTPUT": "short"},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert run.returncode == 2
    assert "DEVSTACK_OUTPUT must be 'stages' or 'full' (got 'short')" in run.stdout
