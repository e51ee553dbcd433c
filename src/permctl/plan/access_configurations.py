"""What changes between two versions of an access configuration, and whether it widens.

Pure. The inline policies are compared structurally: deepdiff pairs the statements of the two
documents (their order does not matter), then each pair is compared field by field, so a
reviewer reads "+ Action ecs:*" inside a statement instead of two JSON documents. Both
documents are in the normal form of `permctl.policydocument`, where key order and a single
Action written as a string do not count.

A change widens when it lets holders of the access configuration do more: a new Allow
statement, an action or resource added to one, a Condition taken off one, a Deny statement or
part of one taken away, a system policy added, a longer session.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from deepdiff import DeepDiff

from permctl.errors import ConfigError, ConfigProblem
from permctl.model import (
    AccessConfiguration,
    Assignment,
    DesiredCloudSso,
    LiveAccessConfigurations,
    LiveState,
    new_access_configuration_id,
)
from permctl.plan.changes import AssignmentDelete, CloudSsoChange
from permctl.policydocument import LIST_FIELDS, canonical, parse

StatementAction = Literal["add", "remove", "change"]


Part = Literal["Action", "NotAction", "Resource", "NotResource", "Condition"]

# For each effect, the parts of a statement whose entries widen it when added (True) or when
# removed (False): more Allow actions, or fewer Deny ones, let a holder do more.
WIDENS_WHEN_ADDED: Mapping[str, Mapping[Part, bool]] = {
    "Allow": {
        "Action": True,
        "Resource": True,
        "NotAction": False,
        "NotResource": False,
        "Condition": False,
    },
    "Deny": {
        "Action": False,
        "Resource": False,
        "NotAction": True,
        "NotResource": True,
        "Condition": True,
    },
}


@dataclass(frozen=True)
class AttributeChange:
    field: Literal["description", "session_duration", "relay_state"]
    before: str | int
    after: str | int


@dataclass(frozen=True)
class PartChange:
    """Entries added to and removed from one part of a statement."""

    part: Part
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementChange:
    """A statement added, removed, or changed in place (`parts` says how). `statement` is the
    statement after the change (before it, for a removal), in one line: Allow ecs:* on *."""

    action: StatementAction
    effect: str
    statement: str
    parts: tuple[PartChange, ...] = ()
    widening: tuple[str, ...] = ()  # what of this change lets holders do more


@dataclass(frozen=True)
class AccessConfigurationDiff:
    attributes: tuple[AttributeChange, ...] = ()
    system_policies_added: tuple[str, ...] = ()
    system_policies_removed: tuple[str, ...] = ()
    statements: tuple[StatementChange, ...] = ()
    inline_policy_version: tuple[str, str] | None = None  # (before, after) when it changed
    widening: tuple[str, ...] = ()  # what lets holders do more, one line each

    @property
    def has_changes(self) -> bool:
        return bool(
            self.attributes
            or self.system_policies_added
            or self.system_policies_removed
            or self.statements
            or self.inline_policy_version
        )

    @property
    def widens(self) -> bool:
        return bool(self.widening)


def granting_nothing(configuration: AccessConfiguration) -> AccessConfiguration:
    """The same access configuration with no policy: what a new one is compared against."""
    return replace(configuration, system_policies=(), inline_policy=None)


def compare(before: AccessConfiguration, after: AccessConfiguration) -> AccessConfigurationDiff:
    attributes = tuple(
        AttributeChange(name, getattr(before, name), getattr(after, name))
        for name in ("description", "session_duration", "relay_state")
        if getattr(before, name) != getattr(after, name)
    )
    added = tuple(sorted(set(after.system_policies) - set(before.system_policies)))
    removed = tuple(sorted(set(before.system_policies) - set(after.system_policies)))
    old, new = _document(before.inline_policy), _document(after.inline_policy)
    statements = tuple(_statement_changes(old["Statement"], new["Statement"]))
    version = (
        (old["Version"], new["Version"]) if before.inline_policy and after.inline_policy else None
    )
    widening = [*(f"+ system policy {name}" for name in added)]
    if after.session_duration > before.session_duration:
        widening.append(f"session {before.session_duration} s -> {after.session_duration} s")
    widening += [line for change in statements for line in change.widening]
    return AccessConfigurationDiff(
        attributes=attributes,
        system_policies_added=added,
        system_policies_removed=removed,
        statements=statements,
        inline_policy_version=version if version and version[0] != version[1] else None,
        widening=tuple(widening),
    )


def _document(text: str | None) -> dict[str, Any]:
    return parse(text) if text else {"Version": "1", "Statement": []}


def _statement_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> Iterator[StatementChange]:
    """Statements added, removed and changed, in a stable order. A pair deepdiff matched whose
    Effect differs is one statement removed and another added: nothing of it carries over."""
    added, removed, pairs = _paired(before, after)
    for old, new in pairs:
        if old["Effect"] != new["Effect"]:
            removed.append(old)
            added.append(new)
            continue
        parts = tuple(p for p in _part_changes(old, new) if p.added or p.removed)
        if parts:
            widening = tuple(w for p in parts for w in _widening(old, new, p))
            yield StatementChange("change", new["Effect"], one_line(new), parts, widening)
    for statement in sorted(removed, key=canonical):
        widens = statement["Effect"] == "Deny"
        line = one_line(statement)
        yield StatementChange("remove", statement["Effect"], line, widening=(f"- {line}",) * widens)
    for statement in sorted(added, key=canonical):
        widens = statement["Effect"] == "Allow"
        line = one_line(statement)
        yield StatementChange("add", statement["Effect"], line, widening=(f"+ {line}",) * widens)


def _paired(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """(added, removed, changed pairs) as deepdiff matches the two lists of statements."""
    # Pair statements however far apart: a statement edited into another still reads as one
    # statement changed, and a pair whose Effect differs is split again by the caller.
    diff = DeepDiff(
        {"S": before},
        {"S": after},
        ignore_order=True,
        view="tree",
        cutoff_distance_for_pairs=1,
        cutoff_intersection_for_pairs=1,
    )
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    pairs: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    for report, levels in diff.items():
        for level in levels:
            whole = len(level.path(output_format="list")) == 2  # ["S", index]: a statement
            if whole and report == "iterable_item_added":
                added.append(level.t2)
            elif whole and report == "iterable_item_removed":
                removed.append(level.t1)
            else:
                while len(level.path(output_format="list")) > 2:
                    level = level.up
                pairs[id(level.t1)] = (level.t1, level.t2)
    return added, removed, list(pairs.values())


def _part_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[PartChange]:
    for part in LIST_FIELDS:
        before, after = set(old.get(part, ())), set(new.get(part, ()))
        yield PartChange(part, tuple(sorted(after - before)), tuple(sorted(before - after)))  # type: ignore[arg-type]
    before, after = set(_conditions(old)), set(_conditions(new))
    yield PartChange("Condition", tuple(sorted(after - before)), tuple(sorted(before - after)))


def _conditions(statement: Mapping[str, Any]) -> Iterator[str]:
    """One line per condition key: `IpAddress acs:SourceIp 10.0.0.0/8`."""
    for operator, entries in statement.get("Condition", {}).items():
        for key, values in entries.items():
            yield f"{operator} {key} {', '.join(canonical(v).strip(chr(34)) for v in values)}"


def one_line(statement: Mapping[str, Any]) -> str:
    """`Allow ecs:Describe* on *`, `Deny NotAction ram:* on *`, conditions after `if`."""
    actions = _listed(statement, "Action")
    resources = _listed(statement, "Resource")
    conditions = list(_conditions(statement))
    when = f" if {'; '.join(conditions)}" if conditions else ""
    return f"{statement['Effect']} {actions} on {resources}{when}"


def _listed(statement: Mapping[str, Any], part: str) -> str:
    if part in statement:
        return ", ".join(statement[part])
    return "Not" + part + " " + ", ".join(statement.get("Not" + part, ()))


def _widening(
    old: Mapping[str, Any], statement: Mapping[str, Any], part: PartChange
) -> Iterator[str]:
    """`+ Allow ecs:* on *` for an action added to an Allow statement; `- Deny ram:* on *` for
    one taken off a Deny; the part named for the rest (`- Condition ... from Allow ...`). An
    entry the other side's wildcards already cover changes nothing: ecs:Describe* replaced by
    ecs:DescribeInstances narrows."""
    effect = statement["Effect"]
    more = WIDENS_WHEN_ADDED[effect][part.part]
    entries = part.added if more else part.removed
    if part.part != "Condition":
        patterns = (old if more else statement).get(part.part, ())
        entries = tuple(e for e in entries if not _covered(e, patterns))
    if not entries:
        return
    sign, listed = ("+" if more else "-"), ", ".join(entries)
    if part.part == "Action":
        yield f"{sign} {effect} {listed} on {_listed(statement, 'Resource')}"
    elif part.part == "Resource":
        yield f"{sign} {effect} {_listed(statement, 'Action')} on {listed}"
    else:
        preposition = "on" if more else "from"
        yield f"{sign} {part.part} {listed} {preposition} {one_line(statement)}"


def _covered(entry: str, patterns: Iterable[str]) -> bool:
    """Whether a RAM action or resource pattern (`*` and `?` wildcards, actions compared
    without case) is matched by one of `patterns`."""
    return any(fnmatch.fnmatchcase(entry.lower(), p.lower()) for p in patterns)


# -- the change kinds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Where an access configuration is held after the plan: the accounts it is assigned on
    (of those permctl reads) and the distinct users and groups holding it there."""

    account_ids: tuple[str, ...] = ()
    principals: int = 0

    def __str__(self) -> str:
        accounts = len(self.account_ids)
        return (
            f"{accounts} account{'' if accounts == 1 else 's'}, "
            f"{self.principals} principal{'' if self.principals == 1 else 's'}"
        )


