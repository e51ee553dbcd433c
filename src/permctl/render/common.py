"""Renderers: separate consumers of the plan data (text for terminals, markdown for pull
requests, JSON for machines). What they share lives here.

Only types come from the plan stage: the offline access report shares the escaping and titles
here without loading it (tests/access/test_access_cli.py)."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import TYPE_CHECKING

from permctl.model import Service
from permctl.vocabulary import KIND_NAMES as KIND_NAMES

if TYPE_CHECKING:
    from permctl.plan import Plan
    from permctl.plan.access_configurations import AccessConfigurationChange
    from permctl.plan.changes import ChangeReason
    from permctl.plan.people import PeopleChange

NO_CHANGES = "No changes. Live state matches the file."

SERVICE_TITLES: dict[Service, str] = {"asm": "Service Mesh", "cloudsso": "CloudSSO"}

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
        if plan.access_configuration_changes:
            parts.append(
                f"Access configurations: {s.configuration_creates} to create, "
                f"{s.configuration_updates} to update, {s.configuration_deletes} to delete"
                f"{f', {s.widening} widening' if s.widening else ''}."
            )
    else:
        parts.append(NO_CHANGES)
    if s.unmanaged:
        parts.append(f"{count_of(s.unmanaged, 'unmanaged grant')} left alone.")
    if plan.unmanaged_access_configurations:
        unmanaged = len(plan.unmanaged_access_configurations)
        parts.append(f"{count_of(unmanaged, 'unmanaged access configuration')} left alone.")
    return " ".join(parts)


def printable(text: str) -> str:
    """User-derived text made safe to show: control and format characters (terminal escapes,
    newlines, bidi overrides) are replaced, so a hostile name cannot rewrite the output."""
    return "".join(
        "\N{REPLACEMENT CHARACTER}" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    )


MAX_CELL = 160  # characters of one name or message shown in a markdown cell
_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$])")
_MENTIONS = re.compile(r"([@#])")


def escape(text: str, limit: int = MAX_CELL) -> str:
    """Plain text made inert in GitHub markdown: markdown specials backslash-escaped on top of
    what `escape_html` does, so a name can neither break a table nor start a list or link."""
    return _SPECIALS.sub(r"\\\1", escape_html(text, limit))


def escape_html(text: str, limit: int = MAX_CELL) -> str:
    """Plain text made inert inside an HTML block (where markdown is not parsed): one line, at
    most `limit` characters, HTML-escaped, and `@`/`#` split from what follows so no mention
    or issue reference fires."""
    flat = printable(" ".join(text.split()))
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MENTIONS.sub("\\1\N{ZERO WIDTH SPACE}", html.escape(flat, quote=False))


def count_of(number: int, noun: str) -> str:
    """`1 principal`, `2 principals`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


# -- access configurations, shared by the text and markdown renderers ----------------------


def configuration_name(plan: Plan, change: AccessConfigurationChange) -> str:
    if change.action == "create":
        return change.after.name
    return plan.describe(change.configuration_id, change.before.name)


def widenings(change: AccessConfigurationChange) -> list[str]:
    """`+ Allow ecs:* on * (12 accounts, 40 principals)`, one per change that lets holders do
    more, with how far it reaches; none for a narrowing change."""
    if change.action == "delete":
        return []
    return [f"{line} ({change.reach})" for line in change.diff.widening]


PEOPLE_SYMBOLS = {"gain": "+", "lose": "-"}
_VERBS = {"gain": ("gains", "gain"), "lose": ("loses", "lose")}


def people_headline(plan: Plan) -> str:
    """`People (through groups too): 38 gain access, 1 loses access`, each person once."""
    counts = [
        len({p.principal_id for c in plan.people if c.action == action for p in c.people})
        for action in ("gain", "lose")
    ]
    gain, lose = (
        f"{people_of(n)} {_VERBS[a][n > 1]} access" for a, n in zip(_VERBS, counts, strict=True)
    )
    return f"People (through groups too): {gain}, {lose}"


def people_sentence(plan: Plan, change: PeopleChange) -> str:
    """`37 people gain Admin on prod (through group platform-admins)`, `bob loses istio-admin
    on prod`: one person is named, more are counted."""
    names = plan.names
    through = change.through_group_id
    group = names.get(through, through) if through else ""
    verb = _VERBS[change.action]
    access = (
        f"{names.get(change.role, change.role)} on {names.get(change.target_id, change.target_id)}"
    )
    if change.members_unknown:
        return f"the members of group {group} {verb[1]} {access} (they could not be read)"
    count = len(change.people)
    first = change.people[0] if count == 1 else None
    who = (first.name or first.principal_id) if first else people_of(count)
    return f"{who} {verb[count > 1]} {access}" + (f" (through group {group})" if through else "")


def people_of(number: int) -> str:
    """`no one`, `1 person`, `2 people`."""
    if number == 0:
        return "no one"
    return "1 person" if number == 1 else f"{number} people"
