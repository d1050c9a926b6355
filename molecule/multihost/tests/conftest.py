"""What the multihost suites share: this machine's engine, a throw-away client on the test
network (redis-cli, smbclient, curl), and how an inventory entry is reached."""

from __future__ import annotations

import os
import time
from pathlib import Path

import docker
import pytest
from devstack_testinfra import read_secret

ROOT = Path(os.environ["DEVSTACK_ROOT"])
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
NETWORK = "molecule-multihost"
DEAD_IP = "172.31.231.99"  # on the test network, nothing there
CLIENT_IMAGE = "devstack/molecule-host:bookworm"
CLIENT_LABEL = {"org.devstack.test": "molecule-multihost"}  # cleanup.yml removes leftovers
IMAGES = ["devstack/samba:4.17", "devstack/redis:7", "devstack/postgres:15", "devstack/web:latest"]
SECRETS = ["redis_password", "samba_dev_password", "postgres_password"]


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    """This machine's engine (the controller's), where only the VMs and the server run."""
    return docker.from_env()


@pytest.fixture(scope="session")
def client(engine):
    """A throw-away client machine on the test network: runs redis-cli, smbclient, curl."""
    box = engine.containers.run(CLIENT_IMAGE, ["sleep", "infinity"], detach=True, network=NETWORK,
                                labels=CLIENT_LABEL, auto_remove=False)

    def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        # A client that printed nothing at all (not even an error) did not get to talk: seen
        # once under CI load with redis-cli. It is asked again, up to three times; whatever
        # it then says is what the test judges.
        for attempt in range(3):
            code, out = box.exec_run(argv, environment=env or {})
            if out.strip():
                break
            time.sleep(2)
        return code, out.decode(errors="replace")

    yield run
    box.remove(force=True)


def entries(host) -> list[str]:
    """Every live inventory entry (three VMs and alice's stack)."""
    return host.ansible.get_variables()["groups"]["suzhou"]


def secret_of(name: str, secret: str) -> str:
    return read_secret(EPHEMERAL / "credentials" / name / secret)


def address(host) -> str:
    return host.ansible.get_variables()["ansible_host"]


def port(host, default: int) -> int:
    """A published port of this entry's stack: the default moved by devstack_port_offset."""
    return default + int(host.ansible.get_variables().get("devstack_port_offset", 0))


def stack(host) -> str:
    return host.ansible.get_variables().get("devstack_name", "devstack")


def web(host) -> str:
    return "web" if stack(host) == "devstack" else f"{stack(host)}-web"


def vm_container(engine, host):
    """The machine (container on this engine) at the entry's address."""
    for box in engine.containers.list(filters={"label": "owner=molecule"}):
        if box.attrs["NetworkSettings"]["Networks"].get(NETWORK, {}).get("IPAddress") == address(host):
            return box
    raise AssertionError(f"no machine at {address(host)}")


def smb_ls(client, host, password: str) -> tuple[int, str]:
    # smbclient reads the password from PASSWD, so it is not on a command line.
    return client(["smbclient", f"//{address(host)}/data", "-p", str(port(host, 445)), "-U", "dev", "-m", "SMB3", "-c", "ls"],
                  {"PASSWD": password})
