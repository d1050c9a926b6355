"""requirements.yml tells the truth: the collections installed from the pinned `ansible`
package (Galaxy may be unreachable) satisfy the version ranges it names."""

import json

import yaml
from ansible.module_utils.compat.version import LooseVersion
from conftest import ROOT, run


def satisfies(version: str, spec: str) -> bool:
    ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
    for clause in spec.split(","):
        clause = clause.strip()
        op = next(o for o in (">=", "<=", "==", "!=", ">", "<") if clause.startswith(o))
        if not ops[op](LooseVersion(version), LooseVersion(clause[len(op):].strip())):
            return False
    return True


def test_satisfies_reads_ranges():
    assert satisfies("4.8.5", ">=4.8.0,<5.0.0")
    assert not satisfies("5.0.0", ">=4.8.0,<5.0.0")
    assert not satisfies("4.7.9", ">=4.8.0,<5.0.0")


def test_installed_collections_satisfy_requirements_yml():
    wanted = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    result = run("ansible-galaxy", "collection", "list", "--format", "json")
    assert result.returncode == 0, result.output
    installed: dict[str, str] = {}
    for collections in json.loads(result.output[result.output.index("{"):]).values():
        for name, info in collections.items():
            installed.setdefault(name, info["version"])
    for entry in wanted:
        assert entry["name"] in installed, f"{entry['name']} is not installed"
        assert satisfies(installed[entry["name"]], entry["version"]), (
            f"{entry['name']} {installed[entry['name']]} does not satisfy {entry['version']}"
        )


def test_the_lock_pins_every_requirement_at_its_version_with_hashes():
    """bin/bootstrap installs requirements.lock with --require-hashes: it must agree with
    requirements.txt (the file people edit), and every package in it must carry hashes."""
    import re

    def pins(text: str) -> dict[str, str]:
        return {m[1].lower().replace("_", "-"): m[2]
                for m in re.finditer(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", text, re.M)}

    wanted = pins((ROOT / "requirements.txt").read_text())
    lock_text = (ROOT / "requirements.lock").read_text()
    locked = pins(lock_text)
    assert wanted and {name: locked.get(name) for name in wanted} == wanted
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock_text.split("\n\n", 1)[-1])
    unhashed = [b.split("=")[0] for b in blocks if re.match(r"[A-Za-z0-9]", b) and "--hash=sha256:" not in b]
    assert unhashed == [] and len(locked) >= len(wanted)
