# One line per stage of setup.yml on the screen; Ansible's full output into the log file.
# bin/setup selects it (ANSIBLE_STDOUT_CALLBACK=devstack_stages); ansible-playbook used directly
# and the tests keep the default output.
from __future__ import annotations

DOCUMENTATION = """
    name: devstack_stages
    type: stdout
    short_description: one line per stage, the full output in the log file
    description:
        - A stage is an imported playbook of the playbook run (setup.yml imports one per service),
          named as its import_playbook entry names it; plays of the same file in a row are one stage.
        - On the screen, each stage ends with one line, its result (ok, changed N, failed N,
          unreachable N, skipped) and its time. Warnings, failures, unreachable hosts and diffs
          are printed in full as they happen, with the task's name and the host.
        - While one task runs longer than I(progress_interval) seconds, a line says it is still running.
        - Playbooks named in I(full_output_playbooks) (the summary) are shown exactly as the default
          callback shows them, and so is the PLAY RECAP.
        - Everything the default callback would print goes to Ansible's log file (log_path,
          ANSIBLE_LOG_PATH), whose path is printed at the start and at the end.
    extends_documentation_fragment:
      - default_callback
      - result_format_callback
    options:
      progress_interval:
        description: Seconds between the "still running" lines of a long task (the first after as many).
        type: float
        default: 20
        env:
          - name: DEVSTACK_PROGRESS_INTERVAL
      full_output_playbooks:
        description: File names of imported playbooks shown in full (the default callback's output).
        type: list
        elements: str
        default: [summary.yml]
        env:
          - name: DEVSTACK_FULL_OUTPUT_PLAYBOOKS
    requirements:
      - set as stdout callback (ANSIBLE_STDOUT_CALLBACK=devstack_stages), with log_path set for the full log
"""

import os
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field

import yaml

from ansible import constants as C
from ansible import context
from ansible.plugins.callback.default import CallbackModule as DefaultCallback

IMPORT_KEYS = ("import_playbook", "ansible.builtin.import_playbook")


# ---------------------------------------------------------------- pure logic (tests/test_stages_callback.py)


def format_duration(seconds: float) -> str:
    """`4.2 s` under a minute, else `2 min 05 s`."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


def import_names(playbook_file: str) -> dict[str, str]:
    """Absolute path of each imported playbook -> the name its import_playbook entry gives it."""
    try:
        with open(playbook_file, encoding="utf-8") as handle:
            entries = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return {}
    names: dict[str, str] = {}
    base = os.path.dirname(os.path.abspath(playbook_file))
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        target = next((entry[k] for k in IMPORT_KEYS if isinstance(entry.get(k), str)), None)
        if target and "{{" not in target:
            names.setdefault(os.path.normpath(os.path.join(base, target)), str(entry["name"]))
    return names


@dataclass
class StagePlan:
    """A stage: plays in a row from one file."""

    name: str
    path: str
    full: bool
    plays: list[str] = field(default_factory=list)
    number: int = 0  # 1-based among the stages shown as one line; 0 for a full-output stage


def plan_stages(plays: t.Iterable[tuple[str, str, str]], names: dict[str, str],
                full_files: t.Iterable[str]) -> list[StagePlan]:
    """Stages from the plays (uuid, file, play name) in order."""
    full_set = set(full_files)
    stages: list[StagePlan] = []
    for uuid, path, play_name in plays:
        if not stages or stages[-1].path != path or not path:
            stages.append(StagePlan(names.get(path) or play_name or "(play)", path,
                                    os.path.basename(path) in full_set))
        stages[-1].plays.append(uuid)
    number = 0
    for stage in stages:
        if not stage.full:
            number += 1
            stage.number = number
    return stages


@dataclass
class Tally:
    """Task results of one stage, counted as the PLAY RECAP counts them."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    ignored: int = 0

    def add(self, status: str, changed: bool = False) -> None:
        if status == "ok":
            self.ok += 1
            self.changed += int(changed)
        else:
            setattr(self, status, getattr(self, status) + 1)

    def result(self) -> str:
        """ok, changed N, failed N, unreachable N or skipped (nothing ran)."""
        bad = [f"{label} {n}" for label, n in (("failed", self.failed), ("unreachable", self.unreachable)) if n]
        if bad:
            return ", ".join(bad)
        if self.changed:
            return f"changed {self.changed}"
        if self.ok or self.ignored:
            return "ok"
        return "skipped"


