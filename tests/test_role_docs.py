"""Role variable docs have one source, meta/argument_specs.yml (tools/role_docs.py): every
README's Variables table is what the generator makes of the specs, and the specs agree with
defaults/main.yml. Also unit tests of the table rendering and of the check on tiny roles."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, run

_spec = importlib.util.spec_from_file_location("role_docs", ROOT / "tools" / "role_docs.py")
role_docs = importlib.util.module_from_spec(_spec)
sys.modules["role_docs"] = role_docs
_spec.loader.exec_module(role_docs)

TINY_SPEC = {
    "tiny_port": {
        "type": "int",
        "default": "{{ 7777 + (devstack_port_offset | default(0) | int) }}",
        "description": "Host port, 1-65535.",
    },
    "tiny_mode": {"type": "str", "choices": ["auto", "no"], "default": "auto", "description": ["Mode:", "auto or no."]},
    "tiny_password": {"type": "str", "no_log": True, "default": "", "description": "From Vault."},
    "tiny_users": {
        "type": "list",
        "elements": "dict",
        "default": [{"name": "dev"}],
        "description": "Users.",
        "options": {"name": {"type": "str", "required": True, "description": "User name."}},
    },
    "tiny_max": {"type": "str", "default": "0", "description": "Limit, `0` for none."},
}

TINY_TABLE = """\
| Variable | Type | Default | Meaning |
| --- | --- | --- | --- |
| `tiny_port` | int | `{{ 7777 + (devstack_port_offset \\| default(0) \\| int) }}` | Host port, 1-65535. |
| `tiny_mode` | str | `auto` | Mode: auto or no. One of `auto`, `"no"`. |
| `tiny_password` | str | `""` | From Vault. Never logged (`no_log`). |
| `tiny_users` | list of dict | `[{name: dev}]` | Users. |
| `tiny_users[].name` | str | required | User name. |
| `tiny_max` | str | `"0"` | Limit, `0` for none. |"""


def test_every_role_readme_is_generated_from_its_specs_and_the_specs_match_the_defaults():
    result = run(sys.executable, "tools/role_docs.py", "--check", "--diff")
    assert result.returncode == 0, result.output


def test_the_table_renders_types_defaults_choices_secrets_and_sub_options():
    assert role_docs.render_table(TINY_SPEC) == TINY_TABLE


def test_a_long_default_is_summarised():
    long_list = [f"package-number-{i}" for i in range(10)]
    assert role_docs.format_default(long_list) == "10 entries, see `defaults/main.yml`"


def test_other_entry_points_are_listed_after_main():
    same = {"options": TINY_SPEC}
    other = {"options": {"tiny_port": TINY_SPEC["tiny_port"]}}
    text = role_docs.render_variables({"main": same, "publish": same, "facts": other})
    assert text.startswith(TINY_TABLE)
    assert "Entry point `publish` (`tasks_from: publish`) takes the same variables." in text
    assert "Entry point `facts` (`tasks_from: facts`):\n\n| Variable |" in text


def _tiny_role(roles: Path) -> Path:
    role = roles / "tiny"
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "defaults" / "main.yml").write_text(
        textwrap.dedent("""\
            ---
            tiny_port: "{{ 7777 + (devstack_port_offset | default(0) | int) }}"
            tiny_mode: auto
            """)
    )
    (role / "meta" / "argument_specs.yml").write_text(
        textwrap.dedent("""\
            ---
            argument_specs:
              main:
                options:
                  tiny_port:
                    type: int
                    default: "{{ 7777 + (devstack_port_offset | default(0) | int) }}"
                    description: Host port.
                  tiny_mode:
                    type: str
                    default: auto
                    description: Mode.
            """)
    )
    (role / "README.md").write_text(f"# tiny\n\n## Variables\n\n{role_docs.BEGIN}\nhand-written\n{role_docs.END}\n\nMore.\n")
    return role


def _check(roles: Path) -> tuple[int, str]:
    result = run(sys.executable, "tools/role_docs.py", "--check", "--roles-dir", roles)
    return result.returncode, result.output


def test_the_generator_writes_the_table_and_the_check_then_passes(tmp_path):
    role = _tiny_role(tmp_path)
    assert _check(tmp_path)[0] == 1
    assert run(sys.executable, "tools/role_docs.py", "--roles-dir", tmp_path).returncode == 0
    readme = (role / "README.md").read_text()
    assert "hand-written" not in readme
    assert "| `tiny_mode` | str | `auto` | Mode. |" in readme
    assert readme.endswith(f"{role_docs.END}\n\nMore.\n")
    assert _check(tmp_path) == (0, "")


def test_a_description_changed_without_regenerating_fails_the_check(tmp_path):
    role = _tiny_role(tmp_path)
    run(sys.executable, "tools/role_docs.py", "--roles-dir", tmp_path)
    spec = role / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("description: Mode.", "description: The mode."))
    code, output = _check(tmp_path)
    assert code == 1
    assert "tiny: README.md differs from what tools/role_docs.py generates" in output


def test_a_real_role_with_a_changed_description_fails_the_check(tmp_path):
    shutil.copytree(ROOT / "roles" / "redis", tmp_path / "redis", ignore=shutil.ignore_patterns("molecule"))
    spec = tmp_path / "redis" / "meta" / "argument_specs.yml"
    text = spec.read_text()
    assert "description: Name of the Redis container." in text
    spec.write_text(text.replace("description: Name of the Redis container.", "description: The Redis container."))
    code, output = _check(tmp_path)
    assert code == 1
    assert "redis: README.md differs" in output


@pytest.mark.parametrize(
    ("defaults_extra", "spec_edit", "named"),
    [
        ("tiny_new: 1\n", None, "tiny_new is in defaults/main.yml but not in meta/argument_specs.yml"),
        ("", ("tiny_mode:", "tiny_gone:\n        type: str\n        default: x\n        description: Gone.\n      tiny_mode:"),
         "tiny_gone is in meta/argument_specs.yml (entry point main) but not in defaults/main.yml"),
        ("", ("default: auto", "default: manual"), "tiny_mode: default manual in meta/argument_specs.yml, auto in defaults/main.yml"),
        ("", ("        default: auto\n", ""), "tiny_mode has no `default`"),
        ("", ("        type: str\n", ""), "tiny_mode has no `type`"),
        ("", ("description: Mode.", "description: Mode {{ x }}."), "tiny_mode: its description holds Jinja"),
    ],
    ids=["variable-missing-from-specs", "option-missing-from-defaults", "default-differs", "no-default", "no-type",
         "jinja-in-description"],
)
def test_the_check_names_specs_that_disagree_with_the_defaults(tmp_path, defaults_extra, spec_edit, named):
    role = _tiny_role(tmp_path)
    run(sys.executable, "tools/role_docs.py", "--roles-dir", tmp_path)
    with (role / "defaults" / "main.yml").open("a") as defaults:
        defaults.write(defaults_extra)
    if spec_edit:
        spec = role / "meta" / "argument_specs.yml"
        spec.write_text(spec.read_text().replace(*spec_edit))
    code, output = _check(tmp_path)
    assert code == 1
    assert f"tiny: {named}" in output
