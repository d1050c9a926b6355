"""Filter of the docker_host role: the fingerprints of an OpenPGP key file, so that the key a
repository serves (Docker's release key for engine source `upstream`) is checked against a
pinned fingerprint on the controller, with no gpg on the host.

- docker_host_openpgp_fingerprints(ASCII-armored or binary key text) -> ['9DC8...', ...]: the
  primary (public-key packet) fingerprints, upper-case hex: SHA-1 for version 4 keys (RFC
  4880, 12.2), SHA-256 for versions 5 and 6 (RFC 9580, 5.5.4).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

PUBLIC_KEY = 6


class OpenPGPError(ValueError):
    pass


def _dearmor(text: str) -> bytes:
    lines = text.strip().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN PGP PUBLIC KEY BLOCK"))
    except StopIteration:
        raise OpenPGPError("no PGP PUBLIC KEY BLOCK") from None
    body, in_headers = [], True
    for line in lines[start + 1:]:
        if line.startswith("-----END"):
            break
        if in_headers:
            if not line.strip():
                in_headers = False
            elif ":" not in line:  # no header lines at all: this is data already
                in_headers = False
                body.append(line)
            continue
        if line.startswith("="):  # the CRC-24 line
            continue
        body.append(line.strip())
    return base64.b64decode("".join(body), validate=True)


def _packets(data: bytes):
    """(tag, body) of each packet, new and old formats (key files use no partial lengths)."""
    pos = 0
    while pos < len(data):
        first = data[pos]
        if not first & 0x80:
            raise OpenPGPError(f"not an OpenPGP packet at byte {pos}")
        if first & 0x40:  # new format
            tag, pos = first & 0x3F, pos + 1
            octet = data[pos]
            if octet < 192:
                length, pos = octet, pos + 1
            elif octet < 224:
                length, pos = ((octet - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif octet == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
            else:
                raise OpenPGPError("partial body lengths in a key file")
        else:  # old format
            tag, kind, pos = (first >> 2) & 0x0F, first & 0x03, pos + 1
            if kind == 3:
                raise OpenPGPError("indeterminate length in a key file")
            size = (1, 2, 4)[kind]
            length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
        if pos + length > len(data):
            raise OpenPGPError("truncated packet")
        yield tag, data[pos:pos + length]
        pos += length


def docker_host_openpgp_fingerprints(key: Any) -> list[str]:
    data = key if isinstance(key, bytes) else str(key).encode()
    if data.lstrip().startswith(b"-----BEGIN"):
        data = _dearmor(data.decode())
    found = []
    for tag, body in _packets(data):
        if tag != PUBLIC_KEY or not body:
            continue
        version = body[0]
        if version == 4:
            digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False)
        elif version in (5, 6):
            digest = hashlib.sha256(bytes([0x95 + version]) + len(body).to_bytes(4, "big") + body)
        else:
            continue
        found.append(digest.hexdigest().upper())
    return found


def _fingerprints_or_none(key: Any) -> list[str]:
    """The filter: a file that is no OpenPGP key (an error page) has no fingerprint."""
    try:
        return docker_host_openpgp_fingerprints(key)
    except ValueError:
        return []


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_host_openpgp_fingerprints": _fingerprints_or_none}
