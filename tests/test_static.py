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
