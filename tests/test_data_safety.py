"""The shared data survives everything a normal day does to the stack.

1,000 files are written over SMB (smbclient in a throw-away Molecule-host container on the
host network: nothing is installed on the controller), then the stack is re-converged,
its containers removed and re-created, the Samba image changed, the containers restarted,
the stack torn down (without purge) and set up again, and the volume backed up and
restored into a new volume. The sha256 of every file is compared after each step.
Then the faults: a forced restore whose file checksums do not match leaves the target
alone, a good forced restore keeps the previous content in a new volume, and a backup
onto a full disk (a small tmpfs) fails cleanly, leaving the earlier backup valid.
Everything labelled with the test stack is removed at the end."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import threading
import time
from pathlib import Path

import docker
import pytest
from conftest import Run, playbook, read_secret, remove_stack_objects

# One stack for the whole module (a module fixture): bin/test runs these after the
# parallel part, in one process.
pytestmark = pytest.mark.serial

STACK = "pytest-datasafety"
SAMBA_PORT = 2445
WEB_PORT = 28000
VOLUME = f"{STACK}_data"
RESTORED = f"{STACK}_data_restored"
FROM_FULL = f"{STACK}_data_from_full"
SAMBA = f"{STACK}-my-data"
WEB = f"{STACK}-web"
SAMBA_IMAGE = "devstack/samba:4.17"
RETAGGED = "devstack/samba:pytest-datasafety"
CLIENT_IMAGE = "devstack/molecule-host:bookworm"
BASE_IMAGE = "devstack/base:bookworm"
LABELS = {"org.devstack.project": "devstack", "org.devstack.stack": STACK, "org.devstack.role": "pytest"}
# The label of the previous content a forced restore keeps: the project's, naming the stack, but
# not org.devstack.stack, which a purge selects.
KEPT_LABEL = f"org.devstack.kept-from-stack={STACK}"

# Prints {path: [sha256, uid, gid]} for every regular file under the folder given.
HASH_SCRIPT = """
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
for top, _, files in os.walk(root):
    for name in files:
        path = os.path.join(top, name)
        st = os.lstat(path)
        with open(path, "rb") as f:
            out[os.path.relpath(path, root)] = [hashlib.sha256(f.read()).hexdigest(), st.st_uid, st.st_gid]
