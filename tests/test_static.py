"""Static checks: lint and syntax of everything Ansible will read."""

import re

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


STUB = """#!/usr/bin/env bash
# Stand-in for {name}: logs its call, exits with the code the test set for it.
echo "{name} $*" >> "$STUB_LOG"
case "{name} $*" in
  "pytest -m serial"*) exit "${{STUB_SERIAL_RC:-0}}" ;;
  pytest*) exit "${{STUB_PARALLEL_RC:-0}}" ;;
  python3*) exit "${{STUB_SECRETS_RC:-0}}" ;;
esac
"""


@pytest.mark.parametrize(
    ("args", "parallel", "serial", "secrets", "expected"),
    [
        ([], 0, 0, 0, 0),
        ([], 5, 0, 0, 5),    # a plain run whose parallel half collected nothing
        ([], 0, 5, 0, 5),    # a plain run whose serial half collected nothing
        ([], 5, 5, 0, 5),
        ([], 1, 0, 0, 1),
        ([], 0, 0, 1, 1),    # a secret found
        (["-k", "redis"], 0, 5, 0, 0),   # filtered: a half may select nothing
        (["-k", "redis"], 5, 0, 0, 0),
        (["-k", "redis"], 5, 5, 0, 5),   # ... not both
        (["-k", "redis"], 0, 1, 0, 1),
    ],
)
def test_bin_test_exit_code(tmp_path, args, parallel, serial, secrets, expected):
    """bin/test's verdict from its parts (pytest exits 5 when it collected no test), with
    every command it runs replaced by a stub: only a run filtered by extra arguments may have
    a half with no test; a plain run whose half collected nothing lost its tests somewhere."""
    import os
    import shutil
    import subprocess

    (tmp_path / "bin").mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "bin" / "test", tmp_path / "bin" / "test")
    stubs = {"bin/bootstrap": "bootstrap", **{f".venv/bin/{n}": n for n in
                                             ("pytest", "ansible-playbook", "python3", "docker")}}
    for path, name in stubs.items():
        (tmp_path / path).write_text(STUB.format(name=name))
        (tmp_path / path).chmod(0o755)
    log = tmp_path / "calls.log"
    env = {**os.environ, "STUB_LOG": str(log), "STUB_PARALLEL_RC": str(parallel),
           "STUB_SERIAL_RC": str(serial), "STUB_SECRETS_RC": str(secrets)}
    done = subprocess.run(["bash", tmp_path / "bin" / "test", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines()
    assert done.returncode == expected, (done.stdout, done.stderr, calls)
    assert [c.split()[0] for c in calls if not c.startswith("docker")] == \
        ["bootstrap", "ansible-playbook", "pytest", "pytest"] + (["python3"] if (parallel, serial) != (5, 5) else [])
    if expected == 5:
        assert "no test" in done.stderr, done.stderr


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in markdown.splitlines() if re.match(r"#{1,6} ", line)}


def test_links_between_the_docs_reach_their_file_and_heading():
    # README.md and docs/*.md send readers to each other's sections (README's shared-host
    # paragraph to docs/hosts.md's "what is shared"): a renamed file or heading breaks them.
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and anchor not in heading_anchors(file.read_text()):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