@dataclass(frozen=True)
class AccessConfigurationCreate:
    """CreateAccessConfiguration, then its policies. `configuration_id` is the placeholder the
    file's assignments carry until the API gives the real id."""

    action: ClassVar[Literal["create"]] = "create"
    configuration_id: str
    after: AccessConfiguration
    diff: AccessConfigurationDiff
    reach: Reach


@dataclass(frozen=True)
class AccessConfigurationUpdate:
    """Attributes and policies brought to `after`, then re-provisioning wherever it is out of
    date. An update with no diff only re-provisions (`stale_account_ids`, as read)."""

    action: ClassVar[Literal["update"]] = "update"
    configuration_id: str
    before: AccessConfiguration
    after: AccessConfiguration
    inline_policy_name: str | None
    diff: AccessConfigurationDiff
    reach: Reach
    stale_account_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessConfigurationDelete:
    """DeleteAccessConfiguration of one the file does not list (prune_access_configurations)."""

    action: ClassVar[Literal["delete"]] = "delete"
    configuration_id: str
    before: AccessConfiguration


AccessConfigurationChange = (
    AccessConfigurationCreate | AccessConfigurationUpdate | AccessConfigurationDelete
)


@dataclass(frozen=True)
class AccessConfigurationPlan:
    changes: tuple[AccessConfigurationChange, ...] = ()
    unmanaged: tuple[str, ...] = ()  # ids of the directory's others, left alone
    existing: int = 0  # access configurations the plan could delete


