#!/usr/bin/env python3
"""Archives a volume mounted at SOURCE into NAME.tar.gz in DEST, with two checksum files:

  NAME.tar.gz.sha256   the archive itself (`sha256sum -c NAME.tar.gz.sha256`)
  NAME.files.sha256    every regular file of the archive, hashed from the very bytes that
                       went into it (`cd <restored volume> && sha256sum -c NAME.files.sha256`)

Numeric owners, modes, times and symlinks are kept. Runs in a throw-away container with the
volume mounted read-only. All or nothing: the three files are written as NAME.*.partial, flushed
to the disk and renamed only when all are complete (NAME.tar.gz.sha256 last); on any error, a
full disk included, every file of the run is removed and the exit status is 1. An existing
backup of the same name is never overwritten.

Usage: volume_archive.py SOURCE DEST NAME
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import tarfile
from pathlib import Path
from typing import BinaryIO


class HashingReader:
    """A file object that hashes what tarfile reads from it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def manifest_line(digest: str, name: str) -> str:
    """One line in sha256sum's format, escaping names the way coreutils does."""
    if "\\" in name or "\n" in name:
        return "\\" + digest + "  " + name.replace("\\", "\\\\").replace("\n", "\\n") + "\n"
    return f"{digest}  {name}\n"


def members(source: Path):
    """(path, name in the archive) for the root and everything under it, in a stable order."""
    yield source, "."
    for top, dirs, files in os.walk(source):
        dirs.sort()
        for entry in sorted(dirs) + sorted(files):
            path = Path(top) / entry
            yield path, "./" + path.relative_to(source).as_posix()


def _sync(path: Path) -> None:
    """Flushes a file (or a folder's entries) to the disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write(source: Path, tar_path: Path, files_path: Path) -> tuple[int, int]:
    """Writes the archive and the file checksums to the paths given (the .partial names)."""
    count = size = 0
    with open(tar_path, "wb") as raw, \
            open(files_path, "w", encoding="utf-8", errors="surrogateescape") as manifest:
        with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for path, arcname in members(source):
                info = tar.gettarinfo(str(path), arcname)
                if info is None:  # sockets cannot be archived
                    continue
                if info.isreg():
                    with open(path, "rb") as handle:
                        reader = HashingReader(handle)
                        tar.addfile(info, reader)
                    manifest.write(manifest_line(reader.sha256.hexdigest(), arcname))
                    count += 1
                    size += info.size
                else:
                    tar.addfile(info)
        for done in (raw, manifest):
            done.flush()
            os.fsync(done.fileno())
    return count, size


def archive(source: Path, dest: Path, name: str) -> tuple[int, int]:
    """Makes NAME.tar.gz, NAME.files.sha256 and NAME.tar.gz.sha256 in DEST, all or nothing.

    Each is written under a .partial name, flushed to the disk and renamed when all three are
    complete, NAME.tar.gz.sha256 last; on any error (a full disk) every file of this run is
    removed. An existing backup of the same name is never overwritten."""
    tar_path = dest / f"{name}.tar.gz"
    files_path = dest / f"{name}.files.sha256"
    sum_path = dest / f"{name}.tar.gz.sha256"
    finals = (files_path, tar_path, sum_path)
    partials = {final: final.with_name(final.name + ".partial") for final in finals}
    taken = [p.name for p in (*finals, *partials.values()) if os.path.lexists(p)]
    if taken:
        raise FileExistsError(f"{', '.join(taken)} already in the backup folder: nothing was overwritten")
    try:
        count, size = _write(source, partials[tar_path], partials[files_path])
        digest = hashlib.sha256()
        with open(partials[tar_path], "rb") as done:
            for block in iter(lambda: done.read(1 << 20), b""):
                digest.update(block)
        with open(partials[sum_path], "w", encoding="utf-8") as checksum:
            checksum.write(f"{digest.hexdigest()}  {tar_path.name}\n")
            checksum.flush()
            os.fsync(checksum.fileno())
        for final in finals:
            os.replace(partials[final], final)
        _sync(dest)
    except BaseException:
        for path in (*partials.values(), *finals):
            path.unlink(missing_ok=True)
        raise
    return count, size


def _no_space(error: BaseException | None) -> bool:
    """Whether a full disk caused this error (or one it was raised while handling)."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ or error.__context__
    return False


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        count, size = archive(Path(argv[1]), Path(argv[2]), argv[3])
    except FileExistsError as error:
        print(f"the backup {argv[3]} was not made: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        if _no_space(error):
            print(f"no space left in the backup folder while writing {argv[3]}.tar.gz: "
                  "its partial files were removed; free space there and back up again", file=sys.stderr)
        else:
            print(f"the backup {argv[3]} failed ({error}): its partial files were removed", file=sys.stderr)
        return 1
    print(f"archived {count} files, {size} bytes, into {argv[3]}.tar.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
