"""Filters of the images role: the catalog's defaults and its checks, in one pass each.

- images_catalog_entries(catalog) -> every entry with its defaults (args: {})
- images_catalog_problems(catalog[, files_dir]) -> one message per malformed entry, naming it and
  what is wrong ([] when every entry is well formed); a relative build context is a folder of
  files_dir (by default this role's files/, where tasks/compare.yml looks for it too);
  unit tests: tests/test_images_catalog.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

NAME = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SOURCES = ("build", "pull", "load")
FILES = str(Path(__file__).resolve().parent.parent / "files")


def images_catalog_entries(catalog: Any) -> list[dict[str, Any]]:
    return [{"args": {}, **entry} for entry in catalog]


def _context(entry: Mapping[str, Any], files_dir: str) -> str:
    context = str(entry.get("context", ""))
    return context if context.startswith("/") else os.path.join(files_dir, context)


def _entry_problems(entry: Any, files_dir: str) -> str:
    if not isinstance(entry, Mapping):
        return f"images_catalog entry {entry!r}: must be a mapping with name, tag and source"
    name = entry.get("name")
    source = entry.get("source")
    context = _context(entry, files_dir)
    well_formed = (isinstance(name, str) and NAME.match(name) and TAG.match(str(entry.get("tag", "")))
                   and source in SOURCES and isinstance(entry.get("args", {}), Mapping)
                   and (source != "build" or (os.path.isdir(context) and os.path.isfile(os.path.join(context, "Dockerfile")))))
    if not well_formed:
        return (f"images_catalog entry {name or '(no name)'}: needs a name (lower-case repository), a tag, a source "
                f"among build, pull, load (got {source or 'none'}), and for source=build a context folder with a "
                f"Dockerfile (looked for at {context}); args must be a mapping.")
    pins_ok = all(key not in entry or pattern.match(str(entry[key]))
                  for key, pattern in (("image_id", IMAGE_ID), ("sha256", SHA256), ("file", FILE)))
    if not pins_ok:
        return (f"images_catalog entry {name}: image_id must be sha256:<64 hex digits> "
                f"(got {entry.get('image_id', 'none')}), sha256 (the tarball's checksum) 64 hex digits "
                f"(got {entry.get('sha256', 'none')}), file a plain file name (got {entry.get('file', 'none')}).")
    return ""


def images_catalog_problems(catalog: Any, files_dir: str = FILES) -> list[str]:
    if not isinstance(catalog, (list, tuple)):
        return [f"images_catalog and images_catalog_extra must be lists of entries, got {catalog!r}"]
    return [problem for problem in (_entry_problems(entry, files_dir) for entry in catalog) if problem]


class FilterModule:
    def filters(self):
        return {"images_catalog_entries": images_catalog_entries, "images_catalog_problems": images_catalog_problems}