print(json.dumps(out))
"""

Hashes = dict[str, str]


class Stack:
    """Drives the playbooks and the SMB client against the test stack."""

    def __init__(self, client: docker.DockerClient, work: Path) -> None:
        self.client = client
        self.work = work
        self.credentials = work / "credentials"
        # backup.yml's own default for this stack: a folder under /tmp is refused (issue 12: the
        # playbook makes its folder root-only, so it must be one the project may own).
        self.backups = Path(f"/var/backups/devstack/{STACK}")
        self.vars = {"devstack_name": STACK, "samba_port": SAMBA_PORT, "workspace_port": WEB_PORT,
                     "devstack_credentials_dir": str(self.credentials), "backup_dir": str(self.backups)}

    def play(self, path: str, *args: str, **extra) -> Run:
        return playbook(path, "-e", json.dumps({**self.vars, **extra}), *args)

    def setup(self, **extra) -> Run:
        result = self.play("setup.yml", "--tags", "samba,workspace", **extra)
        assert result.returncode == 0, result.output[-5000:]
        return result

    def password(self) -> str:
        return read_secret(self.credentials / "localhost" / "samba_dev_password")

    def smbclient(self, command: str, files: Path) -> str:
        """smbclient as dev in a throw-away container; the password is in a 0600 auth file."""
        auth = self.work / "smb-auth"
        auth.write_text(f"username = dev\npassword = {self.password()}\n")
        auth.chmod(0o600)
        output = self.client.containers.run(
            CLIENT_IMAGE,
            ["smbclient", "//127.0.0.1/data", "-p", str(SAMBA_PORT), "-A", "/auth", "-m", "SMB3", "-c", command],
            network_mode="host", remove=True, labels=LABELS, stderr=True,
            volumes={str(auth): {"bind": "/auth", "mode": "ro"}, str(files): {"bind": "/files", "mode": "rw"}},
        )
        return output.decode(errors="replace")

    def volume_files(self, volume: str = VOLUME) -> dict[str, list]:
        # Never let `docker run -v` create a missing volume: a lost volume must fail here.
        labels = self.client.volumes.get(volume).attrs["Labels"] or {}
        assert STACK in (labels.get("org.devstack.stack"), labels.get("org.devstack.kept-from-stack")), \
            f"{volume} is not labelled with the stack: {labels}"
        output = self.client.containers.run(
            BASE_IMAGE, ["python3", "-c", HASH_SCRIPT, "/v"], network_mode="none", remove=True, labels=LABELS,
            volumes={volume: {"bind": "/v", "mode": "ro"}},
        )
        return json.loads(output)

    def volume_hashes(self, volume: str = VOLUME) -> Hashes:
        return {path: entry[0] for path, entry in self.volume_files(volume).items()}

    def workspace_hashes(self) -> Hashes:
        result = self.client.containers.get(WEB).exec_run(["python3", "-c", HASH_SCRIPT, "/data"])
        assert result.exit_code == 0, result.output
        return {path: entry[0] for path, entry in json.loads(result.output).items()}

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.client.containers.get(SAMBA).attrs["State"]
            if state.get("Health", {}).get("Status") == "healthy":
                return
            time.sleep(1)
        raise AssertionError(f"{SAMBA} is not healthy after {timeout}s: {state}")


def remove_everything(client: docker.DockerClient) -> None:
    remove_stack_objects(client, STACK)
    # The previous contents forced restores kept (a purge leaves them).
    for volume in client.volumes.list(filters={"label": KEPT_LABEL}):
        volume.remove(force=True)
    # By name too: a volume made without labels (by a failed run) must not survive either.
    for name in (VOLUME, RESTORED, FROM_FULL, f"{STACK}_data_damaged"):
        try:
            client.volumes.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
    try:
        client.images.remove(RETAGGED)
    except docker.errors.ImageNotFound:
        pass
    # The stack's backups (remove_stack_objects removed its configuration folder).
    os.system(f"rm -rf /var/backups/devstack/{STACK}")


def make_files(root: Path, count: int = 1000) -> Hashes:
    """count files in 10 folders, random content and sizes, a few names a Windows user would type."""
    rng = random.Random(4)
    hashes: Hashes = {}
    for i in range(count):
        folder = root / f"folder {i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"报告 {i}.txt" if i % 97 == 0 else f"file-{i:04d}.bin"
        data = rng.randbytes(rng.randint(0, 16384))
        (folder / name).write_bytes(data)
        hashes[f"folder {i % 10}/{name}"] = hashlib.sha256(data).hexdigest()
    return hashes


@pytest.fixture(scope="module")
def stack(docker_client, tmp_path_factory):
    remove_everything(docker_client)
    work = tmp_path_factory.mktemp("datasafety")
    work.chmod(0o700)
    current = Stack(docker_client, work)
    try:
        current.setup()
        yield current
    finally:
        remove_everything(docker_client)


@pytest.fixture(scope="module")
def written(stack: Stack) -> Hashes:
    """The 1,000 files, written over SMB; their expected hashes."""
    source = stack.work / "source"
    expected = make_files(source)
    stack.smbclient("prompt OFF; recurse ON; lcd /files; mput *", source)
    assert stack.volume_hashes() == expected, "the files written over SMB are not all in the volume"
    return expected


def test_no_password_in_any_container_inspect(stack: Stack, written: Hashes):
    password = stack.password()
    containers = stack.client.containers.list(all=True, filters={"label": f"org.devstack.stack={STACK}"})
    assert {c.name for c in containers} >= {SAMBA, WEB}
    for container in containers:
        attrs = container.attrs
        config = attrs["Config"]
        for part, value in {"Env": config.get("Env"), "Cmd": config.get("Cmd"), "Entrypoint": config.get("Entrypoint"),
                            "Path": attrs.get("Path"), "Args": attrs.get("Args"), "Labels": config.get("Labels"),
                            "Healthcheck": config.get("Healthcheck")}.items():
            assert password not in json.dumps(value), f"the password is in {container.name}'s {part}"
        assert password not in json.dumps(attrs), f"the password is somewhere in docker inspect {container.name}"


def test_one_thousand_files_survive_everything(stack: Stack, written: Hashes):
    client = stack.client
    assert len(written) == 1000
    owners = {(uid, gid) for _, uid, gid in stack.volume_files().values()}
    assert owners == {(1000, 1000)}, f"files written over SMB must belong to dev (1000:1000), got {owners}"
    assert stack.workspace_hashes() == written, "the work container does not see the files at /data"

    # 1. The playbooks run again: nothing changes.
    assert stack.setup().recap()["localhost"]["changed"] == 0
    assert stack.volume_hashes() == written

    # 2. Both containers are removed and re-created.
    for name in (SAMBA, WEB):
        client.containers.get(name).remove(force=True)
    stack.setup()
    assert stack.volume_hashes() == written
    assert stack.workspace_hashes() == written

    # 3. The Samba image changes (a new tag): the data container is re-created from it.
    client.images.get(SAMBA_IMAGE).tag(RETAGGED)
    stack.setup(samba_image=RETAGGED)
    assert client.containers.get(SAMBA).attrs["Config"]["Image"] == RETAGGED
    assert stack.volume_hashes() == written

    # 4. Both containers restart; the share comes back with its users.
    for name in (SAMBA, WEB):
        client.containers.get(name).restart(timeout=10)
    stack.wait_healthy()
    assert "folder 9" in stack.smbclient("ls", stack.work)
    assert stack.volume_hashes() == written

    # 5. Teardown without purge keeps the volume; setup brings the same data back.
    result = stack.play("playbooks/teardown.yml")
    assert result.returncode == 0, result.output[-3000:]
    assert client.containers.list(all=True, filters={"label": f"org.devstack.stack={STACK}", "name": STACK}) == []
    assert stack.volume_hashes() == written
    stack.setup(samba_image=RETAGGED)
    stack.wait_healthy()
    assert stack.workspace_hashes() == written

    # 6. Backup, then restore into a new volume: every file checks out.
    result = stack.play("playbooks/backup.yml", backup_name="pytest-backup")
    assert result.returncode == 0, result.output[-3000:]
    archive = stack.backups / "pytest-backup.tar.gz"
    assert sorted(p.name for p in stack.backups.iterdir()) == [
        "pytest-backup.files.sha256", "pytest-backup.tar.gz", "pytest-backup.tar.gz.sha256"]
    assert len((stack.backups / "pytest-backup.files.sha256").read_text().splitlines()) == 1000
    result = stack.play("playbooks/restore.yml", restore_archive=str(archive), restore_volume=RESTORED)
    assert result.returncode == 0, result.output[-3000:]
    assert "every checksum matches" in said(result)
    assert stack.volume_hashes(RESTORED) == written
    assert {(u, g) for _, u, g in stack.volume_files(RESTORED).values()} == {(1000, 1000)}

    # 7. And the live share still serves every file, byte for byte.
    readback = stack.work / "readback"
    readback.mkdir()
    readback.chmod(0o777)
    stack.smbclient("prompt OFF; recurse ON; lcd /files; mget *", readback)
    got = {p.relative_to(readback).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in readback.rglob("*") if p.is_file()}
    assert got == written


def test_restore_refuses_an_existing_volume(stack: Stack, written: Hashes):
    archive = stack.backups / "pytest-backup.tar.gz"
    assert archive.exists(), "needs the backup made by the previous test"
    result = stack.play("playbooks/restore.yml", restore_archive=str(archive), restore_volume=VOLUME)
    assert result.returncode != 0
    assert "restore_volume" in result.output
    assert result.recap()["localhost"]["changed"] == 0
    # Forced, it still refuses a volume a container uses.
    result = stack.play("playbooks/restore.yml", restore_archive=str(archive), restore_volume=VOLUME, restore_force=True)
    assert result.returncode != 0
    assert SAMBA in result.output


def test_restore_refuses_a_damaged_archive(stack: Stack, written: Hashes):
    damaged = stack.work / "damaged"
    damaged.mkdir()
    for part in ("tar.gz", "tar.gz.sha256", "files.sha256"):
        (damaged / f"pytest-backup.{part}").write_bytes((stack.backups / f"pytest-backup.{part}").read_bytes())
    with open(damaged / "pytest-backup.tar.gz", "r+b") as archive:
        archive.seek(100)
        archive.write(b"\0" * 16)
    result = stack.play("playbooks/restore.yml", restore_archive=str(damaged / "pytest-backup.tar.gz"),
                        restore_volume=f"{STACK}_data_damaged")
    assert result.returncode != 0
    assert "does not match" in result.output
    assert stack.client.volumes.list(filters={"name": f"{STACK}_data_damaged"}) == []


def copy_backup(stack: Stack, folder: str) -> Path:
    """The three files of the backup made by test 6, copied to a new folder beside it."""
    copy = stack.backups / folder
    copy.mkdir()
    for part in ("tar.gz", "tar.gz.sha256", "files.sha256"):
        (copy / f"pytest-backup.{part}").write_bytes((stack.backups / f"pytest-backup.{part}").read_bytes())
    return copy / "pytest-backup.tar.gz"


def said(result: Run) -> str:
    """The run's output with every run of white space made one space (Ansible wraps long messages)."""
    return " ".join(result.output.split())


