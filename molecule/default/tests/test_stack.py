"""The whole stack as a developer meets it: the Django page over HTTP, the share with
smbclient, Redis with redis-cli, mail through Django into the catcher, and verify.yml."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import docker
import pytest

STACK = "molecule-stack"
WEB, DATA, REDIS = f"{STACK}-web", f"{STACK}-my-data", f"{STACK}-redis"
WORKER = f"{STACK}-worker-celery"
ROOT = Path(os.environ["DEVSTACK_ROOT"])
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def exec_in(host, container: str, command: str) -> dict:
    return host.ansible(
        "community.docker.docker_container_exec",
        json.dumps({"container": container, "argv": ["bash", "-lc", command]}),
        check=False,
    )


def test_django_page_is_translated_and_wired(host):
    page = host.run("curl -fsS http://127.0.0.1:17880/")
    assert page.rc == 0, page.stderr
    assert "来自团队开发环境的问候" in page.stdout
    assert 'id="visit-count"' in page.stdout


def test_health_reports_database_and_cache_ok(host):
    health = json.loads(host.check_output("curl -fsS http://127.0.0.1:17880/health/"))
    assert health["status"] == "ok"
    assert health["database"] == "ok" and health["database_vendor"] == "postgresql"
    assert health["cache"] == "ok" and health["cache_backend"] == "RedisCache"


def test_file_written_over_smb_is_in_the_work_container(host, generated_secret):
    password = generated_secret("samba_dev_password")
    host.run_expect([0], "printf 'from windows\\n' > /tmp/stack-probe.txt")
    put = host.run(f"smbclient //127.0.0.1/data -p 17445 -U 'dev%{password}' -m SMB3 -c 'put /tmp/stack-probe.txt stack-probe.txt'")
    assert put.rc == 0, put.stdout + put.stderr
    seen = exec_in(host, WEB, "stat -c '%u:%g' /data/stack-probe.txt && cat /data/stack-probe.txt")
    assert seen["stdout"].splitlines() == ["1000:1000", "from windows"]


def test_guest_is_refused_on_the_share_where_dev_is_served(host, generated_secret):
    # The same client, address and port serve dev and refuse a guest (no user and no password,
    # or the user guest with none) with smbd's own answer: a wrong port, a missing smbclient or
    # a share that is down fail here instead of passing as a refusal.
    password = generated_secret("samba_dev_password")
    served = host.run(f"smbclient //127.0.0.1/data -p 17445 -U 'dev%{password}' -m SMB3 -c ls")
    assert served.rc == 0, served.stdout + served.stderr
    for login in ("-N", "-U 'guest%'"):
        refused = host.run(f"smbclient //127.0.0.1/data -p 17445 {login} -m SMB3 -c ls")
        output = refused.stdout + refused.stderr
        assert refused.rc != 0, login
        assert re.search(r"NT_STATUS_(ACCESS_DENIED|LOGON_FAILURE)", output), f"{login}: {output}"


def test_redis_needs_its_password(host, generated_secret):
    password = generated_secret("redis_password")
    assert host.check_output(f"REDISCLI_AUTH={password} redis-cli --no-auth-warning -p 17790 PING") == "PONG"
    assert "NOAUTH" in host.run("redis-cli -p 17790 SET x 1").stdout


def test_login_shell_has_venv_environment_and_project(host):
    out = exec_in(host, WEB, "command -v python; pwd; echo ${DATABASE_URL%%:*}; python manage.py check")
    lines = out["stdout"].splitlines()
    assert lines[0].endswith("/venv/bin/python")
    assert lines[1].startswith("/data/")
    assert lines[2] in ("postgres", "postgresql")
    assert "System check identified no issues" in out["stdout"]


def test_mail_from_django_reaches_the_catcher(host):
    sent = exec_in(host, WEB, "python manage.py sendtestemail newcomer@example.com")
    assert sent["rc"] == 0, sent
    messages = json.loads(host.check_output("curl -fsS http://127.0.0.1:17825/api/v1/messages"))
    recipients = json.dumps(messages)
    assert "newcomer@example.com" in recipients


def test_no_secret_in_docker_inspect_or_bashrc(host, generated_secret):
    secrets = [generated_secret(n) for n in ("redis_password", "postgres_password", "samba_dev_password")]
    for name in (WEB, DATA, REDIS, f"{STACK}-postgres", f"{STACK}-mailpit"):
        info = json.dumps(host.ansible("community.docker.docker_container_info", f"name={name}", check=False)["container"])
        assert not any(s in info for s in secrets), name
    bashrc = exec_in(host, WEB, "cat ~/.bashrc")["stdout"]
    assert not any(s in bashrc for s in secrets)


def info_of(host, name: str) -> dict:
    return host.ansible("community.docker.docker_container_info", f"name={name}", check=False)["container"]


def test_a_celery_task_round_trips_through_the_stacks_redis(host):
    sent = exec_in(host, WEB, 'python -c "from sample.celery import add; print(add.delay(2, 3).get(timeout=60))"')
    assert sent["rc"] == 0, sent
    assert sent["stdout"].strip().splitlines()[-1] == "5"
    logs = docker.from_env().containers.get(WORKER).logs().decode()   # what `docker logs` shows
    assert "sample.celery.add" in logs and "succeeded" in logs, logs[-2000:]


def test_the_worker_shares_the_work_containers_data_and_keeps_secrets_out_of_inspect(host, generated_secret):
    worker, web = info_of(host, WORKER), info_of(host, WEB)
    assert worker["State"]["Running"]
    assert worker["Config"]["Image"] == web["Config"]["Image"]
    assert worker["HostConfig"]["VolumesFrom"] == [WEB]
    assert sorted(m["Destination"] for m in worker["Mounts"]) == sorted(m["Destination"] for m in web["Mounts"])
    assert worker["Config"]["User"] == "dev"
    assert worker["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert worker["HostConfig"]["Init"] is True
    key = worker["Config"]["Labels"]["org.devstack.restart-key"]
    assert len(key) == 16 and int(key, 16) >= 0
    secrets = [generated_secret(n) for n in ("redis_password", "postgres_password")]
    assert not any(s in json.dumps(worker) for s in secrets)


def playbook(play: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), play, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )


def verify(*extra: str) -> subprocess.CompletedProcess[str]:
    return playbook("playbooks/verify.yml", *extra)


def test_a_changed_environment_recreates_the_worker(host):
    before = info_of(host, WORKER)["Id"]
    changed = playbook("setup.yml", "--tags", "django_env,worker",
                       "-e", json.dumps({"django_env_extra_env": {"DEVSTACK_WORKER_PROBE": "1"}}))
    assert changed.returncode == 0, changed.stdout[-3000:]
    after = info_of(host, WORKER)
    assert after["Id"] != before and after["State"]["Running"]
    # Every process of the worker (docker-init, celery and its pool) and its environment.
    probe = exec_in(host, WORKER, "for p in $(pgrep -f 'celery -A'); do tr '\\0' '\\n' < /proc/$p/environ; done")
    assert "DEVSTACK_WORKER_PROBE=1" in probe["stdout"]
    # Back to the scenario's environment: re-created once more (idempotence with the worker on
    # is molecule's own idempotence step).
    back = playbook("setup.yml", "--tags", "django_env,worker")
    assert back.returncode == 0, back.stdout[-3000:]
    assert info_of(host, WORKER)["Id"] != after["Id"]


def test_every_container_rotates_its_log_whatever_the_engine_says(host):
    # Issue 12: the engine need not be the docker_host role's (one that sets no log limits lets
    # a log fill the disk), so each container carries its own rotation. The scenario asks for
    # 20m x 2, not what this machine's daemon.json says (10m x 3): the containers carry the role's.
    for name in (WEB, DATA, REDIS, f"{STACK}-postgres", f"{STACK}-mailpit", WORKER):
        log = info_of(host, name)["HostConfig"]["LogConfig"]
        assert log == {"Type": "json-file", "Config": {"max-size": "20m", "max-file": "2"}}, (name, log)


def test_verify_playbook_passes_on_the_stack():
    result = verify()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "containers running and" in result.stdout


def test_verify_names_images_older_than_the_limit_with_the_refresh():
    # Issue 12: an image has only the security fixes Debian had when it was built. With the limit
    # at 0 days every image of the stack is older than it, and each is named with the refresh.
    result = verify("-e", "devstack_image_max_age_days=0")
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    for image in ("devstack/samba:4.17", "devstack/redis:7", "devstack/postgres:15", "devstack/web:latest"):
        assert f"{image} was built 0 days ago (more than devstack_image_max_age_days=0)" in said, said[-3000:]
    assert "ansible-playbook playbooks/images.yml -e images_refresh=$(date +%F)" in said
    refused = verify("-e", "devstack_image_max_age_days=-1")
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0 and "devstack_image_max_age_days must be a whole number of days" in said, said[-2000:]


@pytest.fixture()
def redis_stopped(host):
    host.ansible("community.docker.docker_container", f"name={REDIS} state=stopped", check=False)
    yield
    host.ansible("community.docker.docker_container", f"name={REDIS} state=started", check=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = host.ansible("community.docker.docker_container_info", f"name={REDIS}", check=False)
        if info["container"]["State"]["Health"]["Status"] == "healthy":
            break
        time.sleep(2)


def test_verify_names_what_is_wrong_and_the_fix(redis_stopped):
    result = verify()
    said = " ".join((result.stdout + result.stderr).split())  # the YAML callback folds long lines
    assert result.returncode != 0
    assert f"{REDIS} is exited: docker start {REDIS}" in said
    assert "Redis does not answer on 127.0.0.1:17790" in said


def gateway_of_stack_network() -> str:
    network = docker.from_env().networks.get(STACK)
    return network.attrs["IPAM"]["Config"][0]["Gateway"]


def test_the_debug_toolbar_shows_through_the_published_port_and_only_there(host):
    # The browser's request arrives from the stack network's gateway; django_env writes it to
    # DJANGO_INTERNAL_IPS, which the sample's INTERNAL_IPS reads.
    env = exec_in(host, WEB, "echo $DJANGO_INTERNAL_IPS")["stdout"].strip().split(",")
    assert gateway_of_stack_network() in env and "127.0.0.1" in env, env
    page = host.run("curl -fsS http://127.0.0.1:17880/")
    assert page.rc == 0, page.stderr
    assert 'id="djDebug"' in page.stdout, page.stdout[-2000:]
    # From another container of the network (the worker: its own address, not the gateway), no toolbar.
    fetch = ("import urllib.request; r = urllib.request.Request('http://%s:8000/', headers={'Host': 'localhost'}); "
             "print(urllib.request.urlopen(r, timeout=20).read().decode())" % WEB)
    other = exec_in(host, WORKER, f'python3 -c "{fetch}"')
    assert other["rc"] == 0, other
    assert 'id="greeting"' in other["stdout"] and 'id="djDebug"' not in other["stdout"]


def test_editor_configurations_name_the_work_container_user_project_and_interpreter(host):
    hosts = sorted((EPHEMERAL / "editors").iterdir())   # one folder per Docker host: the instance
    assert len(hosts) == 1, hosts
    folder = hosts[0]
    vscode = json.loads((folder / "nameConfigs" / f"{WEB}.json").read_text())
    assert vscode["workspaceFolder"] == "/data/sample"
    assert vscode["remoteUser"] == "dev"
    assert vscode["forwardPorts"] == [8000]
    python = vscode["settings"]["python.defaultInterpreterPath"]
    assert python == "/home/dev/.devstack/venv/bin/python"
    assert exec_in(host, WEB, f"test -x {python} && test -f {vscode['workspaceFolder']}/manage.py")["rc"] == 0
    # VS Code attaches as remoteUser, in workspaceFolder: the interpreter runs the project there.
    user = exec_in(host, WEB, f"cd {vscode['workspaceFolder']} && id -un && {python} -c 'import django, debug_toolbar'")
    assert user["rc"] == 0 and user["stdout"].split()[0] == vscode["remoteUser"], user
    note = (folder / f"pycharm-{WEB}.md").read_text()
    for value in (f"`{WEB}`", "`/data/sample`", f"`{python}`", "http://localhost:17880/", f"--network {STACK} "):
        assert value in note, value
