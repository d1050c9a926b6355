"""Unit tests of backup.yml's archiving script (playbooks/files/volume_archive.py): all three
files or none, never an overwritten backup. The real full disk is in test_data_safety.py."""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import os
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("volume_archive", ROOT / "playbooks/files/volume_archive.py")
volume_archive = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(volume_archive)

FILES = ("b.files.sha256", "b.tar.gz", "b.tar.gz.sha256")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "source"
    (root / "folder").mkdir(parents=True)
    (root / "folder" / "a.txt").write_bytes(b"a" * 5000)
    (root / "报告.txt").write_bytes(os.urandom(3000))
    (root / "folder" / "link").symlink_to("a.txt")
    return root


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "backup"
    folder.mkdir()
    return folder


def test_an_archive_and_both_checksums_are_made(source: Path, dest: Path, capsys):
    assert volume_archive.main(["volume_archive.py", str(source), str(dest), "b"]) == 0
    assert "archived 2 files, 8000 bytes" in capsys.readouterr().out
    assert sorted(p.name for p in dest.iterdir()) == list(FILES)
    recorded = (dest / "b.tar.gz.sha256").read_text().split()
    assert recorded == [hashlib.sha256((dest / "b.tar.gz").read_bytes()).hexdigest(), "b.tar.gz"]
    with tarfile.open(dest / "b.tar.gz") as tar:
        assert tar.getmember("./folder/link").issym()
        archived = {m.name: hashlib.sha256(tar.extractfile(m).read()).hexdigest() for m in tar if m.isreg()}
    listed = dict(reversed(line.split("  ", 1)) for line in (dest / "b.files.sha256").read_text().splitlines())
    assert listed == archived
    assert set(listed) == {"./folder/a.txt", "./报告.txt"}


def test_an_existing_backup_is_never_overwritten(source: Path, dest: Path, capsys):
    for name in FILES:
        (dest / name).write_text("an older backup\n")
    assert volume_archive.main(["volume_archive.py", str(source), str(dest), "b"]) == 1
    assert "nothing was overwritten" in capsys.readouterr().err
    assert {p.name: p.read_text() for p in dest.iterdir()} == {name: "an older backup\n" for name in FILES}


@pytest.mark.parametrize("where", ["while archiving", "while renaming"])
def test_a_full_disk_leaves_nothing(source: Path, dest: Path, capsys, monkeypatch, where: str):
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if where == "while archiving":
        def read(self, size: int = -1) -> bytes:
            raise full
        monkeypatch.setattr(volume_archive.HashingReader, "read", read)
    else:  # one file already has its final name when the next rename fails
        real_replace = os.replace
        calls = []

        def replace(src, dst):
            calls.append(dst)
            if len(calls) == 2:
                raise full
            real_replace(src, dst)
        monkeypatch.setattr(volume_archive.os, "replace", replace)
    assert volume_archive.main(["volume_archive.py", str(source), str(dest), "b"]) == 1
    assert "no space left in the backup folder" in capsys.readouterr().err
    assert list(dest.iterdir()) == []


# restore.yml's guard (playbooks/files/volume_guard.py), against this machine's engine.
GUARD_SPEC = importlib.util.spec_from_file_location("volume_guard", ROOT / "playbooks/files/volume_guard.py")
volume_guard = importlib.util.module_from_spec(GUARD_SPEC)
GUARD_SPEC.loader.exec_module(volume_guard)
GUARD_STACK = "pytest-volume-guard"


@pytest.fixture
def guarded(docker_client, monkeypatch):
    """A volume and the container that asks (created, never started), both removed at the end."""
    import docker

    monkeypatch.setattr(volume_guard, "SOCKET", "/var/run/docker.sock")
    labels = {"org.devstack.project": "devstack", "org.devstack.stack": GUARD_STACK}
    volume = docker_client.volumes.create(f"{GUARD_STACK}_data", labels=labels)
    asking = docker_client.containers.create("devstack/base:bookworm", ["true"], name=f"{GUARD_STACK}-restore",
                                             labels=labels, network_mode="none",
                                             volumes={volume.name: {"bind": "/target", "mode": "rw"}})
    try:
        yield volume.name, asking.name, labels
    finally:
        for container in docker_client.containers.list(all=True, filters={"label": f"org.devstack.stack={GUARD_STACK}"}):
            container.remove(force=True)
        try:
            docker_client.volumes.get(volume.name).remove(force=True)
        except docker.errors.NotFound:
            pass


def test_the_guard_names_every_other_container_on_the_volume_running_or_not(docker_client, guarded, capsys):
    volume, asking, labels = guarded
    assert volume_guard.main(["users", volume, asking]) == 0, "the asking container does not count"
    docker_client.containers.run("devstack/base:bookworm", ["true"], name=f"{GUARD_STACK}-stopped", labels=labels,
                                 network_mode="none", volumes={volume: {"bind": "/v", "mode": "rw"}})
    assert volume_guard.main(["users", volume, asking]) == 3
    assert f"{GUARD_STACK}-stopped (exited)" in capsys.readouterr().err


def test_the_guard_names_a_container_that_mounted_the_volume_and_is_gone(docker_client, guarded, capsys):
    volume, asking, labels = guarded
    since = f"{time.time():.9f}"
    assert volume_guard.main(["mounted", volume, asking, since]) == 0
    docker_client.containers.run("devstack/base:bookworm", ["true"], remove=True, labels=labels,
                                 network_mode="none", volumes={volume: {"bind": "/v", "mode": "rw"}})
    assert volume_guard.main(["mounted", volume, asking, since]) == 4
    assert "(since removed)" in capsys.readouterr().err
    # Only mounts after `since` count.
    assert volume_guard.main(["mounted", volume, asking, f"{time.time():.9f}"]) == 0
