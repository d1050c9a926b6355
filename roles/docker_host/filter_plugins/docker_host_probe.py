"""The docker_host role's fast path: what detect.yml's one probe of the host found, compared
with what engine.yml and users.yml would make. An empty list means nothing differs, so a
re-run on an engine this role manages calls the host once instead of a dozen times.

The probe prints tab-separated lines (tasks/detect.yml):
  stat <path> missing | stat <path> <octal mode> <owner> <group> [<sha256 of a file>]
  package <name> <dpkg status>        (one per package dpkg knows)
  service <is-active> <is-enabled>    (systemctl's words for docker)
  group <getent group docker>
  user <name> <login shell>           (only users that exist)

Unit tests: tests/test_docker_host_filters.py.
"""

from __future__ import annotations

from typing import Any


def docker_host_probe(lines: list[str]) -> dict[str, Any]:
    """The probe's lines as {stat: {path: [mode, owner, group, sha256?] or None}, packages:
    {name: status}, service: [active, enabled], group: [members], users: {name: shell}}."""
    found: dict[str, Any] = {"stat": {}, "packages": {}, "service": [], "group": [], "users": {}}
    for line in lines:
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
    return found


def docker_host_drift(lines: list[str], wanted: dict[str, Any]) -> list[str]:
    """What differs between the probe and `wanted`: {stat: {path: [mode, owner, group,
    sha256?]}, packages: [name], users: [name], create_users: bool, shell: str}. Each
    difference is one readable line; [] means engine.yml and users.yml have nothing to do."""
    found = docker_host_probe(lines)
    drift = []
    for path, want in (wanted.get("stat") or {}).items():
        have = found["stat"].get(path)
        if have is None:
            drift.append(f"{path} is missing")
        elif [str(w) for w in want] != have[: len(want)]:
            drift.append(f"{path} is {' '.join(have)}, not {' '.join(str(w) for w in want)}")
    for name in wanted.get("packages") or []:
        if found["packages"].get(name) != "installed":
            drift.append(f"package {name} is {found['packages'].get(name, 'not installed')}")
    if found["service"][:2] != ["active", "enabled"]:
        drift.append(f"docker is {' '.join(found['service']) or 'unknown'}, not active enabled")
    for user in wanted.get("users") or []:
        if user not in found["users"]:
            if wanted.get("create_users", True):
                drift.append(f"user {user} does not exist")
            continue   # not created, not asked to: the full path skips it too
        if found["users"][user] != wanted.get("shell", "/bin/bash"):
            drift.append(f"user {user} has shell {found['users'][user]}")
        if user not in found["group"]:
            drift.append(f"user {user} is not in the docker group")
    return drift


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_host_probe": docker_host_probe, "docker_host_drift": docker_host_drift}
