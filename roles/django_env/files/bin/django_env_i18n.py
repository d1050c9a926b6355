#!/usr/bin/env python3
"""Translations of a Django project, the way the team's international.sh meant them:
makemessages then compilemessages for the given locales, without the by-hand steps.

- makemessages runs for every locale; a .po file whose only difference is its
  POT-Creation-Date header is put back as it was (no churn in git, nothing recompiled);
- fuzzy entries are counted and reported per file instead of being dropped silently
  (compilemessages skips them unless --use-fuzzy);
- compilemessages runs only when a .po is newer than its .mo, a .mo is missing, or
  --use-fuzzy changed since the last run;
- nothing runs (no Django process at all) when no file of the project, no option and not
  the virtualenv's installed requirements changed since the last run: the state file keeps
  a digest of them (path, size and modification time of every file).

Prints one JSON object: changed, updated (.po files), compiled, fuzzy ({file: count}).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"}
POT_DATE = re.compile(r'^"POT-Creation-Date: .*\\n"$', re.M)


def po_files(project: Path, locales: list[str]) -> list[Path]:
    """Every <...>/locale/<locale>/LC_MESSAGES/*.po under the project."""
    found = []
    for root, dirs, files in os.walk(project):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        parts = Path(root).parts
        if len(parts) >= 3 and parts[-1] == "LC_MESSAGES" and parts[-2] in locales and parts[-3] == "locale":
            found += [Path(root) / f for f in files if f.endswith(".po")]
    return sorted(found)


def inputs_digest(project: Path, args: argparse.Namespace) -> str:
    """What makemessages and compilemessages read: every file of the project (path, size,
    modification time; the folders of SKIP_DIRS left out), the options, and the virtualenv's
    installed requirements (its stamp, written by the django_env program)."""
    options = {"locales": args.locale, "makemessages": args.makemessages,
               "makemessages_args": args.makemessages_arg, "use_fuzzy": args.use_fuzzy}
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    try:
        digest.update((Path(sys.prefix) / ".devstack-requirements").read_bytes())
    except OSError:
        pass
    for root, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            digest.update(f"{os.path.relpath(path, project)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def fuzzy_entries(po: Path) -> int:
    """Fuzzy entries of a .po file, the header entry (msgid "") and obsolete ones excluded."""
    count = 0
    for entry in re.split(r"\n\s*\n", po.read_text(encoding="utf-8")):
        lines = entry.strip().splitlines()
        flags = [l for l in lines if l.startswith("#,")]
        if not any("fuzzy" in f for f in flags):
            continue
        msgid = next((l for l in lines if l.startswith("msgid ")), 'msgid ""')
        if msgid != 'msgid ""':
            count += 1
    return count


def run(manage: str, *args: str) -> None:
    proc = subprocess.run([manage, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"django_env i18n: `manage.py {' '.join(args)}` failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--manage", required=True, help="wrapper running manage.py with the environment")
    parser.add_argument("--locale", action="append", required=True)
    parser.add_argument("--makemessages", action="store_true")
    parser.add_argument("--makemessages-arg", action="append", default=[])
    parser.add_argument("--use-fuzzy", action="store_true")
    parser.add_argument("--state", type=Path, required=True, help="JSON file remembering the last compile")
    args = parser.parse_args()

    os.chdir(args.project)
    last = json.loads(args.state.read_text()) if args.state.exists() else {}
    if last.get("inputs") == inputs_digest(args.project, args):
        print(json.dumps({**last, "changed": False, "updated": [], "compiled": []}))
        return
    before = {p: (p.read_bytes(), p.stat()) for p in po_files(args.project, args.locale)}
    updated: list[str] = []
    if args.makemessages:
        run(args.manage, "makemessages", *[f"--locale={l}" for l in args.locale], *args.makemessages_arg)
        for po in po_files(args.project, args.locale):
            old = before.get(po)
            new = po.read_bytes()
            if old is None:
                updated.append(str(po))
            elif POT_DATE.sub("", new.decode("utf-8")) == POT_DATE.sub("", old[0].decode("utf-8")):
                # Unchanged but for its date: the old bytes and time, so nothing is recompiled.
                if new != old[0]:
                    po.write_bytes(old[0])
                os.utime(po, ns=(old[1].st_atime_ns, old[1].st_mtime_ns))
            else:
                updated.append(str(po))

    pos = po_files(args.project, args.locale)
    stale = [p for p in pos if not p.with_suffix(".mo").exists()
             or p.with_suffix(".mo").stat().st_mtime < p.stat().st_mtime]
    if last.get("use_fuzzy") != args.use_fuzzy:
        stale = pos
        for p in pos:
            p.with_suffix(".mo").unlink(missing_ok=True)
    if stale:
        run(args.manage, "compilemessages", *[f"--locale={l}" for l in args.locale],
            *(["--use-fuzzy"] if args.use_fuzzy else []))
    fuzzy = {str(p.relative_to(args.project)): n for p in pos if (n := fuzzy_entries(p))}
    report = {"changed": bool(updated or stale), "locales": args.locale, "po_files": [str(p) for p in pos],
              "updated": updated, "compiled": [str(p) for p in stale], "fuzzy": fuzzy,
              "use_fuzzy": args.use_fuzzy}
    args.state.write_text(json.dumps({**report, "inputs": inputs_digest(args.project, args)}, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
