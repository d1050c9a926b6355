"""Three Docker host VMs, each with its own engine, reached over SSH as `docker` with sudo, and a
second developer's stack (`alice`, ports moved by 100) on one of them: each inventory entry
serves its own stack on its VM's address to real clients (redis-cli, smbclient, curl in a
throw-away container on the test network), with passwords of its own; the images came from
the image server, never built on a VM; nothing of the stacks is on this machine's engine; a
dead host in the inventory is named UNREACHABLE while the live ones re-converge unchanged."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from devstack_testinfra import read_secret

from conftest import (DEAD_IP, EPHEMERAL, IMAGES, NETWORK, ROOT, SECRETS, address, entries, port, secret_of,
                      smb_ls, vm_container, web)


# --- How the host is reached, and what it is -------------------------------------------------

def test_reached_over_ssh_as_docker_with_sudo(host):
    variables = host.ansible.get_variables()
    assert variables["ansible_connection"] == "ssh"
    assert variables["ansible_user"] == "docker"
    assert variables["ansible_become"] is True
    assert host.backend.get_connection_type() == "ansible"
    assert host.check_output("id -un") == "root"  # through sudo
    assert host.check_output("sudo -u docker docker version --format '{{.Server.Version}}'").startswith("20.10")


def test_vm_has_its_own_engine_and_disk_and_no_controller_socket(host, engine):
    assert host.check_output("docker info --format '{{.ID}}'") != engine.info()["ID"]
    mounts = vm_container(engine, host).attrs["Mounts"]
    assert not any("docker.sock" in m.get("Source", "") for m in mounts), mounts
    by_target = {m["Destination"]: m for m in mounts}
    assert by_target["/var/lib/docker"]["Type"] == "volume"
    assert by_target["/var/lib/devstack"]["Type"] == "volume"


def test_images_were_loaded_from_the_server_not_built(host, engine):
    for ref in IMAGES:
        on_vm = host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {ref}")
        assert on_vm == engine.images.get(ref).id, ref  # the very image published from here
    assert host.run("docker image inspect devstack/base:bookworm").rc != 0  # no build happened on the VM
    assert host.check_output("ls -A /var/lib/devstack/images/tarballs") == ""  # images_load_keep_tarballs: false


def test_transfer_figures_of_the_first_converge(host):
    figures = EPHEMERAL / "transfers" / f"{host.backend.get_hostname()}.json"
    if host.ansible.get_variables().get("images_catalog") == []:
        assert not figures.exists()  # alice's entry leaves the images to its VM's: nothing moved twice
        return
    report = json.loads(figures.read_text())
    assert sorted(r["image"] for r in report) == sorted(IMAGES)
    for entry in report:
        assert entry["files_transferred"] == 1 and entry["literal_data"] == entry["file_size"] > 0, entry
    received = sum(r["bytes_received"] for r in report)
    size = sum(r["file_size"] for r in report)
    print(f"{host.backend.get_hostname()}: {received} bytes from the image server ({size} bytes of tarballs)")
    # Compressed on the link (zstd): the catalog's `docker save | gzip` is about 35 % of its
    # tarballs (bench/results.md); uncompressed, every byte of the tarballs would travel.
    assert received <= 0.40 * size, (received, size)


def test_the_vm_came_without_rsync_and_python3_apt_and_the_project_installed_them(host, engine):
    """A minimal VM, as an operator has one: the project installs what it needs."""
    image = vm_container(engine, host).image.tags[0]
    for package in ("rsync", "python3-apt"):
        fresh = engine.containers.run(image, ["sh", "-c", f"dpkg-query -W -f='${{db:Status-Status}}' {package} || true"],
                                      remove=True, entrypoint=[])
        assert fresh.decode().strip() != "installed", (image, package)  # not in the VM's image
        assert host.package(package).is_installed, package  # installed by the run


# --- The image server: each VM's own key may only read the images folder with rsync ----------

SERVER_IP = "172.31.231.10"
SERVER_KEY = "/var/lib/devstack/images/image_server_key"
SERVER_SSH = (f"ssh -i {SERVER_KEY} -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 "
              "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")


def server_read(server, argv: list[str]) -> tuple[int, bytes]:
    """A file on the image server that is never empty. Docker 20.10 now and then loses a short
    exec's output (exit 0, nothing read): asked up to three times."""
    for _ in range(3):
        code, out = server.exec_run(argv)
        if code != 0 or out.strip():
            break
    return code, out