def plan_access_configurations(
    sso: DesiredCloudSso, live: LiveAccessConfigurations, assignments_after: Iterable[Assignment]
) -> AccessConfigurationPlan:
    """The file's access configurations against the directory's; `assignments_after` (those
    read, with the plan's assignment changes made) give each its reach."""
    reach = _reaches(assignments_after)
    by_name = {r.granted.name.lower(): r for r in live.records.values()}
    changes: list[AccessConfigurationChange] = []
    for desired in sso.access_configurations:
        wanted = desired.granted
        record = by_name.get(wanted.name.lower())
        if record is None:
            new_id = new_access_configuration_id(wanted.name)
            diff = compare(granting_nothing(wanted), wanted)
            changes.append(AccessConfigurationCreate(new_id, wanted, diff, reach(new_id)))
            continue
        diff = compare(record.granted, wanted)
        stale = tuple(p.account_id for p in record.provisionings if p.status == REPROVISION)
        if diff.has_changes or stale:
            changes.append(
                AccessConfigurationUpdate(
                    record.configuration_id,
                    record.granted,
                    wanted,
                    record.inline_policy_name,
                    diff,
                    reach(record.configuration_id),
                    stale,
                )
            )
    listed = {d.granted.name.lower() for d in sso.access_configurations}
    others = sorted(i for i, name in live.names.items() if name.lower() not in listed)
    if sso.prune_access_configurations:
        changes += [
            AccessConfigurationDelete(i, live.records[i].granted)
            for i in others
            if i in live.records
        ]
    return AccessConfigurationPlan(
        changes=tuple(changes),
        unmanaged=() if sso.prune_access_configurations else tuple(others),
        existing=len(live.names) if sso.prune_access_configurations else 0,
    )


REPROVISION = "ReprovisionRequired"


def _reaches(assignments: Iterable[Assignment]) -> Callable[[str], Reach]:
    accounts: dict[str, set[str]] = defaultdict(set)
    principals: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for a in assignments:
        accounts[a.access_configuration_id].add(a.account_id)
        principals[a.access_configuration_id].add((a.principal_type, a.principal_id))

    def reach(configuration_id: str) -> Reach:
        return Reach(tuple(sorted(accounts[configuration_id])), len(principals[configuration_id]))

    return reach


