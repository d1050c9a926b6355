"""The share as a Windows user meets it: smbclient on the Docker host against the
published port, with the users' passwords, a guest, and an SMB1 client; and smbclient in
throw-away containers at addresses samba_hosts_allow lists and does not."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable

import docker
import pytest
from docker.types import IPAMConfig, IPAMPool

from devstack_testinfra import converge_again, health
from devstack_testinfra import inspect as inspect_container
from devstack_testinfra import scenario_var

PORT = scenario_var("samba_port")
NETBIOS_PORT = scenario_var("samba_netbios_port")
STACK = scenario_var("devstack_name")
CONTAINER = f"{STACK}-my-data"
VOLUME = f"{STACK}_data"
IMAGE = "devstack/samba:4.17"
ALICE_PASSWORD = "alice-from-vault-0123456789"  # pragma: allowlist secret
SMB1 = "--option='client min protocol=NT1' --option='client max protocol=NT1'"
HOSTS_ALLOW = scenario_var("samba_hosts_allow")
# A network of the tests' own with a subnet they choose, joined by the data container while
# they run: throw-away clients on it get the addresses below. Labelled with the stack, so the
# scenario's cleanup removes anything a crashed test left.
CLIENTS = f"{STACK}-clients"
CLIENTS_SUBNET = "172.31.234.0/24"
LISTED_IP = "172.31.234.70"  # in 172.31.234.64/26, which the scenario lists
UNLISTED_IP = "172.31.234.10"
STACK_LABELS = {"org.devstack.project": "devstack", "org.devstack.stack": STACK}


@pytest.fixture(scope="module")
def dev_password(generated_secret) -> str:
    return generated_secret("samba_dev_password")


def smb(host, command: str, *, user: str | None, password: str | None = None, port: int = PORT,
        options: str = "-m SMB3"):
    """smbclient against the share; the password travels in PASSWD, not on its command line."""
    auth = f"PASSWD={shlex.quote(password)} " if password is not None else ""
    who = f"-U {user}" if user else "-N"
    return host.run(f"{auth}smbclient //127.0.0.1/data -p {port} {who} {options} -c {shlex.quote(command)}")


def exec_in(host, command: str) -> str:
    """Output of a shell command run in the data container (docker exec, arguments as JSON)."""
    args = {"container": CONTAINER, "argv": ["sh", "-c", command]}
    result = host.ansible("community.docker.docker_container_exec", json.dumps(args), check=False)
    assert result.get("rc") == 0, result
    return result["stdout"]


def inspect(host) -> dict:
    return inspect_container(host, CONTAINER)


def test_user_with_generated_password_writes_and_reads_back(host, dev_password):
    host.run("printf 'hello over smb\\n' > /tmp/hello.txt")
    assert smb(host, "put /tmp/hello.txt hello.txt", user="dev", password=dev_password).rc == 0
    got = smb(host, "get hello.txt /tmp/hello-back.txt", user="dev", password=dev_password)
    assert got.rc == 0, got.stderr
    assert host.file("/tmp/hello-back.txt").content_string == "hello over smb\n"


def test_files_are_owned_by_the_mapped_user(host, dev_password):
    smb(host, "mkdir owned; put /tmp/hello.txt owned/f.txt", user="dev", password=dev_password)
    assert exec_in(host, "stat -c %u:%g:%a /data/owned /data/owned/f.txt").split() == [
        "1000:1000:775", "1000:1000:664"]


def test_user_with_vault_password_logs_in(host):
    assert smb(host, "ls", user="alice", password=ALICE_PASSWORD).rc == 0


def test_wrong_password_is_refused(host):
    result = smb(host, "ls", user="dev", password="not-the-password-at-all")
    assert result.rc != 0
    assert "NT_STATUS_LOGON_FAILURE" in result.stdout + result.stderr


def test_guest_is_refused(host):
    result = smb(host, "ls", user=None)
    assert result.rc != 0
    assert "NT_STATUS_ACCESS_DENIED" in result.stdout + result.stderr or "LOGON_FAILURE" in result.stdout + result.stderr
    assert smb(host, "ls", user="guest", password="").rc != 0


def test_smb1_negotiation_is_refused(host, dev_password):
    result = smb(host, "ls", user="dev", password=dev_password, options=SMB1)
    assert result.rc != 0
    assert "protocol negotiation failed" in result.stdout + result.stderr


def test_smb2_02_is_refused_smb2_10_accepted(host, dev_password):
    assert smb(host, "ls", user="dev", password=dev_password,
               options="--option='client max protocol=SMB2_02'").rc != 0
    assert smb(host, "ls", user="dev", password=dev_password,
               options="--option='client max protocol=SMB2_10'").rc == 0


def test_sessions_are_signed_and_encryption_is_offered(host, dev_password):
    # Issue 12: the configuration smbd loaded requires signing ("mandatory", which testparm names
    # "required") and offers encryption, and a client that insists on encryption writes and reads
    # (with `server smb encrypt = off` it gets "Encryption required and server doesn't support SMB3
    # encryption - failing connect").
    loaded = exec_in(host, "testparm -s --parameter-name='server signing' 2>/dev/null; "
                           "testparm -s --parameter-name='server smb encrypt' 2>/dev/null")
    assert loaded.split() == ["required", "desired"], loaded
    encrypted = smb(host, "put /tmp/hello.txt encrypted.txt; get encrypted.txt /tmp/encrypted-back.txt",
                    user="dev", password=dev_password, options="-m SMB3 --client-protection=encrypt")
    assert encrypted.rc == 0, encrypted.stderr
    assert host.file("/tmp/encrypted-back.txt").content_string == "hello over smb\n"


def test_netbios_session_port_serves_the_share(host, dev_password):
    assert smb(host, "ls", user="dev", password=dev_password, port=NETBIOS_PORT).rc == 0


def test_published_on_loopback_only(host):
    for port in (PORT, NETBIOS_PORT):
        assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_file_survived_recreation_of_the_container(host, dev_password):
    # side_effect.yml wrote it, removed the container and converged again.
    got = smb(host, "get survivor.txt /tmp/survivor-back.txt", user="dev", password=dev_password)
    assert got.rc == 0, got.stderr
    assert host.file("/tmp/survivor-back.txt").content_string == "written-before-recreate\n"


def test_share_came_back_by_itself_after_smbd_died(host):
    # side_effect.yml killed PID 1 inside the container.
    assert health(host, CONTAINER) == "healthy"
    config = inspect(host)
    assert config["RestartCount"] >= 1
    assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_only_the_listed_users_are_in_the_passdb(host):
    assert sorted(line.split(":")[0] for line in exec_in(host, "pdbedit -L").split()) == ["alice", "dev"]


def test_data_volume_is_the_only_mount(host):
    mounts = inspect(host)["Mounts"]
    assert [(m["Type"], m.get("Name"), m["Destination"]) for m in mounts] == [("volume", VOLUME, "/data")]


def test_image_declares_no_volume(host):
    image = host.ansible("community.docker.docker_image_info", f"name={IMAGE}", check=False)["images"][0]
    assert not image["Config"]["Volumes"]


def test_volume_is_labelled(host):
    info = host.ansible("community.docker.docker_volume_info", f"name={VOLUME}", check=False)
    assert info["exists"]
    assert info["volume"]["Labels"] == {
        "org.devstack.project": "devstack", "org.devstack.stack": "molecule-samba", "org.devstack.role": "samba"}


def test_users_file_is_root_only_inside(host):
    assert exec_in(host, "stat -c %U:%G:%a /etc/samba/devstack-users /root/.smb-health").split() == [
        "root:root:600", "root:root:600"]


def test_passwords_are_not_in_docker_inspect(host, dev_password):
    dumped = json.dumps(inspect(host))
    assert dev_password not in dumped
    assert ALICE_PASSWORD not in dumped


# --- samba_hosts_allow (issue 12) ---------------------------------------------------------
# The tests above (smbclient on the Docker host, through the published 127.0.0.1 port) pass
# with the scenario's samba_hosts_allow, which does not list the address they arrive from:
# the role added the stack network's gateway, Docker's port proxy's source address.


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    """The instance's engine: its socket is this machine's (the shared Molecule instance)."""
    return docker.from_env()


@pytest.fixture(scope="module")
def clients(engine) -> Callable[[str | None], dict]:
    """Runs smbclient (alice, `ls`) in a throw-away container at a given address on the tests'
    own network, or at the address Docker gives it on the stack network (None), against the
    data container's address on that network. Returns {code, output, source (the client's
    address), denials (smbd's "Denied connection" log lines written meanwhile)}."""
    for old in engine.networks.list(names=[CLIENTS]):
        old.remove()
    network = engine.networks.create(CLIENTS, driver="bridge", labels=STACK_LABELS,
                                     ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=CLIENTS_SUBNET)]))

    def run(address: str | None) -> dict:
        on = CLIENTS if address else STACK
        data = engine.containers.get(CONTAINER)
        if address and CLIENTS not in data.attrs["NetworkSettings"]["Networks"]:
            network.connect(data)  # again after a converge re-created the container
            data.reload()
        target = data.attrs["NetworkSettings"]["Networks"][on]["IPAddress"]
        config = {on: engine.api.create_endpoint_config(ipv4_address=address)} if address else None
        since = int(time.time()) - 1
        box = engine.containers.run(IMAGE, entrypoint=["sleep", "infinity"], detach=True, network=on,
                                    networking_config=config, labels=STACK_LABELS)
        try:
            code, out = box.exec_run(["smbclient", f"//{target}/data", "-U", "alice", "-m", "SMB3", "-c", "ls"],
                                     environment={"PASSWD": ALICE_PASSWORD})
            box.reload()
            source = box.attrs["NetworkSettings"]["Networks"][on]["IPAddress"]
        finally:
            box.remove(force=True)
        log = data.logs(since=since).decode(errors="replace")
        return {"code": code, "output": out.decode(errors="replace"), "source": source,
                "denials": [line for line in log.splitlines() if "Denied connection from" in line]}

    yield run
    data = engine.containers.get(CONTAINER)
    if CLIENTS in data.attrs["NetworkSettings"]["Networks"]:
        network.disconnect(data, force=True)
    network.remove()


