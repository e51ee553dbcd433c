"""Renderers: separate consumers of the plan data (text for terminals, markdown for pull
requests, JSON for machines). What they share lives here."""

from __future__ import annotations

import unicodedata

from permctl.model import PrincipalKind
from permctl.plan import Plan
from permctl.plan.changes import ChangeReason

NO_CHANGES = "No changes. Live state matches the file."

KIND_NAMES = {PrincipalKind.RAM_USER: "RAM user", PrincipalKind.RAM_ROLE: "RAM role"}

REASON_NOTES: dict[ChangeReason, str] = {
    "desired": "",
    "expired": "expired",
    "unlisted": "not in the file, pruned",
}


def summary_line(plan: Plan) -> str:
    """`Plan: 3 to add, 1 to change, ...`, or the no-changes sentence; unmanaged grants last."""
    s = plan.summary
    parts: list[str] = []
    if plan.has_changes:
        parts.append(
            f"Plan: {s.adds} to add, {s.role_changes} to change, {s.removes} to remove "
            f"on {count_of(s.principals, 'principal')}; "
            f"{count_of(s.creates, 'CloudSSO assignment')} to create, {s.deletes} to delete."
        )
    else:
        parts.append(NO_CHANGES)
    if s.unmanaged:
        parts.append(f"{count_of(s.unmanaged, 'unmanaged grant')} left alone.")
    return " ".join(parts)


def printable(text: str) -> str:
    """User-derived text made safe to show: control and format characters (terminal escapes,
    newlines, bidi overrides) are replaced, so a hostile name cannot rewrite the output."""
    return "".join(
        "\N{REPLACEMENT CHARACTER}" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    )


def count_of(number: int, noun: str) -> str:
    """`1 principal`, `2 principals`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