def refuse_deleting_used(
    sso: DesiredCloudSso,
    planned: AccessConfigurationPlan,
    live: LiveState,
    assignment_changes: Iterable[CloudSsoChange],
) -> None:
    """An access configuration the plan deletes must not be used by an assignment the plan
    keeps: the file's own (named at their line), or one read live that stays."""
    deleted = {c.configuration_id for c in planned.changes if c.action == "delete"}
    if not deleted:
        return
    by_entry = {
        d.source: d.assignment.access_configuration_id
        for d in sso.assignments
        if d.assignment.access_configuration_id in deleted
    }  # an entry of the file expands to many assignments: one problem each
    problems = [
        ConfigProblem(
            source.file,
            source.line,
            source.column,
            "cloudsso.assignments",
            f"uses access configuration {live.names.get(i, i)!r}, which the plan would delete "
            "(cloudsso.prune_access_configurations): list it under "
            "cloudsso.access_configurations or drop the assignment",
        )
        for source, i in by_entry.items()
    ]
    removed = {c.assignment for c in assignment_changes if isinstance(c, AssignmentDelete)}
    removed |= {d.assignment for d in sso.assignments}  # already named at their line
    kept = sorted(
        a for a in live.assignments if a.access_configuration_id in deleted and a not in removed
    )
    problems += [
        ConfigProblem(
            "",
            0,
            0,
            "cloudsso.prune_access_configurations",
            f"access configuration {live.names.get(a.access_configuration_id, '')!r} "
            f"({a.access_configuration_id}) is still assigned to {a.principal_type} "
            f"{live.names.get(a.principal_id, a.principal_id)} on account "
            f"{live.names.get(a.account_id, a.account_id)}, an assignment the plan keeps",
        )
        for a in kept
    ]
    if problems:
        raise ConfigError(problems)


def widens(change: AccessConfigurationChange) -> bool:
    return not isinstance(change, AccessConfigurationDelete) and change.diff.widens


# -- what a change does, line by line (for renderers and drift) ------------------------


@dataclass(frozen=True)
class DetailLine:
    """One line of what an access configuration change does: `level` 0 under the access
    configuration, 1 inside a statement."""

    level: int
    symbol: str  # + - ~
    text: str


def change_lines(change: AccessConfigurationChange) -> list[DetailLine]:
    """What a change does: a new one's attributes, then what differs, then re-provisioning."""
    if isinstance(change, AccessConfigurationDelete):
        return []
    if isinstance(change, AccessConfigurationUpdate):
        return [*diff_lines(change.diff), DetailLine(0, "~", _reprovisioning(change))]
    granted = change.after
    attributes = [("session_duration", granted.session_duration)] + [
        (name, value)
        for name, value in (
            ("description", granted.description),
            ("relay_state", granted.relay_state),
        )
        if value
    ]
    return [
        *(DetailLine(0, "+", f"{name}: {_shown(value)}") for name, value in attributes),
        *diff_lines(change.diff),
    ]


def diff_lines(diff: AccessConfigurationDiff) -> list[DetailLine]:
    """Attributes, system policies and inline policy statements that differ, never the two
    documents side by side."""
    lines = [
        DetailLine(0, "~", f"{a.field}: {_shown(a.before)} -> {_shown(a.after)}")
        for a in diff.attributes
    ]
    lines += [DetailLine(0, "+", f"system policy {p}") for p in diff.system_policies_added]
    lines += [DetailLine(0, "-", f"system policy {p}") for p in diff.system_policies_removed]
    if diff.inline_policy_version:
        before, after = diff.inline_policy_version
        lines.append(DetailLine(0, "~", f"inline policy Version: {before} -> {after}"))
    for statement in diff.statements:
        symbol = {"add": "+", "remove": "-", "change": "~"}[statement.action]
        lines.append(DetailLine(0, symbol, f"statement {statement.statement}"))
        for part in statement.parts:
            lines += [DetailLine(1, "+", f"{part.part} {entry}") for entry in part.added]
            lines += [DetailLine(1, "-", f"{part.part} {entry}") for entry in part.removed]
    return lines


def _reprovisioning(change: AccessConfigurationUpdate) -> str:
    if change.diff.has_changes:
        return "re-provisioned on every account it is provisioned on"
    accounts = len(change.stale_account_ids)
    plural = "" if accounts == 1 else "s"
    return f"re-provisioned on {accounts} account{plural} where it is out of date"


def _shown(value: str | int) -> str:
    return repr(value) if isinstance(value, str) else str(value)