def restore_leftovers(stack: Stack, volume: str) -> list[str]:
    """Temporary and kept volumes restore.yml made for this volume."""
    return sorted(v.name for v in stack.client.volumes.list()
                  if v.name.startswith((f"{volume}-restoring-", f"{volume}-before-restore-")))


@pytest.fixture(scope="module")
def altered(stack: Stack, written: Hashes) -> dict[str, list]:
    """RESTORED (made by test 6, used by no container) edited so that it differs from the backup:
    one file changed, one removed, one added. Its files (hash, uid, gid) before any forced restore."""
    assert stack.volume_hashes(RESTORED) == written, "needs the volume restored by the first test"
    stack.client.containers.run(
        BASE_IMAGE, ["sh", "-ec", 'printf changed > "/v/folder 1/file-0001.bin"; rm "/v/folder 2/file-0002.bin";'
                     " printf added > /v/added.txt; chown 1000:1000 /v/added.txt"],
        network_mode="none", remove=True, labels=LABELS, volumes={RESTORED: {"bind": "/v", "mode": "rw"}})
    before = stack.volume_files(RESTORED)
    assert {path: entry[0] for path, entry in before.items()} != written
    assert "added.txt" in before and "folder 2/file-0002.bin" not in before
    return before


def test_forced_restore_in_check_mode_changes_nothing(stack: Stack, altered: dict[str, list]):
    archive = stack.backups / "pytest-backup.tar.gz"
    result = stack.play("playbooks/restore.yml", "--check", restore_archive=str(archive), restore_volume=RESTORED,
                        restore_force=True)
    assert result.returncode == 0, result.output[-3000:]
    assert "check mode: nothing restored" in said(result)
    assert f"{RESTORED}-before-restore-" in result.output, "check mode must say where the content would be kept"
    assert restore_leftovers(stack, RESTORED) == []
    assert stack.volume_files(RESTORED) == altered


