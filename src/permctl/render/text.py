"""Terraform-like terminal output: `+` add, `-` remove, `~` change, `?` unmanaged, `!` unsafe.

`render` returns a rich Text whose colours the caller's Console drops when colour is off;
`render_plain` gives the same content as a plain string. Styles are attached to spans rather
than written as markup, so nothing a user named can be taken for markup.
"""

from __future__ import annotations

from rich.text import Text

from permctl.model import Assignment
from permctl.plan import MeshRoleChange, Plan, PrincipalUpdate
from permctl.plan.changes import (
    AssignmentCreate,
    AssignmentDelete,
    ChangeReason,
    CloudSsoChange,
    unhandled,
)
from permctl.plan.safety import more_than_shown
from permctl.render.common import (
    KIND_NAMES,
    PEOPLE_SYMBOLS,
    REASON_NOTES,
    people_headline,
    people_sentence,
    printable,
    summary_line,
)

SYMBOLS = {"add": "+", "remove": "-", "change": "~"}
STYLES = {"+": "green", "-": "red", "~": "yellow", "?": "cyan", "!": "bold red"}


def render(plan: Plan) -> Text:
    out = Text()
    if plan.asm_updates or plan.unmanaged.asm:
        _service_mesh(out, plan)
    if plan.sso_changes or plan.unmanaged.cloudsso:
        _cloudsso(out, plan)
    if plan.people:
        _people(out, plan)
    _unsafe(out, plan)
    out.append(summary_line(plan), style="bold")
    out.append("\n")
    return out


def render_plain(plan: Plan) -> str:
    return render(plan).plain


def _service_mesh(out: Text, plan: Plan) -> None:
    out.append("Service Mesh\n", style="bold")
    for update in plan.asm_updates:
        _principal(out, plan, update)
    if plan.unmanaged.asm:
        out.append("  Unmanaged, left alone (not in the file; asm.prune_unlisted is off):\n")
    for g in plan.unmanaged.asm:
        who = f"{plan.describe(g.principal_id)}, {KIND_NAMES[g.kind]}"
        _line(out, "?", 4, f"{who}, on {plan.describe(g.grant.mesh_id)}: {g.grant.role}")
    out.append("\n")


def _principal(out: Text, plan: Plan, update: PrincipalUpdate) -> None:
    symbol = "+" if not update.before else "-" if not update.after else "~"
    listed = "" if update.label else ", not in the file"
    who = f"{plan.describe(update.principal_id, update.label)}, {KIND_NAMES[update.kind]}{listed}"
    _line(out, symbol, 2, who)
    for change in update.changes:
        _line(out, SYMBOLS[change.action], 6, _mesh_change(plan, change))
    kept = sum(1 for g in update.after if g.mesh_id not in plan.managed_mesh_ids)
    if kept:
        note = f"{kept} grant(s) on meshes this file does not manage, kept as they are"
        out.append(f"      {note}\n", style="dim")


def _mesh_change(plan: Plan, change: MeshRoleChange) -> str:
    if change.action == "change":
        roles = f"{change.before} -> {change.after}"
    else:
        roles = change.after or change.before or ""
    return f"{plan.describe(change.mesh_id)}: {roles}{_reason(change.reason)}"


def _cloudsso(out: Text, plan: Plan) -> None:
    out.append(f"CloudSSO (directory {printable(plan.directory_id or '')})\n", style="bold")
    account = None
    for change in plan.sso_changes:
        if change.assignment.account_id != account:
            account = change.assignment.account_id
            out.append(f"  account {printable(plan.describe(account))}\n")
        _cloudsso_change(out, plan, change)
    if plan.unmanaged.cloudsso:
        out.append("  Unmanaged, left alone (not in the file; cloudsso.prune_unlisted is off):\n")
    for a in plan.unmanaged.cloudsso:
        _line(out, "?", 4, f"{_assignment(plan, a)} on account {plan.describe(a.account_id)}")
    out.append("\n")


def _cloudsso_change(out: Text, plan: Plan, change: CloudSsoChange) -> None:
    match change:
        case AssignmentCreate():
            _line(out, "+", 6, _assignment(plan, change.assignment) + _reason(change.reason))
        case AssignmentDelete():
            _line(out, "-", 6, _assignment(plan, change.assignment) + _reason(change.reason))
        case _:
            unhandled(change)


def _assignment(plan: Plan, a: Assignment) -> str:
    return (
        f"{a.principal_type} {plan.describe(a.principal_id)}: "
        f"{plan.describe(a.access_configuration_id)}"
    )


def _people(out: Text, plan: Plan) -> None:
    out.append(f"{people_headline(plan)}\n", style="bold")
    for change in plan.people:
        _line(out, PEOPLE_SYMBOLS[change.action], 2, people_sentence(plan, change))
    out.append("\n")


def _unsafe(out: Text, plan: Plan) -> None:
    issues = plan.safety_issues()
    if not issues:
        return
    out.append("Unsafe plan:\n", style="bold red")
    for issue in issues:
        _line(out, "!", 2, f"{type(issue).__name__}: {issue.reason}")
        for grant in [*issue.grants_shown, more_than_shown(issue.grants)]:
            if grant:
                out.append(f"      {printable(grant)}\n")
    out.append("\n")


def _reason(reason: ChangeReason) -> str:
    note = REASON_NOTES[reason]
    return f" ({note})" if note else ""


def _line(out: Text, symbol: str, indent: int, content: str) -> None:
    out.append(" " * indent)
    out.append(symbol, style=STYLES[symbol])
    out.append(f" {printable(content)}\n")
