#!/usr/bin/env python3
"""One benchmark of setup.yml beside docker-compose, run on this machine (bench/run).

Every measure is taken `--rounds` times, interleaved (A B A B ...: a slow minute of the machine
hits both sides), and reported as its median. The bench stack is its own: devstack_name
`bench`, every port moved by 23000, its credentials under bench/results/; the compose
baseline is project `benchcompose`, ports moved by 24000. Both are removed at the end (their
volumes too: they hold nothing but the bench's own data).

  (a) the idempotent re-run of setup.yml, beside (d) `docker-compose up -d` with nothing to do;
  (b) one-change re-runs: one value of the Django environment, one Redis setting (each round
      flips the value, so each run has exactly one change to make);
  (c) cold setup with the images present and no container or volume, to HTTP 200 on the web
      port, beside compose `up -d` from nothing and the same pip install alone;
  (f) the bytes of every shipped image as `docker save | gzip` (what goes to Suzhou), and the
      whole catalog's sum (`--images-only` measures this alone, without the stack);
  (e) setup.yml over SSH on 1, 4 and 8 remote hosts with engines of their own (bench/remote.py):
      the idempotent re-run's T(N)/T(1). `--hosts 0` leaves it out.

Writes bench/results.md with the machine's facts and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable

from remote import RemoteHosts

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STACK, OFFSET = "bench", 23000
WEB_PORT = 8000 + OFFSET
SETUP = ["ansible-playbook", "setup.yml", "-e", f"devstack_name={STACK}", "-e", f"devstack_port_offset={OFFSET}",
         "-e", f"devstack_credentials_dir={RESULTS / 'credentials'}"]
COMPOSE_PROJECT, COMPOSE_OFFSET = "benchcompose", 24000

COMPOSE_FILE = """\
version: "2.4"
# The same four containers as setup.yml makes (the project's images, the data container shared
# with --volumes-from, named volumes), declared for docker-compose: the baseline.
services:
  my-data:
    image: devstack/samba:4.17
    volumes: [data:/data, ./smb.conf:/etc/samba/smb.conf:ro, ./users:/etc/samba/devstack-users:ro]
    ports: ["127.0.0.1:{smb}:445"]
  redis:
    image: devstack/redis:7
    command: [redis-server, --port, "6379", --appendonly, "yes"]
    volumes: [redis:/data]
    ports: ["127.0.0.1:{redis}:6379"]
  postgres:
    image: devstack/postgres:15
    environment: {{POSTGRES_USER: django, POSTGRES_DB: django, POSTGRES_PASSWORD_FILE: /run/secrets/pw}}
    volumes: [postgres:/var/lib/postgresql/data, ./pw:/run/secrets/pw:ro]
    ports: ["127.0.0.1:{pg}:5432"]
  web:
    image: devstack/web:latest
    volumes_from: [my-data]
    ports: ["127.0.0.1:{web}:8000"]
volumes: {{data: {{}}, redis: {{}}, postgres: {{}}}}
"""


def run(argv: list[str], cwd: Path = ROOT, check: bool = True) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"})
    took = time.monotonic() - start
    if check and done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed (rc {done.returncode}):\n{done.stdout[-4000:]}")
    return took, done.stdout


def controller_seconds() -> float:
    """CPU seconds of this process's finished children: ansible-playbook with its forked workers
    and ssh clients, the controller's side of a run, without the hosts' own."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def tasks_per_host(output: str) -> int:
    """Tasks one host went through in a run (ok + skipped + changed of its recap line)."""
    recap = output.split("PLAY RECAP")[-1]
    found = re.search(r"ok=(\d+)\s+changed=(\d+).*?skipped=(\d+)", recap)
    return sum(int(n) for n in found.groups()) if found else 0


