"""(e) of bench/bench.py: setup.yml over SSH on 1, 4 and 8 remote Docker hosts.

Each host is what molecule/multihost calls a Suzhou VM (devstack/molecule-vm: systemd, sshd,
user `docker` with sudo, no Docker until the docker_host stage installs Debian's docker.io),
on a network of the bench's own, with its OWN engine on a volume of its own. Nothing reaches
them but SSH. The hosts are set up once (docker_host stage, the stack's images put into each
engine with `docker load`, then setup.yml whole); what is timed is the idempotent re-run of
setup.yml limited to the first 1, 4 and 8 of them, interleaved. The images reach the engines
beforehand because (e) measures the stages, not the network: the catalog is source `pull`
pinned to the loaded IDs, so the images stage still checks every image on every host.
Everything is removed at the end (the VMs with their volumes, the network, the key).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

NETWORK, SUBNET, PREFIX = "benchhosts", "172.31.232", "bench-sz-"
VM_IMAGE = "devstack/molecule-vm:bookworm"
IMAGES = [("devstack/samba", "4.17"), ("devstack/redis", "7"), ("devstack/postgres", "15"), ("devstack/web", "latest")]
LABEL = "org.devstack.test=bench-hosts"


def sh(argv: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, **kwargs)
    if check and done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed (rc {done.returncode}):\n{done.stdout[-4000:]}")
    return done


class RemoteHosts:
    def __init__(self, count: int, results: Path) -> None:
        self.names = [f"{PREFIX}{i}" for i in range(1, count + 1)]
        self.dir = results / "hosts"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = self.dir / "id_ed25519"

    def address(self, name: str) -> str:
        return f"{SUBNET}.{10 + self.names.index(name) + 1}"

    def inventory(self) -> Path:
        nameservers = [ns for ns in re.findall(r"(?m)^nameserver[ \t]+(\S+)", Path("/etc/resolv.conf").read_text())
                       if not ns.startswith(("127.", "::1"))]
        ids = {f"{n}:{t}": sh(["docker", "image", "inspect", "--format", "{{.Id}}", f"{n}:{t}"]).stdout.strip()
               for n, t in IMAGES}
        suzhou = {
            "ansible_user": "docker", "ansible_become": True, "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "docker_host_daemon_options": {"dns": nameservers},
            "django_env_ca_certificates": [str(p) for p in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))],
            "samba_bind_address": "{{ ansible_host }}", "redis_bind_address": "{{ ansible_host }}",
            "postgres_bind_address": "{{ ansible_host }}", "workspace_bind_address": "{{ ansible_host }}",
            "devstack_credentials_dir": str(self.dir / "credentials"),
            "images_catalog": [{"name": n, "tag": t, "source": "pull", "image_id": ids[f"{n}:{t}"]} for n, t in IMAGES],
        }
        hosts = {name: {"ansible_host": self.address(name), "ansible_connection": "ssh"} for name in self.names}
        path = self.dir / "inventory.json"
        path.write_text(json.dumps({"all": {"children": {"docker_hosts": {"children": {
            "suzhou": {"hosts": hosts, "vars": suzhou}}}}}}, indent=1))
        return path

    def up(self) -> None:
        self.down()
        if not self.key.exists():
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(self.key)])
        sh(["docker", "network", "create", "--label", LABEL, "--subnet", f"{SUBNET}.0/24", NETWORK])
        for name in self.names:
            sh(["docker", "run", "-d", "--name", name, "--hostname", name, "--label", LABEL,
                "--network", NETWORK, "--ip", self.address(name), "--cgroupns", "host",
                "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                "-v", "/var/lib/docker", "-v", "/var/lib/devstack", VM_IMAGE])
            sh(["docker", "exec", "-i", name, "sh", "-c",
                "cat > /home/docker/.ssh/authorized_keys && chown 1000:100 /home/docker/.ssh/authorized_keys"
                " && chmod 0600 /home/docker/.ssh/authorized_keys"],
               input=(self.dir / "id_ed25519.pub").read_text())
        for name in self.names:
            deadline = time.monotonic() + 120
            while sh(["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                      "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", f"docker@{self.address(name)}",
                      "systemctl is-system-running --wait"], check=False).stdout.strip() not in ("running", "degraded"):
                if time.monotonic() > deadline:
                    sys.exit(f"bench: {name} did not boot within 120 s")
                time.sleep(2)

    def converge(self, run: Callable[[list[str]], tuple[float, str]], setup: list[str]) -> None:
        """The docker_host stage, the images into each engine, then setup.yml whole."""
        inventory = str(self.inventory())
        run([*setup, "-i", inventory, "--tags", "docker_host"])
        with tempfile.NamedTemporaryFile(suffix=".tar") as tarball:
            sh(["docker", "save", "-o", tarball.name, *[f"{n}:{t}" for n, t in IMAGES]])
            for name in self.names:
                with open(tarball.name, "rb") as images:
                    done = subprocess.run(["docker", "exec", "-i", name, "docker", "load", "-q"], stdin=images,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
                if done.returncode != 0:
                    sys.exit(f"bench: docker load in {name} failed: {done.stdout[-2000:]!r}")
        run([*setup, "-i", inventory])

    def rerun(self, run: Callable[[list[str]], tuple[float, str]], setup: list[str], count: int) -> tuple[float, str]:
        return run([*setup, "-i", str(self.dir / "inventory.json"), "--limit", ",".join(self.names[:count])])

    def down(self) -> None:
        """The bench's VMs (their engines' containers stopped first), their volumes, the network."""
        vms = sh(["docker", "ps", "-aq", "--filter", f"label={LABEL}"], check=False).stdout.split()
        for vm in vms:
            sh(["docker", "exec", vm, "sh", "-c",
                "command -v docker >/dev/null && docker ps -q | xargs -r docker stop --time 10 >/dev/null; true"],
               check=False)
        if vms:
            sh(["docker", "rm", "-f", "-v", *vms], check=False)
        sh(["docker", "network", "rm", NETWORK], check=False)
        sh(["rm", "-rf", str(self.dir / "credentials"), str(self.dir / "inventory.json")], check=False)
