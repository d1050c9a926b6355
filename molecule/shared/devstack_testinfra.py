"""Fixtures shared by every testinfra suite (roles/*/molecule/*/tests, molecule/*/tests).

Loaded as a pytest plugin by the shared Molecule configuration (verifier: -p devstack_testinfra).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def generated_secret(host) -> Callable[[str], str]:
    """Reads a secret a role generated on the controller for this host, checking it is 0600."""
    folder = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "credentials" / host.backend.get_hostname()

    def read(name: str) -> str:
        path = folder / name
        assert path.stat().st_mode & 0o777 == 0o600, f"{path} must be 0600"
        return path.read_text().strip()

    return read