def test_forced_restore_with_a_wrong_file_checksum_leaves_the_target_alone(stack: Stack, altered: dict[str, list]):
    archive = copy_backup(stack, "wrong-file-checksum")
    # One file's recorded checksum is wrong; the archive's own checksum still matches.
    listing = archive.with_name("pytest-backup.files.sha256")
    lines = listing.read_text().splitlines(keepends=True)
    lines[0] = ("0" if lines[0][0] != "0" else "1") + lines[0][1:]
    listing.write_text("".join(lines))
    result = stack.play("playbooks/restore.yml", restore_archive=str(archive), restore_volume=RESTORED,
                        restore_force=True)
    assert result.returncode != 0, result.output[-3000:]
    assert stack.volume_files(RESTORED) == altered, "a failed restore changed the target volume"
    assert restore_leftovers(stack, RESTORED) == [], "a failed restore left a temporary or kept volume"
    assert "FAILED" in result.output, "sha256sum must name the file that does not match"
    assert f"restore_volume {RESTORED} is untouched" in said(result)


def test_forced_restore_keeps_the_previous_content(stack: Stack, written: Hashes, altered: dict[str, list]):
    archive = stack.backups / "pytest-backup.tar.gz"
    result = stack.play("playbooks/restore.yml", restore_archive=str(archive), restore_volume=RESTORED,
                        restore_force=True)
    assert result.returncode == 0, result.output[-3000:]
    assert "restored 1000 files, every checksum matches" in said(result)
    kept = re.findall(rf"is kept in volume ({re.escape(RESTORED)}-before-restore-\d{{8}}T\d{{6}}Z)", said(result))
    assert kept, f"the kept volume is not reported: {result.output[-3000:]}"
    assert f"docker volume rm {kept[0]}" in said(result)
    assert restore_leftovers(stack, RESTORED) == [kept[0]], "the temporary volume must be removed"
    labels = stack.client.volumes.get(kept[0]).attrs["Labels"]
    assert labels["org.devstack.before-restore-of"] == RESTORED
    # Recognisably the project's and the stack's, but not selected by a purge (org.devstack.stack).
    assert labels["org.devstack.project"] == "devstack" and labels["org.devstack.kept-from-stack"] == STACK
    assert "org.devstack.stack" not in labels, f"a purge would delete the only copy of the previous content: {labels}"
    # The previous content, owners included, is in the kept volume; the backup's in the target.
    assert stack.volume_files(kept[0]) == altered
    assert stack.volume_hashes(RESTORED) == written
    assert {(u, g) for _, u, g in stack.volume_files(RESTORED).values()} == {(1000, 1000)}


