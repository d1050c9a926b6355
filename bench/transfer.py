#!/usr/bin/env python3
"""What a Docker host receives from the image server for the stack's catalog (bench/transfer).

The four catalog images are saved as the image server holds them (`docker save`, uncompressed,
as playbooks/publish_images.yml writes them) and served by an SSH server in a container
(devstack/sshd-host) on a network of the bench's own. This machine fetches every tarball with
rsync over SSH, the way the images role's `load` source does, once without compression and once
with `--compress --compress-choice=zstd` (images_server_compress, the default), each on a link
limited with `--bwlimit` (a thin link to Suzhou). It reports the bytes on the wire (rsync's
"Total bytes received"), the time, and the catalog's `docker save | gzip` size beside them.
Everything it starts is removed at the end.

  bench/transfer [--bwlimit KiB/s] [--rounds N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGES = ["devstack/samba:4.17", "devstack/redis:7", "devstack/postgres:15", "devstack/web:latest"]
SERVER_IMAGE = "devstack/sshd-host:bookworm"
NETWORK, SUBNET, SERVER_IP = "benchtransfer", "172.31.233.0/24", "172.31.233.10"
SERVER = "bench-transfer-server"
LABEL = "org.devstack.test=bench-transfer"
MODES = {"uncompressed": [], "zstd": ["--compress", "--compress-choice=zstd"]}


def sh(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, **kwargs)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed (rc {done.returncode}):\n{done.stdout[-3000:]}")
    return done


def gzip_bytes(ref: str) -> int:
    save = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
    gz = subprocess.Popen(["gzip", "-c"], stdin=save.stdout, stdout=subprocess.PIPE)
    save.stdout.close()
    total = sum(len(chunk) for chunk in iter(lambda: gz.stdout.read(1 << 20), b""))
    if save.wait() != 0 or gz.wait() != 0:
        sys.exit(f"bench: docker save {ref} | gzip failed (playbooks/images.yml builds it)")
    return total


def down() -> None:
    subprocess.run(["docker", "rm", "-f", SERVER], capture_output=True, check=False)
    subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)


def fetch(work: Path, tarball: str, mode: list[str], bwlimit: int) -> tuple[float, int]:
    dest = work / "received"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    ssh = (f"ssh -i {work / 'id_ed25519'} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no "
           "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
    start = time.monotonic()
    done = sh(["rsync", "--times", "--stats", "--no-human-readable", f"--bwlimit={bwlimit}", f"--rsh={ssh}", *mode,
               f"root@{SERVER_IP}:/srv/images/{tarball}", str(dest) + "/"])
    took = time.monotonic() - start
    return took, int(re.search(r"^Total bytes received: (\d+)", done.stdout, re.M)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bwlimit", type=int, default=20000, help="the link, in KiB/s (rsync --bwlimit)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of both modes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-transfer."))
    try:
        (work / "srv").mkdir()
        sizes, gzipped = {}, {}
        for ref in IMAGES:
            tarball = ref.replace("/", "_").replace(":", "_") + ".tar"
            sh(["docker", "save", "-o", str(work / "srv" / tarball), ref])
            sizes[tarball] = (work / "srv" / tarball).stat().st_size
            gzipped[tarball] = gzip_bytes(ref)
            print(f"{ref:24s} tarball {sizes[tarball] / 1e6:8.1f} MB, docker save | gzip {gzipped[tarball] / 1e6:7.1f} MB",
                  flush=True)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "id_ed25519")])
        down()
        sh(["docker", "network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK])
        sh(["docker", "run", "-d", "--name", SERVER, "--label", LABEL, "--network", NETWORK, "--ip", SERVER_IP,
            "-v", f"{work / 'srv'}:/srv/images:ro", "-v", f"{work / 'id_ed25519.pub'}:/root/.ssh/authorized_keys:ro",
            SERVER_IMAGE])
        deadline = time.monotonic() + 60
        while subprocess.run(["ssh-keyscan", "-T", "2", SERVER_IP], capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                sys.exit("bench: the image server's sshd did not answer within 60 s")
            time.sleep(1)
        results: dict[str, list[tuple[float, int]]] = {m: [] for m in MODES}
        for _ in range(args.rounds):
            for mode, options in MODES.items():
                took = received = 0
                for tarball in sizes:
                    t, r = fetch(work, tarball, options, args.bwlimit)
                    took, received = took + t, received + r
                results[mode].append((took, received))
                print(f"{mode:12s} {received / 1e6:8.1f} MB on the wire, {took:6.1f} s at --bwlimit={args.bwlimit}",
                      flush=True)
    finally:
        down()
        shutil.rmtree(work, ignore_errors=True)
    total, gz = sum(sizes.values()), sum(gzipped.values())
    print(f"\n| catalog ({len(IMAGES)} images) | MB on the wire | x `docker save \\| gzip` | s at --bwlimit={args.bwlimit} KiB/s |")
    print("| --- | --- | --- | --- |")
    print(f"| tarballs (what the server holds) | {total / 1e6:.1f} | {total / gz:.2f} | |")
    print(f"| `docker save \\| gzip` | {gz / 1e6:.1f} | 1.00 | |")
    for mode, rows in results.items():
        received = statistics.median(r for _, r in rows)
        took = statistics.median(t for t, _ in rows)
        print(f"| rsync, {mode} | {received / 1e6:.1f} | {received / gz:.2f} | {took:.1f} |")


if __name__ == "__main__":
    main()
