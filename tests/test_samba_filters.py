"""Unit tests of the samba role's filter plugin (roles/samba/filter_plugins/samba_hosts.py):
samba_hosts_allow checked, and written as tokens smbd matches."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("samba_hosts", ROOT / "roles/samba/filter_plugins/samba_hosts.py")
samba_hosts = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(samba_hosts)


def test_addresses_and_networks_of_both_families_are_good():
    assert samba_hosts.samba_hosts_allow_problems(
        ["192.168.1.10", "10.0.0.0/8", "192.168.1.5/24", "::1", "fd00::/64", "2001:DB8::1/128", "0.0.0.0/0"]) == []
    assert samba_hosts.samba_hosts_allow_problems([]) == []


@pytest.mark.parametrize("entry", [
    "10.0.0.300", "foo bar", "", " 10.0.0.1", "10.0.0.1 ", "10.0.0.0/33", "fd00::/129", "10.0.0.0/-1",
    "localhost", "ALL", "150.203.", "10.0.0.1 EXCEPT 10.0.0.2", "fe80::1%eth0", "10.0.0.1,10.0.0.2", None, 10,
])
def test_anything_else_is_named_with_its_index(entry):
    problems = samba_hosts.samba_hosts_allow_problems(["10.0.0.1", entry])
    assert len(problems) == 1
    assert problems[0].startswith("samba_hosts_allow[1] must be an IPv4 or IPv6 address or a network")
    assert repr(entry) in problems[0]


def test_not_a_list_is_named():
    assert samba_hosts.samba_hosts_allow_problems("10.0.0.1")[0].startswith("samba_hosts_allow must be a list")


def test_tokens_are_what_smbd_matches():
    # A lone address is compared as a string by smbd: compressed, lower case. A network is
    # address/netmask: smbd reads a three-digit prefix (/100 and more) as a netmask address.
    assert samba_hosts.samba_hosts_allow_tokens(
        ["127.0.0.1", "::1", "172.18.0.1", "192.168.1.5/24", "10.1.2.3/32", "FD00:0:0::7", "fd00:5a3b::/112",
         "2001:db8::/32", "0.0.0.0/0"]) == [
        "127.0.0.1", "::1", "172.18.0.1", "192.168.1.0/255.255.255.0", "10.1.2.3", "fd00::7",
        "fd00:5a3b::/ffff:ffff:ffff:ffff:ffff:ffff:ffff:0", "2001:db8::/ffff:ffff::", "0.0.0.0/0.0.0.0"]


def test_tokens_drop_duplicates_in_order():
    # The gateway listed by the user too, or 127.0.0.1 given again, appears once.
    assert samba_hosts.samba_hosts_allow_tokens(["127.0.0.1", "172.18.0.1", "172.18.0.1", "127.0.0.1/32"]) == [
        "127.0.0.1", "172.18.0.1"]


def test_tokens_refuse_what_the_checks_refuse():
    with pytest.raises(ValueError, match="samba_hosts_allow"):
        samba_hosts.samba_hosts_allow_tokens(["10.0.0.300"])
