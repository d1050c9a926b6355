"""docs/reliability.md names, for each hazard, the test that proves the project handles it: every
test it cites must exist, or the table promises a guarantee nothing checks.

A citation is a backticked `path/to/test_file.py::test_name`; a following `::other_name` in
the same row is another test of that row's last cited file. A backticked Python path (a glob
such as `tests/test_*_input.py` too) must match at least one file of the project."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from conftest import ROOT

DOC = ROOT / "docs" / "reliability.md"
CODE = re.compile(r"`([^`]+)`")
CITATION = re.compile(r"^(?P<path>[\w./*-]+\.py)?::(?P<name>\w+)$")
PYTHON_PATH = re.compile(r"^[\w.*-]+(/[\w.*-]+)+\.py$")


@cache
def functions_in(path: Path) -> frozenset[str]:
    """Names of the functions (module level or in a class) defined in a Python file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return frozenset(node.name for node in ast.walk(tree)
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def citation_problems(text: str, root: Path) -> list[str]:
    """What is wrong with the citations of a reliability table (empty: every one is real)."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            continue
        last_file: str | None = None
        for code in CODE.findall(line):
            cited = CITATION.match(code)
            if cited is None:
                if PYTHON_PATH.match(code) and not list(root.glob(code)):
                    problems.append(f"line {number}: `{code}` matches no file")
                continue
            path, name = cited["path"], cited["name"]
            if path is None:
                if last_file is None:
                    problems.append(f"line {number}: `{code}` follows no cited file in its row")
                    continue
                path = last_file
            last_file = path
            file = root / path
            if not file.is_file():
                problems.append(f"line {number}: `{code}`: {path} does not exist")
            elif name not in functions_in(file):
                problems.append(f"line {number}: `{code}`: {path} has no test {name}")
    return problems


def test_every_test_the_reliability_table_cites_exists():
    assert citation_problems(DOC.read_text(), ROOT) == []


def test_a_wrong_name_a_missing_file_and_an_orphan_continuation_are_found(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_real.py").write_text("def test_here():\n    pass\n\n\ndef test_also():\n    pass\n")
    table = "\n".join([
        "| hazard | does | test |",
        "| a | b | `tests/test_real.py::test_here`, `::test_also`, `tests/test_*.py` |",
        "| a | b | `tests/test_real.py::test_gone`, `::test_also` |",
        "| a | b | `tests/test_none.py::test_here` |",
        "| a | b | `::test_here` |",
        "| a | b | `tests/test_nothing_*.py` |",
    ])
    assert citation_problems(table, tmp_path) == [
        "line 3: `tests/test_real.py::test_gone`: tests/test_real.py has no test test_gone",
        "line 4: `tests/test_none.py::test_here`: tests/test_none.py does not exist",
        "line 5: `::test_here` follows no cited file in its row",
        "line 6: `tests/test_nothing_*.py` matches no file",
    ]