def server_rsync(host, *args: str):
    return host.run(" ".join(["rsync", f"--rsh='{SERVER_SSH}'", *args]))


def test_the_vms_key_was_made_on_the_vm_and_authorized_for_read_only_rsync(host, engine):
    assert host.file(SERVER_KEY).mode == 0o600 and host.file(SERVER_KEY).user == "root"
    public = host.file(SERVER_KEY + ".pub").content_string.split()[1]
    server = engine.containers.get("molecule-sz-images")
    code, out = server_read(server, ["cat", "/home/devstack/.ssh/authorized_keys"])
    assert code == 0, out
    line = next(ln for ln in out.decode().splitlines() if public in ln)
    assert line.startswith('restrict,command="rrsync -ro /srv/devstack/images" '), line
    # Each VM has a key of its own (not the publisher's), and its private half is on no other
    # machine: the image server holds no key file of the project.
    assert public not in (EPHEMERAL / "publisher" / "image_server_publish_key.pub").read_text()
    code, out = server.exec_run(["find", "/", "-xdev", "-name", "image_server_*key*"])
    assert out.decode().strip() == "", out


def test_the_vms_key_opens_no_shell_on_the_image_server(host):
    for command in ("id", "sh -c id", ""):
        result = host.run(f"{SERVER_SSH} -T devstack@{SERVER_IP} {command}")
        assert result.rc != 0, result.stdout
        assert "uid=" not in result.stdout, result.stdout
        assert "rrsync error" in result.stderr, result.stderr


def test_the_vms_key_cannot_write_on_the_image_server(host, engine):
    host.run("echo planted > /tmp/devstack-planted")
    for dest in ("", "planted", "/srv/devstack/images/planted"):
        result = server_rsync(host, "/tmp/devstack-planted", f"devstack@{SERVER_IP}:{dest}")
        assert result.rc != 0, result.stdout
        assert "read-only server is not allowed" in result.stderr, result.stderr
    code, out = engine.containers.get("molecule-sz-images").exec_run(["find", "/", "-xdev", "-name", "devstack-planted*",
                                                                      "-o", "-name", "planted"])
    assert out.decode().strip() == "", out


def test_the_vms_key_reads_the_images_folder_and_nothing_else(host):
    ok = server_rsync(host, f"devstack@{SERVER_IP}:SHA256SUMS", "/tmp/devstack-sums")
    assert ok.rc == 0, ok.stderr
    assert len(host.file("/tmp/devstack-sums").content_string.splitlines()) == len(IMAGES)
    for outside in ("../../../etc/passwd", "/etc/passwd", "/home/devstack/.ssh/authorized_keys"):
        result = server_rsync(host, f"devstack@{SERVER_IP}:{outside}", "/tmp/devstack-outside")
        assert result.rc != 0, outside
        assert not host.file("/tmp/devstack-outside").exists, outside


def test_inner_containers_resolve_names_and_reach_pypi(host):
    probe = ("import socket; a = socket.getaddrinfo('pypi.org', 443)[0][4][0]; "
             "socket.create_connection((a, 443), timeout=10).close(); print('ok', a)")
    result = host.run(f"docker exec {web(host)} python3 -c \"{probe}\"")
    assert result.rc == 0 and result.stdout.startswith("ok"), result.stdout + result.stderr


# --- The stack, with real clients against the host's own address -----------------------------

def test_redis_answers_with_this_hosts_password(host, client):
    code, out = client(["redis-cli", "--no-auth-warning", "-h", address(host), "-p", str(port(host, 7777)), "PING"],
                       {"REDISCLI_AUTH": secret_of(host.backend.get_hostname(), "redis_password")})
    assert (code, out.strip()) == (0, "PONG"), out


def test_redis_refuses_every_other_entrys_password(host, client):
    """Other VMs' and, on a shared VM, the other stack's: each stack has its own."""
    for other in entries(host):
        if other == host.backend.get_hostname():
            continue
        code, out = client(["redis-cli", "--no-auth-warning", "-h", address(host), "-p", str(port(host, 7777)), "PING"],
                           {"REDISCLI_AUTH": secret_of(other, "redis_password")})
        assert "WRONGPASS" in out and "PONG" not in out, (other, out)


