"""Static checks: lint and syntax of everything Ansible will read."""

import pytest
from conftest import ROOT, run


def test_yamllint_is_clean():
    result = run("yamllint", "--strict", ".")
    assert result.returncode == 0, result.output


def test_ansible_lint_production_profile_is_clean():
    result = run("ansible-lint", "--profile", "production")
    assert result.returncode == 0, result.output[-6000:]


@pytest.mark.parametrize(
    "playbook", ["setup.yml", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "playbooks").glob("*.yml"))]
)
def test_playbook_syntax(playbook):
    result = run("ansible-playbook", "--syntax-check", playbook)
    assert result.returncode == 0, result.output


def test_every_role_has_docs_defaults_specs_and_a_scenario():
    for role in sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir()):
        for part in ("README.md", "defaults/main.yml", "meta/argument_specs.yml", "meta/main.yml",
                     "molecule/default/molecule.yml"):
            assert (role / part).is_file(), f"{role.name} lacks {part}"


def test_scenarios_publish_on_ports_of_their_own():
    """The scenarios run side by side (bin/test runs three at once): a host port two of them
    set would make whichever starts second fail ("port is already allocated")."""
    import yaml

    seen: dict[int, str] = {}
    clashes = []
    for path in sorted([*ROOT.glob("roles/*/molecule/*/molecule.yml"), *ROOT.glob("molecule/*/molecule.yml")]):
        config = yaml.safe_load(path.read_text()) or {}
        group_vars = ((config.get("provisioner") or {}).get("inventory") or {}).get("group_vars") or {}
        for values in group_vars.values():
            for name, value in (values or {}).items():
                if name.endswith("_port") and isinstance(value, int) and value != 0:
                    where = f"{path.relative_to(ROOT)}: {name}"
                    if value in seen:
                        clashes.append(f"{value}: {seen[value]} and {where}")
                    seen[value] = where
    assert not clashes, "host ports set by two scenarios: " + "; ".join(clashes)
