"""The fingerprint of a repository's release key, read on the controller (roles/docker_host/
filter_plugins/docker_host_openpgp.py), against gpg's own: the key engine source `upstream`
fetches is used only when it carries the pinned fingerprint."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location(
    "docker_host_openpgp", ROOT / "roles/docker_host/filter_plugins/docker_host_openpgp.py")
openpgp = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(openpgp)


def gpg(home: Path, *args: str) -> str:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], check=True, capture_output=True,
                          text=True, env={**os.environ, "LC_ALL": "C"}).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """Two throw-away keys (RSA as Docker's, and ed25519): armored text and gpg's fingerprint."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    made = {}
    for name, algo in (("rsa", "rsa3072"), ("ed25519", "ed25519")):
        uid = f"devstack test {name} <{name}@example.test>"
        gpg(home, "--passphrase", "", "--quick-generate-key", uid, algo, "sign", "never")
        armored = gpg(home, "--armor", "--export", uid)
        fpr = next(line.split(":")[9] for line in gpg(home, "--with-colons", "--fingerprint", uid).splitlines()
                   if line.startswith("fpr:"))
        made[name] = (armored, fpr)
    return made


@pytest.mark.parametrize("name", ["rsa", "ed25519"])
def test_the_fingerprint_is_gpgs(keys, name):
    armored, fpr = keys[name]
    assert openpgp.docker_host_openpgp_fingerprints(armored) == [fpr]


def test_another_key_does_not_carry_the_pinned_fingerprint(keys):
    (rsa, rsa_fpr), (ed, _) = keys["rsa"], keys["ed25519"]
    assert rsa_fpr not in openpgp.docker_host_openpgp_fingerprints(ed)


def test_a_damaged_or_foreign_file_is_refused(keys):
    armored, _ = keys["rsa"]
    with pytest.raises(openpgp.OpenPGPError):
        openpgp.docker_host_openpgp_fingerprints("<html>not found</html>")
    lines = armored.splitlines()
    cut = "\n".join(lines[:len(lines) // 2] + lines[-2:])  # half the body gone
    with pytest.raises(ValueError):
        openpgp.docker_host_openpgp_fingerprints(cut)
    # As the role's filter: no fingerprint, so the pinned one is not found and the run stops.
    assert openpgp.FilterModule().filters()["docker_host_openpgp_fingerprints"]("<html>not found</html>") == []
