#!/usr/bin/env python3
"""Which other containers use a volume, asked from inside the throw-away container of
restore.yml that empties and refills it (the engine's socket mounted there, read only by this
script: GET requests only).

  volume_guard.py users VOLUME SELF
      exit 3 when a container other than SELF (the asking container's name) has VOLUME
      mounted, running or not (a stopped one could be started again); its names on stderr.
  volume_guard.py mounted VOLUME SELF SINCE
      exit 4 when a container other than SELF mounted VOLUME since SINCE (seconds since the
      epoch, as `date +%s.%N` prints them) or has it now: the engine's volume "mount" events,
      so a container that started and was removed meanwhile is named too.

Docker cannot lock a volume: nothing stops another client from starting a container on it.
`users` right before the volume is emptied and `mounted` right after it was refilled leave no
moment in which such a container goes unseen.
Unit tests: tests/test_volume_archive.py."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
import urllib.parse

SOCKET = "/run/docker.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self._path)


def _get(path: str, query: dict | None = None, missing_ok: bool = False) -> bytes | None:
    if query:
        path += "?" + urllib.parse.urlencode(query)
    connection = _UnixConnection(SOCKET)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status == 404 and missing_ok:
        return None
    if response.status != 200:
        raise SystemExit(f"volume_guard: the Docker API answered {response.status} to GET {path}: {body[:300]!r}")
    return body


def _own_id(name: str) -> str:
    return json.loads(_get(f"/containers/{urllib.parse.quote(name)}/json"))["Id"]


def users(volume: str, own: str) -> list[str]:
    """'name (state)' of every container but `own` that has the volume mounted."""
    found = json.loads(_get("/containers/json", {"all": "1", "filters": json.dumps({"volume": [volume]})}))
    return sorted(f"{c['Names'][0].lstrip('/')} ({c['State']})" for c in found if c["Id"] != own)


def mounted_since(volume: str, own: str, since: str) -> list[str]:
    """Containers but `own` that mounted the volume from `since` until now (engine events)."""
    until = f"{time.time():.9f}"
    body = _get("/events", {"since": since, "until": until,
                            "filters": json.dumps({"type": ["volume"], "event": ["mount"], "volume": [volume]})})
    ids = []
    for line in body.decode().splitlines():
        if line.strip():
            event = json.loads(line)
            container = event.get("Actor", {}).get("Attributes", {}).get("container", "")
            if container and container != own and container not in ids:
                ids.append(container)
    names = []
    for container in ids:
        found = _get(f"/containers/{container}/json", missing_ok=True)
        names.append(json.loads(found)["Name"].lstrip("/") if found else f"{container[:12]} (since removed)")
    return sorted(names)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "users":
        volume, own = argv[1], _own_id(argv[2])
        found = users(volume, own)
        if found:
            print(f"{volume} is used by {', '.join(found)}", file=sys.stderr)
            return 3
        return 0
    if len(argv) == 4 and argv[0] == "mounted":
        volume, own, since = argv[1], _own_id(argv[2]), argv[3]
        found = sorted(set(mounted_since(volume, own, since)) | {u.rsplit(" (", 1)[0] for u in users(volume, own)})
        if found:
            print(f"{volume} was mounted by {', '.join(found)} while it was emptied and refilled", file=sys.stderr)
            return 4
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
