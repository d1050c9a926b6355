"""Unit tests of the images role's images_fetch module: a command whose output file stops
growing is ended after stall_timeout seconds; one that keeps writing is left to finish."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("images_fetch", ROOT / "roles/images/library/images_fetch.py")
images_fetch = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(images_fetch)


def test_a_transfer_that_stops_growing_is_ended(tmp_path):
    dest = tmp_path / "t.tar"
    # Writes into rsync's temporary-file name, then goes silent (a stalled server).
    script = f"head -c 1000 /dev/zero > {tmp_path}/.t.tar.AbCdEf; sleep 60"
    result = images_fetch.run(["sh", "-c", script], str(dest), str(tmp_path / "partial"), 2)
    assert result["stalled"] is True
    assert result["rc"] != 0
    assert 2 <= result["seconds"] < 10
    assert "no data arrived for 2 s" in result["stderr"]


def test_a_transfer_that_keeps_growing_is_not_ended(tmp_path):
    dest = tmp_path / "t.tar"
    script = f"for i in 1 2 3 4 5 6; do echo x >> {tmp_path}/.t.tar.AbCdEf; sleep 0.5; done; echo done"
    result = images_fetch.run(["sh", "-c", script], str(dest), str(tmp_path / "partial"), 2)
    assert result == {**result, "rc": 0, "stalled": False, "stdout": "done\n"}


def test_progress_counts_the_temporary_file_the_tarball_and_its_partial_file(tmp_path):
    (tmp_path / "partial").mkdir()
    (tmp_path / ".t.tar.XyZ123").write_bytes(b"a" * 3)
    (tmp_path / "partial" / "t.tar").write_bytes(b"b" * 5)
    (tmp_path / ".other.tar.XyZ123").write_bytes(b"c" * 7)
    assert images_fetch.progress_marker(str(tmp_path / "t.tar"), str(tmp_path / "partial")) == (3, -1, 5)
