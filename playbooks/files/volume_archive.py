#!/usr/bin/env python3
"""Archives a volume mounted at SOURCE into NAME.tar.gz in DEST, with two checksum files:

  NAME.tar.gz.sha256   the archive itself (`sha256sum -c NAME.tar.gz.sha256`)
  NAME.files.sha256    every regular file of the archive, hashed from the very bytes that
                       went into it (`cd <restored volume> && sha256sum -c NAME.files.sha256`)

Numeric owners, modes, times and symlinks are kept. Runs in a throw-away container with the
volume mounted read-only; files appear only when complete (written as .partial, renamed).

Usage: volume_archive.py SOURCE DEST NAME
"""

from __future__ import annotations

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


def archive(source: Path, dest: Path, name: str) -> tuple[int, int]:
    tar_path = dest / f"{name}.tar.gz"
    files_path = dest / f"{name}.files.sha256"
    count = size = 0
    with open(f"{tar_path}.partial", "wb") as raw, \
            tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar, \
            open(f"{files_path}.partial", "w", encoding="utf-8", errors="surrogateescape") as manifest:
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
    digest = hashlib.sha256()
    with open(f"{tar_path}.partial", "rb") as done:
        for block in iter(lambda: done.read(1 << 20), b""):
            digest.update(block)
    os.replace(f"{files_path}.partial", files_path)
    os.replace(f"{tar_path}.partial", tar_path)
    (dest / f"{name}.tar.gz.sha256").write_text(f"{digest.hexdigest()}  {tar_path.name}\n")
    return count, size


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    count, size = archive(Path(argv[1]), Path(argv[2]), argv[3])
    print(f"archived {count} files, {size} bytes, into {argv[3]}.tar.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
