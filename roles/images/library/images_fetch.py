#!/usr/bin/python
"""Runs one rsync fetch on the Docker host and ends it when the transfer stalls.

rsync's own --timeout does not end a pull whose server stops sending while the link stays
up: the client's generator keeps writing keep-alives to the server, and each successful
write counts as I/O (RsyncProject/rsync#164). So this module watches the bytes arriving:
rsync's temporary file (.<tarball>.XXXXXX beside the tarball), the tarball and its partial
file. When none of them changes for stall_timeout seconds, rsync's process group gets
SIGTERM: rsync keeps what arrived in --partial-dir and exits, and the task's `until` tries
again, resuming from it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: images_fetch
short_description: Run an rsync fetch, ending it when no data arrives for a while
description:
  - Runs O(argv) and watches the size of O(dest), of rsync's temporary files beside it and of
    its partial file in O(partial_dir); when none changes for O(stall_timeout) seconds, the
    rsync process group is sent SIGTERM (rsync keeps the partial file) and the result says
    RV(stalled).
options:
  argv:
    description: The rsync command line.
    type: list
    elements: str
    required: true
  dest:
    description: The file rsync writes (the tarball).
    type: path
    required: true
  partial_dir:
    description: rsync's --partial-dir.
    type: path
    required: true
  stall_timeout:
    description: Seconds without a byte arriving after which rsync is ended.
    type: int
    required: true
"""

RETURN = r"""
rc: {description: rsync's exit status (20 when ended for a stall), type: int, returned: always}
stdout: {description: rsync's output, type: str, returned: always}
stderr: {description: rsync's errors, and the stall when there was one, type: str, returned: always}
stalled: {description: rsync was ended because no data arrived for stall_timeout seconds, type: bool, returned: always}
seconds: {description: how long rsync ran, type: float, returned: always}
"""

POLL = 0.5


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


def progress_marker(dest: str, partial_dir: str) -> tuple[int, int, int]:
    """What has arrived so far: the sizes of rsync's temporary files for dest, of dest and of
    its partial file. Any change is progress."""
    folder, name = os.path.split(dest)
    temp = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(f".{name}."):
                    temp += _size(entry.path)
    except OSError:
        pass
    return temp, _size(dest), _size(os.path.join(partial_dir, name))


def run(argv: list[str], dest: str, partial_dir: str, stall_timeout: float) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    marker, quiet_since, stalled = progress_marker(dest, partial_dir), started, False
    while True:
        try:
            out, err = proc.communicate(timeout=POLL)
            break
        except subprocess.TimeoutExpired:
            now = progress_marker(dest, partial_dir)
            if now != marker:
                marker, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= stall_timeout:
                stalled = True
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    out, err = proc.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    out, err = proc.communicate()
                break
    if stalled:
        err += f"\nimages_fetch: no data arrived for {stall_timeout} s; the stalled transfer was ended\n"
    return {"rc": proc.returncode, "stdout": out, "stderr": err, "stalled": stalled,
            "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "argv": {"type": "list", "elements": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "partial_dir": {"type": "path", "required": True},
            "stall_timeout": {"type": "int", "required": True},
        },
        supports_check_mode=False,
    )
    params = module.params
    if params["stall_timeout"] < 1:
        module.fail_json(msg=f"images_fetch: stall_timeout must be at least 1, got {params['stall_timeout']}")
    result = run(params["argv"], params["dest"], params["partial_dir"], params["stall_timeout"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
