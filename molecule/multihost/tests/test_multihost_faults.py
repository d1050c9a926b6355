"""Faults injected on purpose into a Suzhou VM's running stack (issue 12), each with nothing lost:
the share's main process killed, the Docker daemon restarted, the VM rebooted (the wiki's own
complaint: "after a reboot, start Samba by hand"). 1,000 files are written over SMB first and
read back over SMB after each fault, their sha256 compared; the share, Django and Redis answer
real clients again without anyone running a command.

Runs for every inventory entry: each VM's default stack, and alice's beside it on molecule-sz-2
(whose VM is then rebooted once for each of its two stacks); after test_multihost.py (the file
name sorts after it), so the other suites see the stacks as converge left them."""

from __future__ import annotations

import time

import pytest

from conftest import address, port, secret_of, stack, vm_container, web

FILES = 1000
# Generated in the client box: 1,000 files of random sizes in 10 folders, a few Chinese names.
MAKE_FILES = r"""
set -e
rm -rf /tmp/faults && mkdir -p /tmp/faults/src && cd /tmp/faults/src
i=0
while [ $i -lt 1000 ]; do
  d="folder $((i % 10))"; mkdir -p "$d"
  if [ $((i % 97)) -eq 0 ]; then n="报告 $i.txt"; else n="file-$i.bin"; fi
  head -c $(( (i * 7919) % 16384 )) /dev/urandom > "$d/$n"
  i=$((i + 1))
done
find . -type f -print0 | sort -z | xargs -0 sha256sum > /tmp/faults/expected.sha256
"""
READ_BACK = r"""
set -e
rm -rf /tmp/faults/back && mkdir -p /tmp/faults/back
smbclient "//$ADDR/data" -p "$PORT" -U dev -m SMB3 -c 'prompt OFF; recurse ON; cd faults; lcd /tmp/faults/back; mget *' >/dev/null
cd /tmp/faults/back && sha256sum --quiet -c /tmp/faults/expected.sha256 && find . -type f | wc -l
"""


def smb_env(host) -> dict[str, str]:
    return {"PASSWD": secret_of(host.backend.get_hostname(), "samba_dev_password"),
            "ADDR": address(host), "PORT": str(port(host, 445))}


@pytest.fixture(scope="module")
def written(host, client):
    """The 1,000 files, put on the share in a folder `faults`; removed at the end."""
    code, out = client(["bash", "-c", MAKE_FILES])
    assert code == 0, out
    code, out = client(["bash", "-c", 'smbclient "//$ADDR/data" -p "$PORT" -U dev -m SMB3 '
                        "-c 'mkdir faults; cd faults; prompt OFF; recurse ON; lcd /tmp/faults/src; mput *'"],
                       smb_env(host))
    assert code == 0, out
    yield
    client(["bash", "-c", 'smbclient "//$ADDR/data" -p "$PORT" -U dev -m SMB3 -c "deltree faults"'], smb_env(host))


def files_intact(host, client) -> int:
    code, out = client(["bash", "-c", READ_BACK], smb_env(host))
    assert code == 0, out[-2000:]
    return int(out.strip().splitlines()[-1])


def stack_answers(host, client, timeout: float = 240) -> float:
    """Waits until the share lists, Django's /health/ is ok and Redis answers PONG, as clients
    on the network see them; returns the seconds it took."""
    start = time.monotonic()
    redis = secret_of(host.backend.get_hostname(), "redis_password")
    checks = {
        "share": (["bash", "-c", 'smbclient "//$ADDR/data" -p "$PORT" -U dev -m SMB3 -c ls'], smb_env(host), "blocks available"),
        "django": (["curl", "-fsS", "--max-time", "10", f"http://{address(host)}:{port(host, 8000)}/health/"], {},
                   '"status": "ok"'),
        "redis": (["redis-cli", "--no-auth-warning", "-h", address(host), "-p", str(port(host, 7777)), "PING"],
                  {"REDISCLI_AUTH": redis}, "PONG"),
    }
    waiting = dict(checks)
    last: dict[str, str] = {}
    while waiting:
        for name, (argv, env, wanted) in list(waiting.items()):
            code, out = client(argv, env)
            last[name] = out
            if code == 0 and wanted in out:
                del waiting[name]
        if waiting and time.monotonic() - start > timeout:
            raise AssertionError(f"not back after {timeout} s: {sorted(waiting)}: {last}\n{diagnosis(host)}")
        if waiting:
            time.sleep(3)
    return time.monotonic() - start


