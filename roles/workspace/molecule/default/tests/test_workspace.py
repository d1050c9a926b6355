"""The work container as a developer meets it: files written over SMB by the share's user
are in /data, owned by dev and writable; a shell comes through docker exec; port 8000 is
published; and none of Samba's secrets reach it, whichever way /data is mounted."""

from __future__ import annotations

import json
import shlex
import time

import pytest

from devstack_testinfra import inspect, scenario_var

SAMBA_PORT = scenario_var("samba_port")
WEB_PORT = scenario_var("workspace_port")
STACK = scenario_var("devstack_name")
SAMBA = f"{STACK}-my-data"
VOLUME = f"{STACK}_data"
STATE_VOLUME = f"{STACK}_django_env"  # the workspace role's workspace_state_volume
WEB = f"{STACK}-web"  # /data: the named volume (default mode)
# The other two are the converge's own (converge.yml names them).
WEB_VF = "molecule-workspace-web-vf"  # /data: --volumes-from the data container
WEB_BIND = "molecule-workspace-web-bind"  # /data: a host folder
BIND_PATH = "/etc/devstack/molecule-workspace/bind"
SHARING = [WEB, WEB_VF]
ALL = [WEB, WEB_VF, WEB_BIND]


@pytest.fixture(scope="module")
def password(generated_secret) -> str:
    return generated_secret("samba_dev_password")


def smb(host, command: str, password: str):
    return host.run(f"PASSWD={shlex.quote(password)} smbclient //127.0.0.1/data -p {SAMBA_PORT} -U dev -m SMB3 "
                    f"-c {shlex.quote(command)}")


def run_in(host, container: str, command: str, *, user: str | None = None, stdin: str | None = None) -> dict:
    """Runs a shell command in a container (docker exec), arguments given as JSON."""
    args: dict = {"container": container, "argv": ["sh", "-c", command]}
    if user:
        args["user"] = user
    if stdin is not None:
        args["stdin"] = stdin
    return host.ansible("community.docker.docker_container_exec", json.dumps(args), check=False)


def out(host, container: str, command: str) -> str:
    result = run_in(host, container, command)
    assert result.get("rc") == 0, result
    return result["stdout"]


@pytest.fixture(scope="module")
def smb_file(host, password) -> str:
    host.run("printf 'from windows\\n' > /tmp/from-windows.txt")
    result = smb(host, "mkdir docs; put /tmp/from-windows.txt docs/from-windows.txt", password)
    assert result.rc == 0, result.stdout + result.stderr
    return "/data/docs/from-windows.txt"


@pytest.mark.parametrize("container", SHARING)
def test_file_written_over_smb_is_in_data_owned_by_dev(host, smb_file, container):
    assert out(host, container, f"cat {smb_file}") == "from windows"
    assert out(host, container, f"stat -c %u:%g {smb_file}") == "1000:1000"


@pytest.mark.parametrize("container", SHARING)
def test_file_written_over_smb_is_writable_in_the_work_container(host, smb_file, password, container):
    assert run_in(host, container, f"echo edited-in-{container} >> {smb_file}")["rc"] == 0
    assert smb(host, "get docs/from-windows.txt /tmp/back.txt", password).rc == 0
    assert f"edited-in-{container}" in host.file("/tmp/back.txt").content_string


@pytest.mark.parametrize("container", SHARING)
def test_file_written_in_the_work_container_is_served_over_smb(host, password, container):
    assert run_in(host, container, f"mkdir -p /data/code && echo print > /data/code/{container}.py")["rc"] == 0
    result = smb(host, f"get code/{container}.py /tmp/{container}.py", password)
    assert result.rc == 0, result.stderr
    assert host.file(f"/tmp/{container}.py").content_string == "print\n"


def test_bind_mode_shares_a_host_folder(host):
    assert run_in(host, WEB_BIND, "echo from-container > /data/made-inside.txt")["rc"] == 0
    made = host.file(f"{BIND_PATH}/made-inside.txt")
    assert made.content_string == "from-container\n"
    assert (made.uid, made.gid) == (1000, 1000)
    host.run(f"echo from-host > {BIND_PATH}/made-outside.txt")
    assert out(host, WEB_BIND, "cat /data/made-outside.txt") == "from-host"


@pytest.mark.parametrize("container", ALL)
def test_stays_up_under_an_init_process(host, container):
    config = inspect(host, container)
    assert config["State"]["Running"]
    assert config["HostConfig"]["Init"] is True
    assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert out(host, container, "cat /proc/1/comm") == "docker-init"
    assert config["Config"]["Labels"]["org.devstack.stack"] == "molecule-workspace"


@pytest.mark.parametrize("container", ALL)
def test_a_shell_comes_through_docker_exec(host, container):
    assert out(host, container, "exec bash -c 'id -un; id -g; pwd'").split() == ["dev", "1000", "/data"]


def test_port_8000_is_published_on_loopback(host):
    run_in(host, WEB, "nohup python3 -m http.server 8000 --bind 0.0.0.0 >/dev/null 2>&1 &")
    deadline = time.monotonic() + 20
    while (code := host.run(f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{WEB_PORT}/").stdout) != "200" \
            and time.monotonic() < deadline:
        time.sleep(1)
    assert code == "200"
    assert not host.socket(f"tcp://0.0.0.0:{WEB_PORT}").is_listening
    run_in(host, WEB, "pkill -f http.server")


def test_each_work_container_mounts_only_its_data(host):
    def mounts(container: str) -> dict[str, tuple]:
        return {m["Destination"]: (m["Type"], m.get("Name") or m["Source"]) for m in inspect(host, container)["Mounts"]}

    # /data, plus the Django environment's own state volume (venv, env file), nothing else.
    state = ("volume", STATE_VOLUME)
    assert mounts(WEB) == {"/data": ("volume", VOLUME), "/home/dev/.devstack": state}
    assert mounts(WEB_VF) == {"/data": ("volume", VOLUME), "/home/dev/.devstack": state}
    assert mounts(WEB_BIND) == {"/data": ("bind", BIND_PATH), "/home/dev/.devstack": state}
    assert inspect(host, WEB_VF)["HostConfig"]["VolumesFrom"] == [SAMBA]


@pytest.mark.parametrize("container", ALL)
def test_no_samba_secret_reaches_the_work_container(host, password, container):
    samba_files = "/etc/samba/devstack-users /etc/samba/smb.conf /root/.smb-health /var/lib/samba/private/passdb.tdb"
    present = run_in(host, container, f"for f in {samba_files}; do test ! -e $f || echo $f; done", user="root")
    assert present["rc"] == 0 and present["stdout"] == "", f"Samba's files in {container}: {present['stdout']}"
    # The password itself, anywhere a file could carry it (read from stdin, not a command line).
    found = run_in(host, container, "grep -rlsF -f - /etc /root /home /var /run /tmp /data /opt /srv",
                   user="root", stdin=password)
    assert found["stdout"].strip() == "" and found["rc"] != 0, found
    assert password not in json.dumps(inspect(host, container))