def denied(result: dict) -> bool:
    """smbclient was turned away, and smbd's log says smbd refused this client's address. smbd
    answers a refused client with a negative session response and hangs up; smbclient 4.17
    reports "protocol negotiation failed: NT_STATUS_INVALID_NETWORK_RESPONSE"."""
    return (result["code"] != 0 and "NT_STATUS_INVALID_NETWORK_RESPONSE" in result["output"]
            and any(f"({result['source']})" in line for line in result["denials"]))


def allowed(result: dict) -> bool:
    """smbclient listed the share, and smbd refused nobody meanwhile."""
    return result["code"] == 0 and "blocks of size" in result["output"] and not result["denials"]


def stack_gateways(engine) -> list[str]:
    return [c["Gateway"] for c in engine.networks.get(STACK).attrs["IPAM"]["Config"] if c.get("Gateway")]


def test_configuration_allows_only_loopback_the_gateway_and_the_list(host, engine):
    # What smbd loaded: testparm -s prints [global]'s `hosts allow = a b c` and `hosts deny = ALL`.
    loaded = exec_in(host, "testparm -s 2>/dev/null")
    lines = dict(line.strip().split(" = ", 1) for line in loaded.splitlines() if line.strip().startswith("hosts "))
    gateways = stack_gateways(engine)
    assert gateways, "the stack network has no gateway"
    assert lines.get("hosts allow", "").split() == [
        "127.0.0.1", "::1", *gateways, "172.31.234.64/255.255.255.192",
        "fd00:5a3b::/ffff:ffff:ffff:ffff:ffff:ffff:ffff:0"], loaded
    assert lines.get("hosts deny") == "ALL", loaded


def test_a_listed_address_is_served_an_unlisted_one_refused_by_smbd(clients):
    # The same command and user; only the client's address differs.
    listed = clients(LISTED_IP)
    assert listed["source"] == LISTED_IP and allowed(listed), listed
    unlisted = clients(UNLISTED_IP)
    assert unlisted["source"] == UNLISTED_IP and denied(unlisted), unlisted


def test_another_container_on_the_stack_network_is_refused(clients):
    result = clients(None)
    assert denied(result), result


def test_changing_the_list_restarts_smbd_with_it(engine, clients):
    started = engine.containers.get(CONTAINER).attrs["State"]["StartedAt"]
    changed = converge_again("-e", json.dumps({"samba_hosts_allow": [*HOSTS_ALLOW, UNLISTED_IP]}))
    assert all(count > 0 for count in changed.values()), changed
    assert engine.containers.get(CONTAINER).attrs["State"]["StartedAt"] != started
    result = clients(UNLISTED_IP)
    assert allowed(result), result
    # The scenario's own list again: refused again.
    assert all(count > 0 for count in converge_again().values())
    result = clients(UNLISTED_IP)
    assert denied(result), result
