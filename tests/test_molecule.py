"""Every Molecule scenario of every role, then the whole-stack scenarios under molecule/.
Each runs create, converge, idempotence, check, side_effect, verify (testinfra), destroy
against real containers; its full log is kept in .test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import OUTPUT, ROOT, run


def scenarios() -> list[tuple[Path, str]]:
    # The whole-stack scenarios first: they are the longest, and the pytest workers
    # take tests in this order, so the short role scenarios fill in around them.
    found = [(ROOT, p.parent.name) for p in sorted(ROOT.glob("molecule/*/molecule.yml"), reverse=True)]
    found += [(p.parent.parent.parent, p.parent.name) for p in sorted(ROOT.glob("roles/*/molecule/*/molecule.yml"))]
    return found


def scenario_id(item: tuple[Path, str]) -> str:
    where, name = item
    return f"{where.name if where != ROOT else 'stack'}/{name}"


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", scenarios(), ids=scenario_id)
def test_molecule_scenario(scenario: tuple[Path, str]):
    where, name = scenario
    role = where.name if where != ROOT else "stack"
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / f"molecule-{role}-{name}.log"
    # The whole-stack scenarios take up to 30 minutes on a busy 2-core machine (multihost: two
    # VMs, each loading every image, then setup.yml again through the fault tests): they get
    # 50 minutes, a role's scenario 30, so a slow machine is not read as a failure.
    result = run("bash", "-c", f"cd {where} && molecule test -s {name}", timeout=3000 if role == "stack" else 1800,
                 env={"DEVSTACK_ROLE": role})
    log.write_text(result.output)
    assert result.returncode == 0, f"molecule test failed for {role}/{name} (full log: {log}):\n" + result.output[-8000:]
