"""The docker_host role's fast path: what detect.yml's one probe of the host found, compared
with what engine.yml and users.yml would make. An empty list means nothing differs, so a
re-run on an engine this role manages calls the host once instead of a dozen times.

The probe prints tab-separated lines (tasks/detect.yml):
  stat <path> missing | stat <path> <octal mode> <owner> <group> [<sha256 of a file>]
  package <name> <dpkg status>        (one per package dpkg knows)
  service <is-active> <is-enabled>    (systemctl's words for docker)
  group <getent group docker>
  user <name> <login shell>           (only users that exist)
  daemon <base64 of /etc/docker/daemon.json> | daemon missing
  firewall ok | firewall missing | firewall   (devstack-docker-user check; empty: not installed)
  created <folder>                    the folder is listed as made by this project
  not-a-folder <path>                 the data folder's path is a file or a symbolic link
  marker <path>                       the role's marker file exists
  engine <path>                       an engine found: the dockerd binary or the socket
A line without a tab is not the probe's (the probe runs through `raw`: over SSH with a
terminal, where a warning of sudo's or the shell's lands in the same stream) and is ignored;
so is a carriage return at a line's end (the terminal's line ending).

Unit tests: tests/test_docker_host_filters.py.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# daemon.json keys that decide where the engine keeps its images and volumes: changing them
# on an engine that already runs makes every volume seem to vanish (docker_host_daemon_config).
STORAGE_KEYS = {"data-root": "/var/lib/docker", "storage-driver": None}


def docker_host_probe(lines: list[str]) -> dict[str, Any]:
    """The probe's lines as {stat: {path: [mode, owner, group, sha256?] or None}, packages:
    {name: status}, service: [active, enabled], group: [members], users: {name: shell},
    marker: bool, engines: [path], ...}."""
    found: dict[str, Any] = {"stat": {}, "packages": {}, "service": [], "group": [], "users": {},
                             "daemon": None, "firewall": "", "marker": False, "engines": [], "created": [],
                             "not_folders": []}
    for line in lines:
        line = line.rstrip("\r")
        if "\t" not in line:
            continue
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "stat" and fields:
            found["stat"][fields[0]] = None if fields[1:] == ["missing"] else fields[1:]
        elif kind == "package" and len(fields) == 2:
            found["packages"][fields[0]] = fields[1]
        elif kind == "service":
            found["service"] = fields
        elif kind == "group":
            entry = rest.split(":")
            found["group"] = [m for m in entry[3].split(",") if m] if len(entry) >= 4 else []
        elif kind == "user" and len(fields) == 2:
            found["users"][fields[0]] = fields[1]
        elif kind == "daemon":
            found["daemon"] = None if rest == "missing" else rest
        elif kind == "firewall":
            found["firewall"] = rest.strip()
        elif kind == "created":
            found["created"].append(rest)
        elif kind == "not-a-folder":
            found["not_folders"].append(rest)
        elif kind == "marker":
            found["marker"] = True
        elif kind == "engine":
            found["engines"].append(rest)
    return found


def _merged(theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """`ours` over `theirs`, dictionaries merged key by key (lists and values replaced)."""
    out = dict(theirs)
    for key, value in ours.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def docker_host_daemon_config(lines: list[str], ours: dict[str, Any], storage_change: bool = False) -> dict[str, Any]:
    """The daemon.json to write: the host's own file (from the probe) with this role's keys
    merged over it, so keys someone else set (data-root, storage-driver, default-address-pools,
    ...) are kept. Returns {config: dict, problem: str}; a problem (the file is not a JSON
    object, or `ours` would move the storage of an engine that is already installed without
    docker_host_daemon_storage_change) means nothing may be written."""
    found = docker_host_probe(lines)
    theirs: dict[str, Any] = {}
    raw = found["daemon"]
    if raw:
        try:
            text = base64.b64decode(raw, validate=True).decode()
            theirs = json.loads(text) if text.strip() else {}
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            return {"config": {}, "problem": (
                f"/etc/docker/daemon.json on the host is not valid JSON ({error}): the role merges its keys "
                "into that file and never replaces it, so fix or remove it by hand first")}
        if not isinstance(theirs, dict):
            return {"config": {}, "problem": (
                "/etc/docker/daemon.json on the host is not a JSON object: the role merges its keys into "
                "that file and never replaces it, so fix or remove it by hand first")}
    merged = _merged(theirs, ours)
    installed = bool(found["engines"])
    if installed and not storage_change:
        for key, default in STORAGE_KEYS.items():
            before, after = theirs.get(key, default), merged.get(key, default)
            if before != after:
                return {"config": merged, "problem": (
                    f"docker_host_daemon_options sets {key} to {after!r}, but the installed engine uses "
                    f"{before!r} (daemon.json): its images and volumes would seem to vanish. Move them "
                    "yourself, then set docker_host_daemon_storage_change=true")}
    return {"config": merged, "problem": ""}


def docker_host_drift(lines: list[str], wanted: dict[str, Any]) -> list[str]:
    """What differs between the probe and `wanted`: {stat: {path: [mode, owner, group,
    sha256?]}, if_made_here: [path of stat compared only when missing or made by this project],
    firewall: bool, packages: [name], users: [name], create_users: bool}. An existing user's
    shell is theirs: only the docker group is compared. Each
    difference is one readable line; [] means engine.yml and users.yml have nothing to do."""
    found = docker_host_probe(lines)
    drift = []
    for path, want in (wanted.get("stat") or {}).items():
        have = found["stat"].get(path)
        if path in (wanted.get("if_made_here") or []) and have is not None and path not in found["created"]:
            continue   # someone else's folder: used as it is, its owner and mode are theirs
        if have is None:
            drift.append(f"{path} is missing")
        elif [str(w) for w in want] != have[: len(want)]:
            drift.append(f"{path} is {' '.join(have)}, not {' '.join(str(w) for w in want)}")
    for name in wanted.get("packages") or []:
        if found["packages"].get(name) != "installed":
            drift.append(f"package {name} is {found['packages'].get(name, 'not installed')}")
    if found["service"][:2] != ["active", "enabled"]:
        drift.append(f"docker is {' '.join(found['service']) or 'unknown'}, not active enabled")
    if "firewall" in wanted:
        if wanted["firewall"] and found["firewall"] != "ok":
            drift.append(f"the DOCKER-USER rules are {found['firewall'] or 'not installed'}")
        elif not wanted["firewall"] and found["firewall"]:
            drift.append("the DOCKER-USER rules are installed, and docker_host_firewall is false")
    for user in wanted.get("users") or []:
        if user not in found["users"]:
            if wanted.get("create_users", True):
                drift.append(f"user {user} does not exist")
            continue   # not created, not asked to: the full path skips it too
        if user not in found["group"]:
            drift.append(f"user {user} is not in the docker group")
    return drift


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_host_probe": docker_host_probe, "docker_host_drift": docker_host_drift,
                "docker_host_daemon_config": docker_host_daemon_config}
