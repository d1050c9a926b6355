"""Filters of the service role: a service declaration turned into docker_container arguments,
and the shared input checks (ports, bind addresses, Docker names, image references).

Unit tests: tests/test_service_filters.py.
"""

from __future__ import annotations

import ipaddress
import re

# Docker's own rule for container, volume and network names.
_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
# repository[:tag], lower-case path components (registry host with a port allowed).
_IMAGE_REF = re.compile(
    r"^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)


_KINDS = (
    ("_bind_address", "addresses"),
    ("_address", "addresses"),
    ("_image", "images"),
    ("_port", "ports"),
    ("_uid", "ids"),
    ("_gid", "ids"),
    ("_container_name", "names"),
    ("_container", "names"),
    ("_volume", "names"),
    ("_network", "names"),
)


def service_checks(names, values, optional=()):
    """The checks of service_problems from variable names and their values: the kind of each
    variable comes from its name's ending (_port, _bind_address, _image, _container_name,
    _container, _volume, _network, _uid, _gid); a port named in `optional` may be 0."""
    if len(names) != len(values):
        raise ValueError("service_checks: one value per name")
    checks = {"ports": {}, "optional_ports": {}, "addresses": {}, "names": {}, "images": {}, "ids": {}}
    for name, value in zip(names, values):
        for ending, kind in _KINDS:
            if name.endswith(ending):
                if kind == "ports" and name in optional:
                    kind = "optional_ports"
                checks[kind][name] = value
                break
        else:
            raise ValueError(f"service_checks: {name} ends in none of " + ", ".join(e for e, _ in _KINDS))
    return checks


def _is_port(value, allow_zero=False):
    if isinstance(value, bool):
        return False
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return False
    return (0 if allow_zero else 1) <= port <= 65535


def _is_address(value):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def service_problems(checks):
    """Messages, one per bad value, each naming the caller's variable; [] when all are good.

    checks: {ports: {var: value}, optional_ports: {...}, addresses: {...}, names: {...},
    images: {...}, ids: {...}} (ids: a uid or gid other than root and the nobody ids). A port given twice among ports and optional_ports (0 excepted) is a problem.
    """
    problems = []
    checks = checks or {}
    for name, value in (checks.get("ports") or {}).items():
        if not _is_port(value):
            problems.append(f"{name} must be a TCP port from 1 to 65535, got {value}")
    for name, value in (checks.get("optional_ports") or {}).items():
        if not _is_port(value, allow_zero=True):
            problems.append(f"{name} must be a TCP port from 1 to 65535 or 0 (not published), got {value}")
    for name, value in (checks.get("addresses") or {}).items():
        if not _is_address(value):
            problems.append(
                f"{name} must be an IPv4 or IPv6 address (Docker publishes on IPs only), got {value}"
            )
    for name, value in (checks.get("names") or {}).items():
        if not isinstance(value, str) or not _DOCKER_NAME.match(value):
            problems.append(
                f"{name} must be a Docker name (a letter or digit, then letters, digits, _ . -), got {value}"
            )
    for name, value in (checks.get("images") or {}).items():
        if not isinstance(value, str) or not _IMAGE_REF.match(value):
            problems.append(
                f"{name} must be an image reference such as devstack/redis:7, got {value}"
            )
    for name, value in (checks.get("ids") or {}).items():
        if isinstance(value, bool) or not str(value).strip().isdigit() or not 1 <= int(str(value)) <= 65533:
            problems.append(f"{name} must be from 1 to 65533 (never root), got {value}")
    seen = {}
    for kind in ("ports", "optional_ports"):
        for name, value in (checks.get(kind) or {}).items():
            if _is_port(value, allow_zero=True) and int(str(value)) != 0:
                port = int(str(value))
                if port in seen:
                    problems.append(f"{name} and {seen[port]} are the same port ({port})")
                else:
                    seen[port] = name
    return problems


def service_published_ports(ports):
    """docker_container published_ports from [{address, host, container}]; host 0 is left out.

    An IPv6 address is written in brackets, as community.docker expects.
    """
    out = []
    for port in ports or []:
        host = int(str(port["host"]))
        if host == 0:
            continue
        address = str(port.get("address", "0.0.0.0"))
        if ":" in address:
            address = f"[{address}]"
        out.append(f"{address}:{host}:{int(str(port['container']))}")
    return out


def service_mounts(volumes, binds):
    """docker_container mounts from named volumes [{name, target}] and host binds
    [{source, target, read_only (default true)}], volumes first, in the order given."""
    out = []
    for volume in volumes or []:
        out.append({"type": "volume", "source": volume["name"], "target": volume["target"]})
    for bind in binds or []:
        out.append({
            "type": "bind",
            "source": bind["source"],
            "target": bind["target"],
            "read_only": bool(bind.get("read_only", True)),
        })
    return out


def service_labels(extra, stack, role):
    """The project's labels (project, stack, role) plus the declaration's own."""
    labels = {"org.devstack.project": "devstack", "org.devstack.stack": stack}
    if role:
        labels["org.devstack.role"] = role
    labels.update({str(k): str(v) for k, v in (extra or {}).items()})
    return labels


class FilterModule:
    def filters(self):
        return {
            "service_checks": service_checks,
            "service_problems": service_problems,
            "service_published_ports": service_published_ports,
            "service_mounts": service_mounts,
            "service_labels": service_labels,
        }
