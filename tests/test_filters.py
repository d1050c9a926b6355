"""Unit tests of the playbooks' filter plugins."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "playbooks" / "filter_plugins" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_aligns_columns_and_marks_missing_values():
    table = load("devstack_table").devstack_table(
        [{"host": "sz-dev-01", "state": "ok", "url": "http://192.0.2.11:8000/"},
         {"host": "sz-dev-03", "state": "unreachable"}],
        ["host", "state", "url"])
    assert table == [
        "HOST       STATE        URL",
        "sz-dev-01  ok           http://192.0.2.11:8000/",
        "sz-dev-03  unreachable  -",
    ]


def test_table_refuses_rows_that_are_not_dicts():
    with pytest.raises(TypeError, match="rows must be a list of dicts"):
        load("devstack_table").devstack_table(["sz-dev-01"], ["host"])