def test_forced_restore_refuses_a_container_that_started_using_the_target_meanwhile(stack: Stack, written: Hashes):
    """A container that starts using the target after restore.yml's first look (here while the
    archive is being extracted into the temporary volume, long before the target is emptied)
    stops the restore before the target is emptied: the check runs again in the very container
    that empties it, and names the container."""
    assert stack.volume_hashes(RESTORED) == written, "needs the volume the previous test restored"
    leftovers = restore_leftovers(stack, RESTORED)
    archive = stack.backups / "pytest-backup.tar.gz"
    intruder_name = f"{STACK}-intruder"
    results: list[Run] = []
    restore = threading.Thread(target=lambda: results.append(stack.play(
        "playbooks/restore.yml", restore_archive=str(archive), restore_volume=RESTORED, restore_force=True)))
    restore.start()
    intruder = None
    try:
        # The temporary volume appears right after the first look at the target's users.
        deadline = time.monotonic() + 120
        while not any(v.startswith(f"{RESTORED}-restoring-") for v in restore_leftovers(stack, RESTORED)):
            assert restore.is_alive() and time.monotonic() < deadline, \
                f"the restore never made its temporary volume: {results[0].output[-3000:] if results else ''}"
            time.sleep(0.05)
        # It only holds the volume (writing would make the restore's own copy comparison fail first).
        intruder = stack.client.containers.run(
            BASE_IMAGE, ["sleep", "600"], detach=True,
            name=intruder_name, network_mode="none", labels=LABELS, volumes={RESTORED: {"bind": "/v", "mode": "rw"}})
        restore.join(timeout=600)
        assert not restore.is_alive(), "the restore did not end"
        result = results[0]
        assert result.returncode != 0, "the restore went on while a container used the target: " + said(result)[-2000:]
        assert intruder_name in result.output, result.output[-3000:]
        assert f"restore_volume {RESTORED} is untouched" in said(result), result.output[-3000:]
        assert stack.volume_hashes(RESTORED) == written, "the target was changed"
        assert restore_leftovers(stack, RESTORED) == leftovers, "a refused restore left a temporary or kept volume"
    finally:
        restore.join(timeout=600)
        if intruder is not None:
            intruder.remove(force=True)