def test_share_opens_with_this_hosts_dev_password(host, client):
    code, out = smb_ls(client, host, secret_of(host.backend.get_hostname(), "samba_dev_password"))
    assert code == 0, out
    assert "blocks available" in out


def test_share_refuses_every_other_entrys_dev_password(host, client):
    """Other VMs' and, on a shared VM, the other stack's: alice cannot open sz-2's share."""
    for other in entries(host):
        if other == host.backend.get_hostname():
            continue
        code, out = smb_ls(client, host, secret_of(other, "samba_dev_password"))
        assert code != 0 and "NT_STATUS_LOGON_FAILURE" in out, (other, out)


def test_django_health_over_http(host, client):
    code, out = client(["curl", "-fsS", "--max-time", "20", f"http://{address(host)}:{port(host, 8000)}/health/"])
    assert code == 0, out
    health = json.loads(out)
    assert health["status"] == "ok", health
    assert health["database"] == "ok" and health["cache"] == "ok", health


def visits(client, host) -> int:
    """Django's home page counts its visits in the stack's Redis; this call is one of them."""
    code, page = client(["curl", "-fsS", "--max-time", "20", f"http://{address(host)}:{port(host, 8000)}/"])
    assert code == 0, page
    return int(re.search(r'id="visit-count">(\d+)<', page)[1])


def entry(host, name: str):
    """Another inventory entry, as a testinfra host."""
    return host.get_host(f"ansible://{name}?ansible_inventory={EPHEMERAL / 'inventory'}")


def test_visit_counter_moves_on_this_host_only(host, client):
    """Each Django counts in its own host's Redis: three visits here move no other counter."""
    hosts = {h: entry(host, h) for h in entries(host) if h != host.backend.get_hostname()}
    before = {h: visits(client, other) for h, other in hosts.items()}
    first = visits(client, host)
    assert [visits(client, host) for _ in range(3)] == [first + 1, first + 2, first + 3]
    after = {h: visits(client, other) for h, other in hosts.items()}
    assert after == {h: n + 1 for h, n in before.items()}  # only our own second look


def test_stacks_on_one_host_do_not_see_each_others_files(host, client):
    """A file put on this stack's share is on this share only, also for a stack on the same VM."""
    name = f"only-{host.backend.get_hostname()}.txt"
    me = secret_of(host.backend.get_hostname(), "samba_dev_password")
    code, out = client(["sh", "-c", f"echo mine > /tmp/{name} && smbclient //{address(host)}/data -p {port(host, 445)} "
                        f"-U dev -m SMB3 -c 'put /tmp/{name} {name}'"], {"PASSWD": me})
    assert code == 0, out
    try:
        for other in entries(host):
            if other == host.backend.get_hostname():
                continue
            code, out = smb_ls(client, entry(host, other), secret_of(other, "samba_dev_password"))
            assert code == 0 and name not in out, out
    finally:
        client(["smbclient", f"//{address(host)}/data", "-p", str(port(host, 445)), "-U", "dev", "-m", "SMB3",
                "-c", f"rm {name}"], {"PASSWD": me})


# --- Across hosts and on the controller -------------------------------------------------------

def test_generated_passwords_differ_between_hosts():
    hosts = sorted(p.name for p in (EPHEMERAL / "credentials").iterdir())
    assert len(hosts) == 3, hosts  # two VMs and alice's stack
    for secret in SECRETS:
        paths = [EPHEMERAL / "credentials" / h / secret for h in hosts]
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in paths), secret
        values = [read_secret(p) for p in paths]
        assert all(values) and len(set(values)) == len(values), secret


