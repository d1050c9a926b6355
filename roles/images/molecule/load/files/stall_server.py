#!/usr/bin/env python3
"""Stalls the image server in the middle of a transfer, for the load scenario's side effect.

Run on the controller (docker SDK, as Molecule's driver) while the role fetches a tarball into
the instance: once the instance's rsync temp file holds --stop-at bytes, every `rsync --server
--sender` in the server container is stopped (SIGSTOP): sshd and the TCP link stay up, no more
data comes, so only rsync's --timeout can end the try. It then waits for the try to end (rsync
moves what arrived into the partial folder) and for the retry's new server process, ends the
stopped processes (SIGCONT, SIGKILL, by PID) and prints what it saw as JSON:

  stopped_pids, size_at_stop (temp file when stopped), partial_size (what the broken try kept),
  stall_seconds (stop to the end of the try), retry_seconds (stop to the retry's server process)
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import docker

SENDERS = r"""for d in /proc/[0-9]*; do
  c=$(tr '\000' ' ' < "$d/cmdline" 2>/dev/null) || continue
  case "$c" in "rsync --server --sender "*) echo "${d#/proc/}";; esac
done"""


def sh(container, script: str) -> str:
    return container.exec_run(["sh", "-c", script]).output.decode().strip()


def size(container, pattern: str) -> int:
    out = sh(container, f"stat -c %s {pattern} 2>/dev/null | head -n 1")
    return int(out) if out.isdigit() else -1


def wait(what: str, probe, deadline: float):
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--stop-at", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--wait", type=float, default=120)
    args = parser.parse_args()

    client = docker.from_env()
    instance = client.containers.get(args.instance)
    server = client.containers.get(args.server)
    temp = f"{args.work_dir}/tarballs/.{args.file}.*"
    partial = f"{args.work_dir}/partial/{args.file}"
    deadline = time.monotonic() + args.wait
    out: dict = {"stopped_pids": []}
    try:
        wait(f"{args.stop_at} bytes in {temp}", lambda: size(instance, temp) >= args.stop_at, deadline)
        pids = sh(server, SENDERS).split()
        if not pids:
            raise RuntimeError("no rsync --server --sender in the server container")
        sh(server, "kill -STOP " + " ".join(pids))
        stopped = time.monotonic()
        out.update(stopped_pids=pids, size_at_stop=size(instance, temp))
        out["partial_size"] = wait(f"the partial file {partial}", lambda: max(size(instance, partial), 0), deadline)
        out["stall_seconds"] = round(time.monotonic() - stopped, 1)
        wait("the retry's rsync --server", lambda: set(sh(server, SENDERS).split()) - set(pids), deadline)
        out["retry_seconds"] = round(time.monotonic() - stopped, 1)
    except (TimeoutError, RuntimeError) as error:
        out["error"] = str(error)
    finally:
        if out["stopped_pids"]:
            pids = " ".join(out["stopped_pids"])
            sh(server, f"kill -CONT {pids}; sleep 0.5; kill -KILL {pids} 2>/dev/null; true")
    print(json.dumps(out))
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