@pytest.fixture
def small_disk(stack: Stack):
    """A 32 MiB tmpfs as a backup folder below the stack's (backup.yml's folder check allows
    it), unmounted at the end whatever happens."""
    folder = stack.backups / "small-disk"
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


def test_a_full_disk_fails_the_backup_and_keeps_the_earlier_one(stack: Stack, written: Hashes, small_disk: Path):
    result = stack.play("playbooks/backup.yml", backup_dir=str(small_disk), backup_name="first")
    assert result.returncode == 0, result.output[-3000:]
    first = sorted(p.name for p in small_disk.iterdir())
    assert first == ["first.files.sha256", "first.tar.gz", "first.tar.gz.sha256"]
    size = (small_disk / "first.tar.gz").stat().st_size
    assert size > 4 << 20, "the archive must be large enough for the filler to leave too little room"

    # The disk fills: 1 MiB left, less than the next archive needs.
    info = os.statvfs(small_disk)
    with open(small_disk / "filler", "wb") as filler:
        os.posix_fallocate(filler.fileno(), 0, info.f_bavail * info.f_frsize - (1 << 20))
    result = stack.play("playbooks/backup.yml", backup_dir=str(small_disk), backup_name="second")
    assert result.returncode != 0, result.output[-3000:]
    # Nothing of the failed run: no partial file, no archive, no checksum.
    assert sorted(p.name for p in small_disk.iterdir()) == sorted([*first, "filler"])
    assert "no space left in the backup folder" in said(result)
    assert f"into {small_disk} failed" in said(result), "the message must name the folder"

    # The first backup still verifies and restores, file by file; the volume is intact.
    recorded = (small_disk / "first.tar.gz.sha256").read_text().split()
    assert recorded == [hashlib.sha256((small_disk / "first.tar.gz").read_bytes()).hexdigest(), "first.tar.gz"]
    result = stack.play("playbooks/restore.yml", restore_archive=str(small_disk / "first.tar.gz"),
                        restore_volume=FROM_FULL)
    assert result.returncode == 0, result.output[-3000:]
    assert stack.volume_hashes(FROM_FULL) == written
    assert stack.volume_hashes() == written


def test_purge_needs_the_stack_name(stack: Stack, written: Hashes, altered: dict[str, list]):
    result = stack.play("playbooks/teardown.yml", purge=True)
    assert result.returncode != 0
    assert "purge_confirm" in result.output
    assert result.recap()["localhost"]["changed"] == 0
    result = stack.play("playbooks/teardown.yml", purge=True, purge_confirm="devstack")
    assert result.returncode != 0
    assert stack.volume_hashes() == written, "a refused purge must leave the data alone"

    kept = restore_leftovers(stack, RESTORED)
    assert len(kept) == 1 and kept[0].startswith(f"{RESTORED}-before-restore-"), \
        f"needs the volume test_forced_restore_keeps_the_previous_content kept: {kept}"
    result = stack.play("playbooks/teardown.yml", purge=True, purge_confirm=STACK)
    assert result.returncode == 0, result.output[-3000:]
    label = {"label": f"org.devstack.stack={STACK}"}
    assert stack.client.volumes.list(filters=label) == []
    assert [c.name for c in stack.client.containers.list(all=True, filters=label)] == []
    # The previous content a forced restore kept is the only copy of it: a purge leaves it, says
    # so, and says how to remove it.
    assert [v.name for v in stack.client.volumes.list() if v.name.startswith(STACK)] == kept
    assert stack.volume_files(kept[0]) == altered
    assert f"docker volume rm {kept[0]}" in said(result), result.output[-3000:]
    stack.client.volumes.get(kept[0]).remove()
    assert [v.name for v in stack.client.volumes.list() if v.name.startswith(STACK)] == []
