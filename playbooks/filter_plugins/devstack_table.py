"""Filters for the playbooks' reports (summary.yml).

devstack_table: rows (dicts) and the columns to show, as aligned text lines:

    {{ rows | devstack_table(['host', 'state', 'django']) }}
    -> ['HOST      STATE  DJANGO', 'sz-dev-01 ok     http://...', ...]

A missing or empty value shows as '-'.
"""

from __future__ import annotations

from typing import Any


def devstack_table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise TypeError("devstack_table: rows must be a list of dicts")
    cells = [[col.upper() for col in columns]]
    cells += [[str(row.get(col)) if row.get(col) not in (None, "") else "-" for col in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"devstack_table": devstack_table}