def test_nothing_of_the_stacks_was_created_on_the_controllers_engine(engine):
    before = json.loads((EPHEMERAL / "controller-before.json").read_text())
    containers, volumes, networks = set(), set(), set()
    for name in ("devstack", "alice"):  # the stacks of the inventory entries
        label = {"label": f"org.devstack.stack={name}"}
        containers |= {c.id for c in engine.containers.list(all=True, filters=label)}
        volumes |= {v.name for v in engine.volumes.list(filters=label)}
        networks |= {n.id for n in engine.networks.list(filters=label)}
    assert containers <= set(before["containers"]), containers
    assert volumes <= set(before["volumes"]), volumes
    assert networks <= set(before["networks"]), networks
    # The only containers on the test network are the scenario's machines and the tests' clients.
    attached = engine.networks.get(NETWORK).attrs["Containers"] or {}
    strangers = {engine.containers.get(cid).name for cid in attached} - {
        "molecule-sz-1", "molecule-sz-2", "molecule-sz-images"} - {
        c.name for c in engine.containers.list(filters={"label": "org.devstack.test=molecule-multihost"})}
    assert not strangers


def test_publishing_one_image_again_keeps_every_image_listed_on_the_server(engine):
    """An operator republishes one image: the server still lists the others for every host."""
    result = subprocess.run(
        ["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), "playbooks/publish_images.yml",
         "-e", json.dumps({"images_publish_host": "localhost", "images_server_host": "172.31.231.10",
                           "images_server_host_key": " ".join((EPHEMERAL / "image_server_host_key.pub").read_text().split()[:2]),
                           "images_work_dir": str(EPHEMERAL / "publisher"), "images_publish": ["devstack/redis:7"]})],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )
    assert result.returncode == 0, result.stdout[-4000:]
    server = engine.containers.get("molecule-sz-images")
    for name in ("SHA256SUMS", "IMAGES"):
        code, out = server_read(server, ["cat", f"/srv/devstack/images/{name}"])
        listed = {line.split()[1] for line in out.decode().splitlines()}
        assert code == 0 and listed == {ref.replace("/", "_").replace(":", "_") + ".tar" for ref in IMAGES}, (name, out)


# --- A dead host in the inventory --------------------------------------------------------------

@pytest.fixture(scope="module")
def run_with_dead_host(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    """setup.yml again, whole, with one more host, at an address where nothing answers.
    DEVSTACK_SETUP_ARGS adds ansible-playbook arguments (e.g. --skip-tags django_env)."""
    dead = tmp_path_factory.mktemp("dead") / "dead.yml"
    dead.write_text(
        "all:\n  children:\n    docker_hosts:\n      children:\n        suzhou:\n          hosts:\n"
        f"            molecule-sz-dead: {{ansible_connection: ssh, ansible_host: {DEAD_IP}}}\n"
    )
    return subprocess.run(
        ["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), "-i", str(dead), "setup.yml",
         *os.environ.get("DEVSTACK_SETUP_ARGS", "").split()],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )


def recap(output: str) -> dict[str, dict[str, int]]:
    pattern = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
    return {m[1]: {"changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])} for m in pattern.finditer(output)}


def test_dead_host_is_named_unreachable_in_the_recap(run_with_dead_host):
    assert recap(run_with_dead_host.stdout)["molecule-sz-dead"]["unreachable"] == 1, run_with_dead_host.stdout[-3000:]
    assert run_with_dead_host.returncode == 4  # Ansible's code for "some hosts unreachable"
    # The summary at the end of the run names it too (whatever its layout).
    summary = run_with_dead_host.stdout.split("PLAY [Summary", 1)[-1].split("PLAY RECAP", 1)[0]
    assert "molecule-sz-dead" in summary, summary[-3000:]


def test_live_hosts_converge_unchanged_beside_the_dead_one(run_with_dead_host):
    result = recap(run_with_dead_host.stdout)
    for name in ("molecule-sz-1", "molecule-sz-2", "molecule-sz-2-alice"):
        assert result[name] == {"changed": 0, "unreachable": 0, "failed": 0}, run_with_dead_host.stdout[-3000:]


def test_verify_playbook_passes_on_every_live_entry():
    """playbooks/verify.yml, as an operator runs it against the Suzhou inventory."""
    result = subprocess.run(
        ["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), "playbooks/verify.yml"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )
    assert result.returncode == 0, result.stdout[-4000:]
    for name in ("molecule-sz-1", "molecule-sz-2", "molecule-sz-2-alice"):
        assert recap(result.stdout)[name]["failed"] == 0, result.stdout[-4000:]
    assert result.stdout.count("containers running and") == 3, result.stdout[-4000:]
