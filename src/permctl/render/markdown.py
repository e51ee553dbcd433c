"""The plan as a pull-request comment: headline, unsafe reasons, a summary table, then one
collapsible table per service.

Everything a user or the cloud named is escaped, so a hostile name can neither break the table
nor inject markup, mentions or links. Big plans are cut to fit GitHub's comment limit and say
how much was left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from permctl.model import Assignment
from permctl.plan import Plan
from permctl.plan.access_configurations import change_lines
from permctl.plan.changes import (
    AssignmentCreate,
    AssignmentDelete,
    ChangeReason,
    CloudSsoChange,
    unhandled,
)
from permctl.plan.safety import SafetyIssue, more_than_shown
from permctl.render.common import (
    KIND_NAMES,
    REASON_NOTES,
    configuration_name,
    count_of,
    escape,
    escape_html,
    people_headline,
    people_sentence,
    summary_line,
    widenings,
)

COMMENT_LIMIT = 65_536  # characters GitHub accepts in one comment
CLOSING_ROOM = 1_000  # kept free for the notes and tags that close the comment
MAX_ROWS_PER_SECTION = 250
OPEN_UP_TO_ROWS = 20  # sections this small are shown expanded
JSON_HINT = "the full plan is in `permctl plan --format json`"


@dataclass(frozen=True)
class _Section:
    title: str
    columns: tuple[str, ...]
    rows: tuple[str, ...]


def render(plan: Plan) -> str:
    head = _head(plan)
    sections = [
        s
        for s in (
            _asm(plan), _access_configurations(plan), _cloudsso(plan), _people(plan),
            _unmanaged(plan),
        )
        if s.rows
    ]  # fmt: skip
    budget = COMMENT_LIMIT - CLOSING_ROOM - len(head)
    parts, omitted = [head], 0
    for section in sections:
        text, left_out = _fit(section, budget)
        parts.append(text)
        budget -= len(text)
        omitted += left_out
    if omitted:
        parts.append(f"_{omitted} rows were left out to fit in one comment; {JSON_HINT}._\n")
    return "\n".join(parts)


def _head(plan: Plan) -> str:
    table = _summary_table(plan) if plan.has_changes or plan.unmanaged else []
    return "\n".join(
        [
            "## permctl plan",
            "",
            f"**{summary_line(plan)}**",
            "",
            *_unsafe(plan.safety_issues()),
            *table,
        ]
    )


def _unsafe(issues: Iterable[SafetyIssue]) -> list[str]:
    lines: list[str] = []
    for issue in issues:
        lines.append(f"> - **{type(issue).__name__}**: {escape(issue.reason, limit=1_000)}")
        shown = [*issue.grants_shown, more_than_shown(issue.grants)]
        lines += [f">   - {escape(grant)}" for grant in shown if grant]
    if not lines:
        return []
    warning = "> **This plan is unsafe.** Apply refuses it unless overridden:"
    return ["> [!CAUTION]", warning, *lines, ""]


def _summary_table(plan: Plan) -> list[str]:
    s = plan.summary
    rows = [
        ("Service Mesh roles to add", s.adds),
        ("Service Mesh roles to change", s.role_changes),
        ("Service Mesh roles to remove", s.removes),
        ("Principals updated", s.principals),
        ("CloudSSO assignments to create", s.creates),
        ("CloudSSO assignments to delete", s.deletes),
        ("Unmanaged grants left alone", s.unmanaged),
    ]
    if plan.access_configuration_changes:
        rows[-1:-1] = [
            ("Access configurations to create", s.configuration_creates),
            ("Access configurations to update", s.configuration_updates),
            ("Access configurations to delete", s.configuration_deletes),
            ("Access configuration changes that widen", s.widening),
        ]
    return ["| Change | Count |", "| --- | ---: |", *(f"| {n} | {c} |" for n, c in rows), ""]


def _asm(plan: Plan) -> _Section:
    rows = tuple(
        _row(
            change.action,
            plan.describe(update.principal_id, update.label),
            KIND_NAMES[update.kind],
            plan.describe(change.mesh_id),
            change.before or "",
            change.after or "",
            _reason(change.reason),
        )
        for update in plan.asm_updates
        for change in update.changes
    )
    title = (
        f"Service Mesh: {count_of(len(rows), 'role change')} "
        f"on {count_of(len(plan.asm_updates), 'principal')}"
    )
    return _Section(title, ("", "Principal", "Kind", "Mesh", "Before", "After", "Reason"), rows)


def _cloudsso(plan: Plan) -> _Section:
    rows = tuple(_cloudsso_row(plan, change) for change in plan.sso_changes)
    directory = escape_html(plan.directory_id or "")
    title = f"CloudSSO: {count_of(len(rows), 'assignment change')} in directory {directory}"
    return _Section(title, ("", "Account", "Principal", "Access configuration", "Reason"), rows)


def _access_configurations(plan: Plan) -> _Section:
    """One row per thing that changes; a widening change leads its access configuration's
    rows, marked, so a reviewer meets it first."""
    rows: list[str] = []
    for change in plan.access_configuration_changes:
        name = configuration_name(plan, change)
        rows += [_row("! widens", name, widening) for widening in widenings(change)]
        pruned = _reason("unlisted") if change.action == "delete" else ""
        rows.append(_row(change.action, name, pruned))
        rows += [
            _row(detail.symbol, name, ("  " * detail.level) + detail.text)
            for detail in change_lines(change)
        ]
    rows += [
        _row("unmanaged", plan.describe(i), "not in the file, left alone")
        for i in plan.unmanaged_access_configurations
    ]
    changes = count_of(len(plan.access_configuration_changes), "access configuration change")
    return _Section(
        f"CloudSSO: {changes}", ("", "Access configuration", "What changes"), tuple(rows)
    )


def _cloudsso_row(plan: Plan, change: CloudSsoChange) -> str:
    match change:
        case AssignmentCreate() | AssignmentDelete():
            cells = _assignment_cells(plan, change.assignment)
            return _row(change.action, *cells, _reason(change.reason))
        case _:
            unhandled(change)


def _people(plan: Plan) -> _Section:
    rows = tuple(_row(change.action, people_sentence(plan, change)) for change in plan.people)
    return _Section(escape_html(people_headline(plan)), ("", "Who gains or loses what"), rows)


def _unmanaged(plan: Plan) -> _Section:
    asm = tuple(
        _row(
            "Service Mesh",
            plan.describe(g.principal_id),
            f"{plan.describe(g.grant.mesh_id)}: {g.grant.role}",
        )
        for g in plan.unmanaged.asm
    )
    cloudsso = tuple(
        _row("CloudSSO", *_sso_principal_and_grant(plan, a)) for a in plan.unmanaged.cloudsso
    )
    grants = count_of(len(asm) + len(cloudsso), "grant")
    return _Section(
        f"Unmanaged, left alone: {grants} the file does not declare",
        ("Service", "Principal", "Grant"),
        asm + cloudsso,
    )


def _assignment_cells(plan: Plan, a: Assignment) -> tuple[str, str, str]:
    return (
        plan.describe(a.account_id),
        f"{a.principal_type} {plan.describe(a.principal_id)}",
        plan.describe(a.access_configuration_id),
    )


def _sso_principal_and_grant(plan: Plan, a: Assignment) -> tuple[str, str]:
    account, principal, configuration = _assignment_cells(plan, a)
    return principal, f"{configuration} on account {account}"


def _fit(section: _Section, budget: int) -> tuple[str, int]:
    """The section as collapsible markdown within `budget` characters, and how many rows it
    had to leave out."""
    opening = "<details open>" if len(section.rows) <= OPEN_UP_TO_ROWS else "<details>"
    head = [
        opening,
        f"<summary>{section.title}</summary>",
        "",
        "| " + " | ".join(section.columns) + " |",
        "|" + " --- |" * len(section.columns),
    ]
    tail = ["", "</details>", ""]
    used = sum(len(line) + 1 for line in head + tail)
    kept: list[str] = []
    for row in section.rows[:MAX_ROWS_PER_SECTION]:
        if used + len(row) + 1 > budget:
            break
        kept.append(row)
        used += len(row) + 1
    left_out = len(section.rows) - len(kept)
    more = ["", f"_and {left_out} more; {JSON_HINT}._"] if left_out else []
    return "\n".join([*head, *kept, *more, *tail]), left_out


def _row(*cells: str) -> str:
    return "| " + " | ".join(escape(cell) for cell in cells) + " |"


def _reason(reason: ChangeReason) -> str:
    return REASON_NOTES[reason]