def floor_playbook(path: Path, count: int) -> Path:
    """A playbook of `count` set_fact tasks: Ansible's own cost per task and host, with no module
    call and nothing to compare; what any playbook of that many tasks costs at the least."""
    tasks = [{"name": f"task {i}", "ansible.builtin.set_fact": {"bench_floor": i}} for i in range(count)]
    path.write_text(json.dumps([{"name": "Ansible alone", "hosts": "all", "gather_facts": False, "tasks": tasks}]))
    return path


def busy_seconds() -> float:
    """CPU seconds this machine's processors have been busy (not idle, not waiting on I/O) since
    boot, from /proc/stat: every process counts, the remote hosts' (containers on this kernel)
    and the controller's alike."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def changed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def wait_http(port: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"bench: no HTTP 200 on 127.0.0.1:{port} within {timeout} s")


def teardown() -> None:
    run(["ansible-playbook", "playbooks/teardown.yml", "-e", f"devstack_name={STACK}",
         "-e", "purge=true", "-e", f"purge_confirm={STACK}"], check=False)


class Compose:
    def __init__(self) -> None:
        if not shutil.which("docker-compose"):
            run(["apt-get", "install", "-y", "-q", "docker-compose"])
        self.dir = Path(tempfile.mkdtemp(prefix="bench-compose."))
        o = COMPOSE_OFFSET
        (self.dir / "docker-compose.yml").write_text(
            COMPOSE_FILE.format(smb=445 + o, redis=7777 + o, pg=5432 + o, web=8000 + o))
        (self.dir / "pw").write_text("bench-only-password\n")
        os.chmod(self.dir / "pw", 0o644)
        (self.dir / "smb.conf").write_text("[global]\n  server min protocol = SMB2\n[data]\n  path = /data\n")
        (self.dir / "users").write_text("")

    def up(self) -> float:
        return run(["docker-compose", "-p", COMPOSE_PROJECT, "up", "-d"], cwd=self.dir)[0]

    def down(self) -> None:
        run(["docker-compose", "-p", COMPOSE_PROJECT, "down", "-v"], cwd=self.dir, check=False)

    def pip_install(self) -> float:
        """The sample's requirements into a new virtualenv in compose's web, with an empty pip
        cache as setup.yml's cold run has: the pip install setup.yml also does. This machine's
        CA certificates (a TLS-inspecting proxy's) are trusted in the container first, as
        setup.yml does with django_env_ca_certificates; that part is not timed."""
        script = ("set -e; rm -rf /tmp/venv; python3 -m venv /tmp/venv; "
                  "/tmp/venv/bin/pip install -q --disable-pip-version-check --no-cache-dir -r /tmp/requirements.txt")
        req = ROOT / "roles/django_env/files/sample/requirements.txt"
        web = f"{COMPOSE_PROJECT}_web_1"
        run(["docker", "cp", str(req), f"{web}:/tmp/requirements.txt"])
        for cert in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt")):
            run(["docker", "cp", str(cert), f"{web}:/usr/local/share/ca-certificates/{cert.name}"])
        run(["docker", "exec", "-u", "root", web, "update-ca-certificates"])
        env = ["-e", "PIP_CERT=/etc/ssl/certs/ca-certificates.crt"]
        return run(["docker", "exec", *env, web, "sh", "-c", script])[0]


SHIPPED = ["devstack/redis:7", "devstack/samba:4.17", "devstack/web:latest", "devstack/postgres:15",
           "devstack/mailcatcher:1"]


def image_bytes() -> dict[str, tuple[int, int]]:
    """Per shipped image: (bytes of `docker save | gzip`, the engine's size in bytes)."""
    sizes = {}
    for ref in SHIPPED:
        save = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
        gz = subprocess.run(["gzip", "-c"], stdin=save.stdout, stdout=subprocess.PIPE, check=True)
        save.stdout.close()
        if save.wait() != 0:
            sys.exit(f"bench: docker save {ref} failed (bin/setup or playbooks/images.yml builds it)")
        engine = int(run(["docker", "image", "inspect", "--format", "{{.Size}}", ref])[1].strip())
        sizes[ref] = (len(gz.stdout), engine)
        print(f"f {ref:26s} {len(gz.stdout) / 1e6:8.1f} MB gzip {engine / 1e6:8.1f} MB in the engine", flush=True)
    return sizes


def image_lines(sizes: dict[str, tuple[int, int]]) -> list[str]:
    lines = ["", "| image | docker save \\| gzip MB | engine MB |", "| --- | --- | --- |"]
    lines += [f"| {ref} | {gz / 1e6:.1f} | {engine / 1e6:.1f} |" for ref, (gz, engine) in sizes.items()]
    lines.append(f"| whole catalog | {sum(gz for gz, _ in sizes.values()) / 1e6:.1f} | "
                 f"{sum(engine for _, engine in sizes.values()) / 1e6:.1f} |")
    return lines


def machine(rounds: int) -> str:
    return (f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
            f"{run(['docker', 'version', '--format', 'Docker {{.Server.Version}}'])[1].strip()}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of {rounds} interleaved rounds.")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-cold", action="store_true", help="leave out (c), the longest part")
    parser.add_argument("--images-only", action="store_true", help="only (f), the images' bytes")
    parser.add_argument("--hosts", type=int, default=8, help="(e) on 1, 4 and this many remote hosts; 0 leaves it out")
    parser.add_argument("--only-hosts", action="store_true", help="only (e) and (f), without the local stack")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    sizes = image_bytes()
    if args.images_only:
        lines = ["# Benchmark results: image bytes only", "", machine(0), *image_lines(sizes)]
        (ROOT / "bench" / "results.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    times: dict[str, list[float]] = {}

    def note(name: str, seconds: float, extra: str = "") -> None:
        times.setdefault(name, []).append(seconds)
        print(f"{name:28s} {seconds:7.2f} s {extra}", flush=True)

    if not args.only_hosts:
        local(args, note)
        report(args.rounds, times, sizes)
    counts = sorted({n for n in (1, 4, args.hosts) if 0 < n <= args.hosts})
    if counts:
        hosts = RemoteHosts(args.hosts, RESULTS)
        try:
            print(f"== setting up {args.hosts} remote hosts (VMs with engines of their own, over SSH)", flush=True)
            hosts.up()
            hosts.converge(run, ["ansible-playbook", "setup.yml"])
            floor = None
            for i in range(args.rounds):
                for n in counts:
                    busy, own = busy_seconds(), controller_seconds()
                    took, out = hosts.rerun(run, ["ansible-playbook", "setup.yml"], n)
                    busy, own = busy_seconds() - busy, controller_seconds() - own
                    note(f"e re-run on {n} hosts", took, f"changed={changed(out)}")
                    note(f"e CPU s used on {n} hosts", busy)
                    note(f"e controller CPU s on {n} hosts", own)
                    # The same number of tasks, each a set_fact, on the same hosts: Ansible's floor.
                    floor = floor or floor_playbook(RESULTS / "hosts" / "floor.json", tasks_per_host(out))
                    took, _ = hosts.rerun(run, ["ansible-playbook", str(floor)], n)
                    note(f"e Ansible alone on {n} hosts", took)
        finally:
            hosts.down()
        report(args.rounds, times, sizes)


def local(args: argparse.Namespace, note: Callable[..., None]) -> None:
    """(a) to (d): the bench stack on this machine's engine beside the compose baseline."""
    compose = Compose()
    try:
        print("== setting up the bench stack and the compose baseline", flush=True)
        run(SETUP)
        compose.down()
        compose.up()
        for i in range(args.rounds):
            took, out = run(SETUP)
            note("a setup.yml re-run", took, f"changed={changed(out)}")
            note("d compose up -d no-op", compose.up())
        def values(django: str, redis: str) -> list[str]:
            return ["-e", json.dumps({"django_env_extra_env": {"BENCH_VALUE": django}, "redis_maxmemory": redis})]

        django, redis = "start", "0"
        run([*SETUP, *values(django, redis)])
        for i in range(args.rounds):
            django = f"bench-{i}"
            took, out = run([*SETUP, *values(django, redis)])
            note("b one Django env value", took, f"changed={changed(out)}")
            redis = f"{64 + i}mb"
            took, out = run([*SETUP, *values(django, redis)])
            note("b one Redis setting", took, f"changed={changed(out)}")
        run(SETUP)
        if not args.skip_cold:
            for i in range(args.rounds):
                teardown()
                start = time.monotonic()
                run(SETUP)
                wait_http(WEB_PORT)
                note("c cold setup.yml to 200", time.monotonic() - start)
                compose.down()
                note("d compose up -d cold", compose.up())
                note("d pip install alone", compose.pip_install())
    finally:
        compose.down()
        shutil.rmtree(compose.dir, ignore_errors=True)
        teardown()


def report(rounds: int, times: dict[str, list[float]], sizes: dict[str, tuple[int, int]]) -> None:
    """bench/results.md from what has been measured so far (written after each part)."""
    m = {name: median(values) for name, values in times.items()}
    lines = ["# Benchmark results", "", machine(rounds), "",
             "| measure | median s | all runs s |", "| --- | --- | --- |"]
    lines += [f"| {name} | {m[name]:.2f} | {' '.join(f'{v:.1f}' for v in values)} |" for name, values in times.items()]
    lines += ["", "| ratio | value | target |", "| --- | --- | --- |"]
    if "a setup.yml re-run" in m:
        lines += [f"| idempotent re-run / compose no-op | {m['a setup.yml re-run'] / m['d compose up -d no-op']:.1f}× | ≤ 10× |",
                  f"| idempotent re-run | {m['a setup.yml re-run']:.1f} s | ≤ 5 s |",
                  f"| one-change re-run (worst) | {max(m['b one Django env value'], m['b one Redis setting']):.1f} s | ≤ 10 s |"]
    if "c cold setup.yml to 200" in m:
        budget = m["d compose up -d cold"] + m["d pip install alone"] + 30
        lines.append(f"| cold setup / (compose cold + pip + 30 s) | {m['c cold setup.yml to 200']:.1f} s / {budget:.1f} s | ≤ 1 |")
    counts = sorted(int(name.split()[3]) for name in m if name.startswith("e re-run on "))
    lines += [f"| T({n})/T(1), idempotent re-run over SSH | {m[f'e re-run on {n} hosts'] / m['e re-run on 1 hosts']:.2f} | "
              f"{'≤ 1.5' if n == max(counts) else ''} |" for n in counts[1:]]
    # The same number of set_fact tasks on the same hosts: what Ansible itself scales like here.
    lines += [f"| T({n})/T(1), Ansible alone (as many set_fact tasks, same hosts) | "
              f"{m[f'e Ansible alone on {n} hosts'] / m['e Ansible alone on 1 hosts']:.2f} | |"
              for n in counts[1:] if f"e Ansible alone on {n} hosts" in m]
    # The hosts are containers on this machine's processors: a run on N of them cannot take less
    # than the CPU seconds it used divided by the processors, however parallel it is.
    lines += [f"| T({n}) floor here: CPU s used / {os.cpu_count()} processors | "
              f"{m[f'e CPU s used on {n} hosts'] / (os.cpu_count() or 1):.1f} s (T({n}) {m[f'e re-run on {n} hosts']:.1f} s) | |"
              for n in counts if f"e CPU s used on {n} hosts" in m]
    # With hosts of their own processors (real Suzhou hosts), the controller's share alone remains.
    lines += [f"| T({n}) floor with hosts of their own: controller CPU s / {os.cpu_count()} processors | "
              f"{m[f'e controller CPU s on {n} hosts'] / (os.cpu_count() or 1):.1f} s | |"
              for n in counts if f"e controller CPU s on {n} hosts" in m]
    lines += image_lines(sizes)
    (ROOT / "bench" / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
