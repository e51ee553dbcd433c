"""Access rows for people and tools: aligned columns for a terminal, a table per service for a
pull request or a wiki, CSV for a spreadsheet, JSON for machines.

Everything a user or the cloud named is made inert in each format: control characters never
reach a terminal, markdown specials are escaped, and a CSV cell cannot start a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime

from permctl.access.rows import COLUMNS, AccessRow
from permctl.model import SERVICES
from permctl.render.common import SERVICE_TITLES, escape, printable

FORMAT_VERSION = "1"
NOTHING = "No access matches."
# Spreadsheets run a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = (
    "service",
    "principal_type",
    "principal",
    "target",
    "role",
    "via",
    "expires",
    "in_file",
)
_MARKDOWN_COLUMNS = ("principal", "principal_type", "target", "role", "via", "expires", "in_file")


def _cell(row: AccessRow, column: str) -> str:
    value = row.fields()[column]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value or ""


def text(rows: Sequence[AccessRow]) -> str:
    if not rows:
        return NOTHING + "\n"
    table = [[c.upper().replace("_", " ") for c in _TEXT_COLUMNS]] + [
        [printable(_cell(row, c)) for c in _TEXT_COLUMNS] for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(_TEXT_COLUMNS))]
    return "".join(
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in table
    )


def markdown(rows: Sequence[AccessRow]) -> str:
    if not rows:
        return f"_{NOTHING}_\n"
    parts: list[str] = []
    for service in SERVICES:
        mine = [row for row in rows if row.service == service]
        if not mine:
            continue
        header = " | ".join(c.replace("_", " ") for c in _MARKDOWN_COLUMNS)
        lines = [
            f"## {SERVICE_TITLES[service]}",
            "",
            f"| {header} |",
            "|" + "---|" * len(_MARKDOWN_COLUMNS),
            *(
                "| " + " | ".join(escape(_cell(row, c)) for c in _MARKDOWN_COLUMNS) + " |"
                for row in mine
            ),
        ]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def csv_text(rows: Sequence[AccessRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_inert(_cell(row, c)) for c in COLUMNS] for row in rows)
    return out.getvalue()


def _inert(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading `'`."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def json_text(rows: Sequence[AccessRow], source: str, generated_at: datetime) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at.isoformat(),
        "source": source,
        "rows": [row.fields() for row in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
