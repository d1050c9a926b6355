"""Filters of the samba role: samba_hosts_allow checked, and written the way smbd matches it.

- samba_hosts_allow_problems(entries) -> one message per entry that is not an IPv4/IPv6
  address or network, each naming samba_hosts_allow; [] when all are good
- samba_hosts_allow_tokens(entries) -> the entries as `hosts allow` tokens smbd matches:
  an address compressed and lower case (smbd compares a lone address as a string), a network
  as address/netmask (smbd reads a prefix of three digits, /100 to /128, as a netmask
  address and would never match it), duplicates dropped, order kept

Unit tests: tests/test_samba_filters.py.
"""

from __future__ import annotations

import ipaddress
from typing import Any

VARIABLE = "samba_hosts_allow"


def _network(entry: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network an entry names (an address is a network of one), or None when it is not one."""
    if not isinstance(entry, str) or entry != entry.strip() or not entry or "%" in entry:
        return None
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def samba_hosts_allow_problems(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return [f"{VARIABLE} must be a list of IPv4/IPv6 addresses or networks (CIDR), got {entries!r}"]
    return [
        f"{VARIABLE}[{index}] must be an IPv4 or IPv6 address or a network such as 192.168.1.0/24 "
        f"or fd00::/64, got {entry!r}"
        for index, entry in enumerate(entries)
        if _network(entry) is None
    ]


def samba_hosts_allow_tokens(entries: list[str]) -> list[str]:
    tokens: list[str] = []
    for entry in entries:
        network = _network(entry)
        if network is None:
            raise ValueError(f"{VARIABLE}: not an address or network: {entry!r}")
        if network.num_addresses == 1:
            token = str(network.network_address)
        else:
            token = network.with_netmask
        if token not in tokens:
            tokens.append(token)
    return tokens


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "samba_hosts_allow_problems": samba_hosts_allow_problems,
            "samba_hosts_allow_tokens": samba_hosts_allow_tokens,
        }
