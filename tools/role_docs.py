#!/usr/bin/env python3
"""Role variable docs from one source: each role's meta/argument_specs.yml.

For every role under roles/ this renders the "Variables" table of its README.md from the
argument specs (between the BEGIN/END VARIABLES markers) and checks that the specs and
defaults/main.yml agree:

- every public variable of defaults/main.yml (a name not starting with "_") is an option of
  the `main` entry point (or, for a variable only another entry point takes, of that one), with `type`, `description` and a `default` equal to the value in
  defaults/main.yml (a templated default is written as its template text);
- every option of every entry point is a variable of defaults/main.yml;
- no description holds Jinja (`{{`, `{%`, `{#`): Ansible templates the whole argument spec when it
  validates a role's arguments, descriptions included.

Templated defaults are written in the spec as their template text, such as
`default: "{{ 7777 + (devstack_port_offset | default(0) | int) }}"` on an `int` option. Ansible
accepts that: it renders the spec before validate_argument_spec checks it (the default becomes an
int), and a spec default only fills a variable that has no value, which never happens while
defaults/main.yml sets every option. (The bare validator, given the unrendered text and no value,
would reject it as "cannot be converted to an int".)

    python3 tools/role_docs.py            rewrite the README tables; exit 1 on spec problems
    python3 tools/role_docs.py --check    change nothing; exit 1 naming every role whose README
                                          is not what would be generated, and every problem
    python3 tools/role_docs.py redis      only these roles

Python 3.11, standard library and PyYAML (in the project's .venv).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import yaml
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("tools/role_docs.py needs PyYAML: run it with the project's .venv (export PATH=$PWD/.venv/bin:$PATH)")

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml by tools/role_docs.py) -->"
END = "<!-- END VARIABLES -->"
# A default whose one-line YAML form is longer than this is summarised in the table.
MAX_DEFAULT_CHARS = 100


@dataclass
class Role:
    path: Path
    defaults: dict[str, Any]
    specs: dict[str, Any]
    readme: str

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def load(cls, path: Path) -> Role:
        def read(name: str) -> str:
            file = path / name
            return file.read_text(encoding="utf-8") if file.is_file() else ""

        defaults = yaml.safe_load(read("defaults/main.yml")) or {}
        meta = yaml.safe_load(read("meta/argument_specs.yml")) or {}
        return cls(path, defaults, meta.get("argument_specs") or {}, read("README.md"))


@dataclass
class Result:
    role: str
    problems: list[str] = field(default_factory=list)
    readme: str | None = None  # the README as it should be (None when it cannot be generated)


# ---------------------------------------------------------------------------------------------
# Rendering


def _code(text: str) -> str:
    """A Markdown code span for text, with enough backticks."""
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped (inside code spans too, as GitHub's tables need)."""
    return text.replace("|", "\\|")


def _description(option: dict[str, Any]) -> str:
    """The description as one line (a list of strings is joined, as ansible-doc does)."""
    text = option.get("description", "")
    if isinstance(text, list):
        text = " ".join(str(part) for part in text)
    return " ".join(str(text).split())


