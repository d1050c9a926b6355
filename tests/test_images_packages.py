"""The images role's `load` source needs rsync on the Docker host: a minimal host without it
(and without apt's Python binding) gets both installed; a host where they cannot be installed
stops before anything changes, with a message naming rsync and the host. Each host is a
throw-away container without a network (packages come from apt's cache, or from nowhere)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from conftest import playbook

LABEL = {"org.devstack.test": "pytest-images-packages"}
# Entries of source `load` and a listing that does not have them: the run goes to the image
# server, which needs rsync first (the server's name is never resolved: rsync comes first).
EXTRA = {
    "images_catalog": [{"name": "pytest-images-packages/payload", "tag": "1", "source": "load"}],
    "images_server_host": "images.example.test",
    "images_server_trust": "accept-new",
    "images_host_images": [{"Id": "sha256:" + "0" * 64, "RepoTags": ["pytest-images-packages/other:1"]}],
    "service_packages_retries": 0,
}


@pytest.fixture
def minimal_host(docker_client: docker.DockerClient, tmp_path: Path, request) -> Iterator[tuple[str, Path]]:
    image, name = request.param
    box = docker_client.containers.run(image, ["sleep", "infinity"], name=name, detach=True, network_mode="none",
                                       labels=LABEL, entrypoint=[])
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"children": {"docker_hosts": {"hosts": {name: {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}}}}))
    try:
        yield name, inventory
    finally:
        box.remove(force=True)


def installed(docker_client: docker.DockerClient, name: str, package: str) -> bool:
    # dpkg-query prints a status for a package it knows; Docker 20.10 now and then loses a short
    # exec's output (exit 0, nothing read): asked up to three times.
    for _ in range(3):
        code, out = docker_client.containers.get(name).exec_run(["dpkg-query", "-W", "-f=${db:Status-Status}", package])
        if code != 0 or out.strip():
            break
    return code == 0 and out.decode() == "installed"


# The project's base (minbase + python3) with no package source left: nothing can be installed.
@pytest.mark.parametrize("minimal_host", [("devstack/base:bookworm", "pytest-images-norsync")], indirect=True)
def test_a_host_where_rsync_cannot_be_installed_is_named_with_rsync(docker_client, minimal_host):
    name, inventory = minimal_host
    docker_client.containers.get(name).exec_run(
        ["sh", "-c", "rm -rf /etc/apt/sources.list /etc/apt/sources.list.d/* /var/lib/apt/lists/*"])
    result = playbook("-i", inventory, "playbooks/images.yml", "-e", json.dumps(EXTRA))
    assert result.returncode != 0
    message = next(line for line in result.output.splitlines() if "needed on" in line)
    assert "images: rsync needed on pytest-images-norsync" in message, message
    assert "apt-get install" in message and "sudo" in message, message
    assert result.recap()[name]["changed"] == 0, result.output[-3000:]
    assert not installed(docker_client, name, "rsync")
    code, _ = docker_client.containers.get(name).exec_run(["test", "-e", "/var/lib/devstack"])
    assert code != 0  # the work folder comes after rsync: nothing was made


# The test VM's image: a minimal Debian with the packages the project installs in apt's cache
# (downloaded, not installed), so no mirror is needed.
@pytest.mark.parametrize("minimal_host", [("devstack/molecule-vm:bookworm", "pytest-images-getsrsync")],
                         indirect=True)
def test_a_host_without_rsync_and_python3_apt_gets_them(docker_client, minimal_host):
    name, inventory = minimal_host
    assert not installed(docker_client, name, "rsync") and not installed(docker_client, name, "python3-apt")
    result = playbook("-i", inventory, "playbooks/images.yml", "-e", json.dumps(EXTRA))
    # Installed, then the image server (a name that resolves nowhere, no network) is not reached.
    assert installed(docker_client, name, "rsync") and installed(docker_client, name, "python3-apt"), result.output[-3000:]
    assert result.returncode != 0
    assert "cannot read /srv/devstack/images/SHA256SUMS on the image server" in result.output, result.output[-3000:]
    assert "could not be installed" not in result.output
    # Installed once: a second run finds them (and the key made by the first) and changes nothing.
    again = playbook("-i", inventory, "playbooks/images.yml", "-e", json.dumps(EXTRA))
    assert again.recap()[name]["changed"] == 0, again.output[-3000:]


@pytest.mark.parametrize("minimal_host", [("devstack/molecule-vm:bookworm", "pytest-images-checkmode")], indirect=True)
@pytest.mark.parametrize("key", [{}, {"images_server_identity_file": "/root/.ssh/id_ed25519"}], ids=["own-key", "operators-key"])
def test_check_mode_on_a_minimal_host_says_what_it_would_do_and_changes_nothing(docker_client, minimal_host, key):
    name, inventory = minimal_host
    result = playbook("-i", inventory, "playbooks/images.yml", "--check", "-e", json.dumps({**EXTRA, **key}))
    assert result.returncode == 0, result.output[-3000:]
    assert "images would install rsync on pytest-images-checkmode" in result.output, result.output[-3000:]
    assert "would fetch and load pytest-images-packages/payload:1" in result.output, result.output[-3000:]
    assert not installed(docker_client, name, "rsync")
    code, _ = docker_client.containers.get(name).exec_run(["test", "-e", "/var/lib/devstack"])
    assert code != 0  # nothing made
