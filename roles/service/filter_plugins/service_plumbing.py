"""Filters of the service role: a service declaration turned into docker_container arguments,
and the shared input checks (ports, bind addresses, Docker names, image references).

Unit tests: tests/test_service_filters.py.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import posixpath
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
    ("_dir", "folders"),
    ("_path", "folders"),
)

# Folders a role may create and then own (chown, chmod): never the system's, a user's home
# or a parent that others share. Anything under these is refused...
_SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
                   "/sbin", "/sys", "/usr", "/tmp", "/var/tmp", "/var/lib/docker", "/var/lib/containerd",
                   "/var/lib/dpkg", "/var/lib/apt", "/var/lib/systemd", "/var/log", "/var/cache", "/var/spool",
                   "/var/mail", "/var/run", "/var/lock")
# The project's own configuration root (redis_config_dir and the like live there) is the one
# folder under /etc a role may own.
_PROJECT_CONFIG = "/etc/devstack"
# ...and these themselves, or a folder right below /home (someone's home).
_SHARED_FOLDERS = ("/home", "/root", "/var", "/var/lib", "/var/backups", "/var/opt", "/srv", "/opt", "/mnt",
                   "/media", "/usr/local", "/data")


def _is_own_folder(value):
    if not isinstance(value, str) or not value.startswith("/") or posixpath.normpath(value) != value:
        return False
    if any(c.isspace() or ord(c) < 32 for c in value) or value == "/" or value.startswith("//"):
        return False
    if value == _PROJECT_CONFIG or value.startswith(_PROJECT_CONFIG + "/"):
        return True
    if any(value == s or value.startswith(s + "/") for s in _SYSTEM_FOLDERS):
        return False
    return value not in _SHARED_FOLDERS and posixpath.dirname(value) != "/home"


def service_checks(names, values, optional=()):
    """The checks of service_problems from variable names and their values: the kind of each
    variable comes from its name's ending (_port, _bind_address, _image, _container_name,
    _container, _volume, _network, _uid, _gid, _dir, _path); a port named in `optional` may be 0."""
    # The import says rolespec_validate: false (one task less a role): the types of the
    # validate entry point's spec are checked here.
    for what, given in (("service_check_vars", names), ("service_check_optional_ports", optional)):
        if not isinstance(given, (list, tuple)) or not all(isinstance(n, str) for n in given):
            raise ValueError(f"service_checks: {what} must be a list of variable names, got {given!r}")
    if len(names) != len(values):
        raise ValueError("service_checks: one value per name")
    checks = {"ports": {}, "optional_ports": {}, "addresses": {}, "names": {}, "images": {}, "ids": {}, "folders": {}}
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


def service_rule_problems(rules):
    """The messages of the caller's own checks (service_check_rules, each {that, msg}) that fail,
    in their order: `that` is a boolean or a list of booleans, all of which must hold. The rules
    are read one by one (Ansible templates each on access), so a message is only rendered for a
    failing check."""
    if not isinstance(rules, (list, tuple)):
        raise ValueError(f"service_check_rules must be a list of {{that, msg}}, got {rules!r}")
    problems = []
    for rule in rules:
        that = rule["that"]
        # Read one by one, stopping at the first false one, as assert does: a later condition
        # may rely on an earlier one (a split after a match).
        for condition in that if isinstance(that, (list, tuple)) else [that]:
            if not isinstance(condition, bool):
                raise ValueError(f"service_check_rules: `that` must be true or false, got {condition!r} "
                                 f"(for: {rule.get('msg', '')})")
            if not condition:
                problems.append(str(rule["msg"]).strip())
                break
    return problems


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
    images: {...}, ids: {...}, folders: {...}} (ids: a uid or gid other than root and the nobody
    ids; folders: one the role may create and own). A port given twice among ports and optional_ports (0 excepted) is a problem.
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
    for name, value in (checks.get("folders") or {}).items():
        if not _is_own_folder(value):
            problems.append(
                f"{name} must be a folder this project may own: an absolute, normalised path (no trailing /, "
                f"no . or ..), not / or a system folder (/etc, /usr, /tmp, /var/lib/docker, ...), not a shared "
                f"parent (/home, /var, /var/lib, /srv, /opt, /mnt, ...) and not someone's home (/home/<user>); "
                f"got {value}"
            )
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


# The label that carries a container's declaration hash (service_config_hash).
CONFIG_HASH_LABEL = "org.devstack.config-hash"
_HEALTH = re.compile(r"[(](healthy|unhealthy|health: starting)[)]")


def _normal(value):
    """Scalars as strings (a port given as 7777 or "7777" hashes alike), dicts sorted."""
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def service_config_hash(declaration, files=(), salt=""):
    """One hex digest of everything a container is made from: the declaration (what
    docker_container gets) and its files ({content, secret, ...}: host files and files copied
    in). The content of a file marked `secret` enters only through PBKDF2-SHA256 (100,000
    rounds, salted with `salt`), so the label that carries the digest, which `docker inspect`
    shows, gives nothing usable to guess a password from."""
    plain, secrets = [], []
    for item in files or ():
        if item.get("secret"):
            plain.append({k: v for k, v in item.items() if k != "content"})
            secrets.append(item.get("content", ""))
        else:
            plain.append(item)
    digest = hashlib.sha256(json.dumps(_normal({"declaration": declaration, "files": plain}), sort_keys=True).encode())
    for secret in secrets:
        digest.update(hashlib.pbkdf2_hmac("sha256", str(secret).encode(), f"devstack:{salt}".encode(), 100_000))
    return digest.hexdigest()


def _image_ref(name):
    """repository:tag, with :latest when no tag is given (a registry port is not a tag)."""
    name = str(name)
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _gateways(container):
    """The gateway addresses (each network's IPv4, then IPv6) of a container's networks, in a listing's or an
    inspect's shape (both: NetworkSettings.Networks): a request to a published port reaches the
    container from its network's gateway, so this is what Django sees as the browser."""
    networks = ((container or {}).get("NetworkSettings") or {}).get("Networks") or {}
    found = []
    for _, net in sorted(networks.items()):
        for key in ("Gateway", "IPv6Gateway"):
            address = (net or {}).get(key) or ""
            if address and address not in found:
                found.append(address)
    return found


def service_listing(host_info):
    """docker_host_info's verbose containers and images as {containers: {name: {id, state,
    health, image_id, labels, gateways}}, images: {repo:tag: id}, networks: [name], volumes:
    [name]}: what service_plan compares with, the networks and volumes that need no call, and
    where a container's published ports are reached from (its networks' gateways)."""
    containers = {}
    for item in (host_info or {}).get("containers") or []:
        match = _HEALTH.search(item.get("Status") or "")
        entry = {
            "id": item.get("Id", ""),
            "state": item.get("State", ""),
            "health": match.group(1) if match else "",
            "image_id": item.get("ImageID", ""),
            "labels": item.get("Labels") or {},
            "gateways": _gateways(item),
        }
        for name in item.get("Names") or []:
            containers[name.lstrip("/")] = entry
    images = {}
    for item in (host_info or {}).get("images") or []:
        for tag in item.get("RepoTags") or []:
            images[tag] = item.get("Id", "")
    networks = sorted(item.get("Name", "") for item in (host_info or {}).get("networks") or [])
    volumes = sorted(item.get("Name", "") for item in (host_info or {}).get("volumes") or [])
    return {"containers": containers, "images": images, "networks": networks, "volumes": volumes}


def service_plan(listing, container, state, image="", config_hash="", healthcheck=False):
    """{current, reason}: current is true when the container listed already is what the
    declaration asks for, so nothing has to be called: absent and not listed; or listed with
    the same config hash, running the image the tag names now, and healthy when it has a
    health check. Otherwise reason says the first difference found. wait_only (true only then):
    the container is as declared and running, and Docker has not run its health check yet
    (health: starting, a container started moments ago), and it is declared `started`: waiting
    for it to pass is all there is to do, the same wait the full path ends with."""
    entry = ((listing or {}).get("containers") or {}).get(container)
    if state == "absent":
        return {"current": entry is None, "reason": "" if entry is None else "exists"}
    if entry is None:
        return {"current": False, "reason": "missing"}
    if entry["labels"].get(CONFIG_HASH_LABEL) != config_hash:
        return {"current": False, "reason": "declaration changed"}
    image_id = ((listing or {}).get("images") or {}).get(_image_ref(image))
    if not image_id or image_id != entry["image_id"]:
        return {"current": False, "reason": "image changed"}
    if entry["state"] != "running":
        return {"current": False, "reason": f"not running ({entry['state']})"}
    if healthcheck and entry["health"] != "healthy":
        plan = {"current": False, "reason": f"not healthy ({entry['health'] or 'no status'})"}
        if state == "started" and entry["health"] in ("health: starting", "starting"):
            plan["wait_only"] = True
        return plan
    return {"current": True, "reason": ""}


_DURATION = re.compile(r"([0-9]+(?:[.][0-9]+)?)(h|ms|m|s|us|ns)")
_UNIT = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _seconds(duration, default):
    """Seconds of a Docker duration ("5s", "1m30s", "500ms"), rounded up; default when unset."""
    text = str(duration or "").strip()
    if not text:
        return default
    parts = _DURATION.findall(text)
    if "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"service_healthcheck: {text!r} is not a duration such as 5s or 1m30s")
    return max(1, math.ceil(sum(float(number) * _UNIT[unit] for number, unit in parts)))


def service_probe_argv(healthcheck):
    """The argv that runs a health check's test once in its container, as Docker runs it
    (CMD: the words; CMD-SHELL: /bin/sh -c), under `timeout` with the check's own timeout
    (Docker's default 30 s), so a hung check cannot hang the run. [] when there is no test."""
    test = list((healthcheck or {}).get("test") or [])
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD":
        argv = [str(word) for word in test[1:]]
    elif test[0] == "CMD-SHELL":
        argv = ["/bin/sh", "-c", " ".join(str(word) for word in test[1:])]
    else:   # a bare string list is CMD-SHELL to Docker's CLI; the API wants the prefix
        raise ValueError(f"service_healthcheck: test must start with CMD, CMD-SHELL or NONE, not {test[0]!r}")
    if not argv or not argv[0]:
        raise ValueError("service_healthcheck: test names no command")
    return ["timeout", str(_seconds(healthcheck.get("timeout"), 30)), *argv]


def service_remember(listing, container, inspected=None, networks=(), volumes=()):
    """The listing with one container as it is now: its entry made from docker_container's
    result (`docker inspect` of it), or dropped when there is none (removed, or check mode),
    and with the networks and volumes just made. So a later declaration, or another role, in
    the same run reads it as it is."""
    listing = dict(listing or {})
    for key, made in (("networks", networks), ("volumes", volumes)):
        listing[key] = sorted(set(listing.get(key) or []) | set(made or []))
    containers = {k: v for k, v in (listing.get("containers") or {}).items() if k != container}
    if inspected and inspected.get("Id"):
        state = inspected.get("State") or {}
        containers[container] = {
            "id": inspected["Id"],
            "state": state.get("Status", ""),
            "health": (state.get("Health") or {}).get("Status", ""),
            "image_id": inspected.get("Image", ""),
            "labels": (inspected.get("Config") or {}).get("Labels") or {},
            "gateways": _gateways(inspected),
        }
    listing["containers"] = containers
    return listing


def service_containers(listing, stack, role=""):
    """Names of the listed containers of one stack (and role, when given), sorted."""
    found = []
    for name, entry in ((listing or {}).get("containers") or {}).items():
        labels = entry.get("labels") or {}
        if labels.get("org.devstack.stack") == stack and (not role or labels.get("org.devstack.role") == role):
            found.append(name)
    return sorted(found)


class FilterModule:
    def filters(self):
        return {
            "service_checks": service_checks,
            "service_problems": service_problems,
            "service_rule_problems": service_rule_problems,
            "service_published_ports": service_published_ports,
            "service_mounts": service_mounts,
            "service_labels": service_labels,
            "service_config_hash": service_config_hash,
            "service_listing": service_listing,
            "service_plan": service_plan,
            "service_remember": service_remember,
            "service_probe_argv": service_probe_argv,
            "service_containers": service_containers,
        }