def _flow(value: Any) -> str:
    """The value as one line of YAML (flow style), as one would write it in a vars file."""
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            return value  # a template: shown as written
        try:
            plain = value != "" and value.strip() == value and yaml.safe_load(value) == value
        except yaml.YAMLError:
            plain = False
        return value if plain else json.dumps(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def format_default(value: Any) -> str:
    text = _flow(value)
    if len(text) > MAX_DEFAULT_CHARS and isinstance(value, (list, dict)):
        return f"{len(value)} {'entries' if isinstance(value, list) else 'keys'}, see `defaults/main.yml`"
    return _code(text)


def _type(option: dict[str, Any]) -> str:
    kind = option.get("type", "str")
    if kind == "list" and "elements" in option:
        return f"list of {option['elements']}"
    return kind


def _meaning(option: dict[str, Any]) -> str:
    text = _description(option)
    if option.get("choices"):
        text += " One of " + ", ".join(_code(_flow(c)) for c in option["choices"]) + "."
    if option.get("no_log"):
        text += " Never logged (`no_log`)."
    return text


def _rows(options: dict[str, Any], prefix: str = "") -> list[str]:
    rows = []
    for name, option in options.items():
        option = option or {}
        if "default" in option:
            default = format_default(option["default"])
        elif option.get("required"):
            default = "required"
        else:
            default = ""
        cells = [_code(prefix + name), _type(option), default, _meaning(option)]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if option.get("options"):
            sub = f"{prefix}{name}[]." if option.get("type") == "list" else f"{prefix}{name}."
            rows += _rows(option["options"], sub)
    return rows


def render_table(options: dict[str, Any]) -> str:
    head = ["| Variable | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    return "\n".join(head + _rows(options))


def render_variables(specs: dict[str, Any]) -> str:
    """The text between the markers: the table of entry point `main`, then the other entry points."""
    main = (specs.get("main") or {}).get("options") or {}
    parts = [render_table(main)]
    for entry, spec in specs.items():
        if entry == "main":
            continue
        options = (spec or {}).get("options") or {}
        if options == main:
            parts.append(f"Entry point `{entry}` (`tasks_from: {entry}`) takes the same variables.")
        else:
            parts.append(f"Entry point `{entry}` (`tasks_from: {entry}`):\n\n{render_table(options)}")
    return "\n\n".join(parts)


def replace_block(readme: str, block: str) -> str:
    start = readme.index(BEGIN) + len(BEGIN)
    end = readme.index(END, start)
    return f"{readme[:start]}\n\n{block}\n\n{readme[end:]}"


# ---------------------------------------------------------------------------------------------
# Checks


def _has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _check_options(options: dict[str, Any], where: str, problems: list[str]) -> None:
    for name, option in options.items():
        option = option or {}
        for key in ("type", "description"):
            if key not in option:
                problems.append(f"{where}{name} has no `{key}` in meta/argument_specs.yml")
        if _has_jinja(_description(option)):
            problems.append(f"{where}{name}: its description holds Jinja, which Ansible would template at run time")
        if option.get("options"):
            _check_options(option["options"], f"{where}{name}.", problems)


def check_role(role: Role) -> Result:
    result = Result(role.name)
    problems = result.problems
    public = {name: value for name, value in role.defaults.items() if not name.startswith("_")}
    if "main" not in role.specs:
        problems.append("meta/argument_specs.yml has no entry point `main`")
    for entry, spec in role.specs.items():
        options = (spec or {}).get("options") or {}
        _check_options(options, "" if entry == "main" else f"entry point {entry}: ", problems)
        for name in options:
            if name not in role.defaults:
                problems.append(f"{name} is in meta/argument_specs.yml (entry point {entry}) but not in defaults/main.yml")
    main = (role.specs.get("main") or {}).get("options") or {}
    others = {}
    for entry, spec in role.specs.items():
        if entry != "main":
            for name, option in ((spec or {}).get("options") or {}).items():
                others.setdefault(name, option)
    for name, value in public.items():
        option = main.get(name, others.get(name))
        if option is None:
            problems.append(f"{name} is in defaults/main.yml but not in meta/argument_specs.yml (entry point main or another)")
        elif "default" not in option:
            problems.append(f"{name} has no `default` in meta/argument_specs.yml (defaults/main.yml: {_flow(value)})")
        elif option["default"] != value:
            problems.append(
                f"{name}: default {_flow(option['default'])} in meta/argument_specs.yml, {_flow(value)} in defaults/main.yml"
            )
    if role.readme.count(BEGIN) != 1 or role.readme.count(END) != 1 or role.readme.index(BEGIN) > role.readme.index(END):
        problems.append(f"README.md needs the two markers once each, in order: {BEGIN} ... {END}")
    else:
        result.readme = replace_block(role.readme, render_variables(role.specs))
    return result


def role_paths(roles_dir: Path, names: list[str]) -> list[Path]:
    if names:
        return [roles_dir / name for name in names]
    return sorted(p for p in roles_dir.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a README or spec is out of date")
    parser.add_argument("--roles-dir", type=Path, default=ROOT / "roles", help="default: roles/ of this project")
    parser.add_argument("--diff", action="store_true", help="with --check: show how each README would change")
    parser.add_argument("roles", nargs="*", help="role names (default: every role with meta/argument_specs.yml)")
    args = parser.parse_args(argv)

    failed = []
    for path in role_paths(args.roles_dir, args.roles):
        role = Role.load(path)
        result = check_role(role)
        shown = f"{args.roles_dir.name}/{role.name}" if args.roles_dir.name else role.name
        for problem in result.problems:
            print(f"{shown}: {problem}")
        stale = result.readme is not None and result.readme != role.readme
        if stale and args.check:
            print(f"{shown}: README.md differs from what tools/role_docs.py generates (run python3 tools/role_docs.py)")
            if args.diff:
                sys.stdout.writelines(
                    difflib.unified_diff(
                        role.readme.splitlines(keepends=True),
                        result.readme.splitlines(keepends=True),
                        f"{shown}/README.md",
                        f"{shown}/README.md (generated)",
                    )
                )
        elif stale:
            (path / "README.md").write_text(result.readme, encoding="utf-8")
            print(f"{shown}: README.md regenerated")
        if result.problems or (stale and args.check):
            failed.append(role.name)
    if failed:
        sys.stdout.flush()
        print(f"role docs out of date: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