def stage_line(number: int, total: int, name: str, result: str, seconds: float, width: int) -> str:
    """`[ 2/10] Docker host ......... changed 2       3.1 s`"""
    digits = len(str(total))
    dots = "." * max(2, width + 2 - len(name))
    return f"[{number:>{digits}}/{total}] {name} {dots} {result:<12} {format_duration(seconds):>10}"


class Progress:
    """The running task; says when it has run another interval."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.task: str | None = None
        self.started = 0.0
        self.next_at = 0.0
        self.items = 0

    def start(self, task: str, now: float) -> None:
        self.task, self.started, self.next_at, self.items = task, now, now + self.interval, 0

    def stop(self) -> None:
        self.task = None

    def item_done(self) -> None:
        self.items += 1

    def due(self, now: float) -> str | None:
        """The "still running" line when one is due, else None."""
        if self.task is None or self.interval <= 0 or now < self.next_at:
            return None
        while self.next_at <= now:
            self.next_at += self.interval
        items = f", {self.items} item{'s' if self.items != 1 else ''} done" if self.items else ""
        return f"  ... still running: {self.task} ({format_duration(now - self.started)}{items})"


def has_diff(loop: t.Any, result: t.Mapping[str, t.Any]) -> bool:
    """Whether the default callback prints a diff for this result (a changed one that has a diff)."""
    if loop and "results" in result:
        return any(r.get("diff") and r.get("changed", False) for r in result["results"])
    return bool(result.get("diff") and result.get("changed", False))


def summary_text(summary: t.Any) -> str:
    """The message of a warning, deprecation or error summary, formatted as Ansible does."""
    try:
        from ansible._internal._display_utils import format_message
        return format_message(summary, False).rstrip()
    except Exception:  # another ansible-core: the bare message
        return str(getattr(getattr(summary, "event", None), "msg", summary)).rstrip()


# ---------------------------------------------------------------- the callback


class _Screen:
    """The Display the default callback writes to: into the log only, unless `full` (then as usual).
    Warnings and errors it is given go back to the callback, which names their task and host."""

    def __init__(self, real: t.Any, owner: "CallbackModule") -> None:
        self._real = real
        self._owner = owner
        self.full = False

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._real, name)

    def display(self, msg: str, color: str | None = None, stderr: bool = False, screen_only: bool = False,
                log_only: bool = False, newline: bool = True, caplevel: int | None = None) -> None:
        if self.full:
            self._real.display(msg, color=color, stderr=stderr, screen_only=screen_only,
                               log_only=log_only, newline=newline, caplevel=caplevel)
        elif not screen_only:
            self._real.display(msg, color=color, stderr=stderr, log_only=True, newline=newline, caplevel=caplevel)

    def banner(self, msg: str, color: str | None = None, cows: bool = True) -> None:
        if self.full:
            self._real.banner(msg, color=color, cows=cows)
            return
        msg = msg.strip()
        self.display(f"\n{msg} {'*' * max(3, self._real.columns - len(msg))}", color=color)

    def _warning(self, warning: t.Any) -> None:
        if self.full:
            self._real._warning(warning)
        else:
            self._owner.report_warning("WARNING", warning)

    def _deprecated(self, deprecation: t.Any) -> None:
        if self.full:
            self._real._deprecated(deprecation)
        elif C.config.get_config_value("DEPRECATION_WARNINGS"):
            self._owner.report_warning("DEPRECATION WARNING", deprecation)

    def _error(self, error: t.Any, stderr: bool) -> None:
        if self.full:
            self._real._error(error, stderr)
        else:
            self._real.display(f"[ERROR]: {summary_text(error)}", log_only=True, caplevel=-1)


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "devstack_stages"

    def __init__(self, display: t.Any = None) -> None:
        super().__init__()
        self._out = display or self._display
        self._display = _Screen(self._out, self)
        self._lock = threading.RLock()
        self._stages: list[StagePlan] = []
        self._by_play: dict[str, StagePlan] = {}
        self._stage: StagePlan | None = None
        self._stage_started = 0.0
        self._tally = Tally()
        self._progress = Progress(20.0)
        self._task_name = ""
        self._host = ""
        self._begun: set[int] = set()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._width = 0

    # -- output

    def _say(self, line: str, color: str | None = None) -> None:
        """One line on the screen (not in the log: it has the full output)."""
        with self._lock:
            self._out.display(line, color=color, screen_only=True)
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass

    def _log_path(self) -> str | None:
        path = C.DEFAULT_LOG_PATH
        if not path:
            return None
        path = os.path.abspath(path)
        cwd = os.getcwd() + os.sep
        return path[len(cwd):] if path.startswith(cwd) else path

    def report_warning(self, label: str, summary: t.Any) -> None:
        text = summary_text(summary)
        self._out.display(f"[{label}]: {text}", log_only=True, caplevel=-2)
        where = f"{self._task_name} [{self._host}]" if self._host else self._task_name
        self._say(f"  [{label}] {where}: {text}" if where else f"  [{label}] {text}", color=C.COLOR_WARN)

    # -- stages

    def _end_stage(self) -> None:
        stage, self._stage = self._stage, None
        self._progress.stop()
        self._display.full = False
        if stage is None or stage.full:
            return
        result = self._tally.result()
        color = (C.COLOR_ERROR if ("failed" in result or "unreachable" in result)
                 else C.COLOR_CHANGED if result.startswith("changed")
                 else C.COLOR_SKIP if result == "skipped" else C.COLOR_OK)
        total = sum(1 for s in self._stages if not s.full)
        self._say(stage_line(stage.number, total, stage.name, result,
                             time.monotonic() - self._stage_started, self._width), color=color)

    def _begin_stage(self, stage: StagePlan) -> None:
        self._stage, self._stage_started, self._tally = stage, time.monotonic(), Tally()
        self._begun.add(id(stage))
        self._display.full = stage.full

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                line = self._progress.due(time.monotonic()) if self._stage and not self._stage.full else None
            if line:
                self._say(line)

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self._progress = Progress(float(self.get_option("progress_interval")))
        full_files = self.get_option("full_output_playbooks") or []
        names = import_names(playbook._file_name)
        plays = []
        for play in playbook.get_plays():
            path = play.get_path().rsplit(":", 1)[0]
            plays.append((play._uuid, os.path.normpath(path) if path else "", play.get_name().strip()))
        self._stages = plan_stages(plays, names, full_files)
        self._by_play = {uuid: stage for stage in self._stages for uuid in stage.plays}
        self._width = min(max((len(s.name) for s in self._stages if not s.full), default=0), 40)
        super().v2_playbook_on_start(playbook)
        log = self._log_path()
        check = " (check mode: nothing is changed)" if context.CLIARGS.get("check") else ""
        self._say(f"Full log: {log}{check}" if log else f"No log file (set ANSIBLE_LOG_PATH){check}")
        self._ticker = threading.Thread(target=self._tick, name="devstack-progress", daemon=True)
        self._ticker.start()

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        with self._lock:
            stage = self._by_play.get(play._uuid)
            if stage is None:  # not planned (should not happen): a stage of its own
                stage = StagePlan(play.get_name().strip() or "(play)", "", False, [play._uuid])
                stage.number = sum(1 for s in self._stages if not s.full) + 1
                self._stages.append(stage)
                self._by_play[play._uuid] = stage
            if stage is not self._stage:
                self._end_stage()
                self._begin_stage(stage)
        super().v2_playbook_on_play_start(play)

    def _task_started(self, task: t.Any) -> None:
        with self._lock:
            self._task_name = task.get_name().strip()
            self._progress.start(self._task_name, time.monotonic())

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        self._task_started(task)
        super().v2_playbook_on_task_start(task, is_conditional)

    def v2_playbook_on_handler_task_start(self, task: t.Any) -> None:
        self._task_started(task)
        super().v2_playbook_on_handler_task_start(task)

    # -- results

    def _context(self, result: t.Any) -> None:
        self._task_name = result.task.get_name().strip()
        self._host = self.host_label(result)

    def _in_full(self, headline: str, call: t.Callable[[], None]) -> None:
        """A failure or an unreachable host: a line naming it, then what the default callback prints."""
        self._say(headline, color=C.COLOR_ERROR)
        full, self._display.full = self._display.full, True
        try:
            with self._lock:
                call()
                sys.stdout.flush()
        finally:
            self._display.full = full

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._context(result)
        self._tally.add("ok", bool(result.result.get("changed", False)))
        super().v2_runner_on_ok(result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._context(result)
        self._tally.add("skipped")
        super().v2_runner_on_skipped(result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._context(result)
        self._tally.add("ignored" if ignore_errors else "failed")
        if ignore_errors or self._display.full:
            super().v2_runner_on_failed(result, ignore_errors)
            return
        self._in_full(f"  FAILED: {self._task_name} [{self._host}]",
                      lambda: DefaultCallback.v2_runner_on_failed(self, result, ignore_errors))

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._context(result)
        if result.task.ignore_unreachable:
            self._tally.add("ok")
        else:
            self._tally.add("unreachable")
        if self._display.full:
            super().v2_runner_on_unreachable(result)
            return
        self._in_full(f"  UNREACHABLE: {self._host} ({self._task_name})",
                      lambda: DefaultCallback.v2_runner_on_unreachable(self, result))

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._context(result)
        self._progress.item_done()
        super().v2_runner_item_on_ok(result)

    def v2_runner_item_on_skipped(self, result: t.Any) -> None:
        self._context(result)
        self._progress.item_done()
        super().v2_runner_item_on_skipped(result)

    def v2_runner_item_on_failed(self, result: t.Any) -> None:
        # The loop's own result that follows only says "One or more items failed": each item in full.
        self._context(result)
        self._progress.item_done()
        if result.task.ignore_errors or self._display.full:
            super().v2_runner_item_on_failed(result)
            return
        self._in_full(f"  FAILED: {self._task_name} [{self._host}] (item={self._get_item_label(result.result)})",
                      lambda: DefaultCallback.v2_runner_item_on_failed(self, result))

    def v2_on_file_diff(self, result: t.Any) -> None:
        # Asked for with --diff: shown in full, under the task's name and host.
        if self._display.full or not has_diff(result.task.loop, result.result):
            super().v2_on_file_diff(result)
            return
        self._context(result)
        self._say(f"  diff: {self._task_name} [{self._host}]")
        self._display.full = True
        try:
            with self._lock:
                super().v2_on_file_diff(result)
                sys.stdout.flush()
        finally:
            self._display.full = False

    # -- the end

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        self._stop.set()
        with self._lock:
            self._end_stage()
            left = [s.name for s in self._stages if not s.full and id(s) not in self._begun]
        if left:
            self._say(f"Not run: {', '.join(left)}", color=C.COLOR_SKIP)
        self._display.full = True
        super().v2_playbook_on_stats(stats)
        log = self._log_path()
        if log:
            self._say(f"Full log: {log}")