def diagnosis(host) -> str:
    """What the VM's engine says of the entry's containers, for a stack that did not come back."""
    lines = [host.run("docker ps --all --format '{{.Names}} {{.Status}}'").stdout]
    for name in containers(host):
        lines.append(f"--- docker logs --tail 15 {name}\n" + host.run(f"docker logs --tail 15 {name} 2>&1").stdout)
    return "\n".join(lines)


def data(host) -> str:
    return "my-data" if stack(host) == "devstack" else f"{stack(host)}-my-data"


def containers(host) -> list[str]:
    """The entry's stack: its share, Redis, PostgreSQL and work container."""
    return [data(host), f"{stack(host)}-redis", f"{stack(host)}-postgres", web(host)]


def running(host) -> dict[str, str]:
    out = host.check_output("docker ps --all --format '{{.Names}} {{.State}}'")
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_the_share_comes_back_when_its_process_is_killed(host, client, written):
    count = f"docker inspect --format '{{{{.RestartCount}}}}' {data(host)}"
    before = int(host.check_output(count))
    pid = host.check_output(f"docker inspect --format '{{{{.State.Pid}}}}' {data(host)}")
    host.run_expect([0], f"kill -9 {pid}")   # as the OOM killer or a crash would
    took = stack_answers(host, client)
    assert int(host.check_output(count)) == before + 1
    assert files_intact(host, client) == FILES
    print(f"share back {took:.1f} s after its process was killed")


def test_the_stack_keeps_running_through_a_docker_daemon_restart(host, client, written):
    ids = {name: host.check_output(f"docker inspect --format '{{{{.Id}}}}' {name}") for name in containers(host)}
    host.run_expect([0], "systemctl restart docker")
    took = stack_answers(host, client)
    states = running(host)
    assert all(states[name] == "running" for name in containers(host)), states
    # live-restore (the docker_host role's daemon.json): the same containers, not new ones.
    assert {name: host.check_output(f"docker inspect --format '{{{{.Id}}}}' {name}") for name in containers(host)} == ids
    assert files_intact(host, client) == FILES
    # The DOCKER-USER rules (docker_host role) are still there, once each.
    assert host.check_output("/usr/local/sbin/devstack-docker-user check") == "ok"
    assert host.check_output("iptables -S DOCKER-USER").count("devstack-direct-to-container") == 2
    print(f"stack answering {took:.1f} s after the daemon restart")


def test_the_whole_stack_is_back_after_the_vm_reboots(host, client, engine, written):
    vm = vm_container(engine, host)
    vm.restart(timeout=60)      # systemd shuts down (the engine and its containers), then boots
    deadline = time.monotonic() + 180
    while True:
        try:
            if host.run("systemctl is-system-running --wait").stdout.strip() in ("running", "degraded"):
                break
        except Exception:       # noqa: BLE001 - sshd is not up yet
            pass
        assert time.monotonic() < deadline, "the VM did not finish booting within 180 s"
        time.sleep(3)
    took = stack_answers(host, client)
    states = running(host)
    assert all(states[name] == "running" for name in containers(host)), states
    assert files_intact(host, client) == FILES
    # Django's page reads PostgreSQL and counts in Redis, as before the reboot.
    code, page = client(["curl", "-fsS", "--max-time", "20", f"http://{address(host)}:{port(host, 8000)}/"])
    assert code == 0 and 'id="visit-count">' in page, page[-1000:]
    assert host.run(f"docker exec {web(host)} true").rc == 0
    # The engine's drop-in put the DOCKER-USER rules back at boot (the kernel forgot them).
    assert host.check_output("iptables -S DOCKER-USER").count("devstack-direct-to-container") == 2
    print(f"stack answering {took:.1f} s after the VM booted")
