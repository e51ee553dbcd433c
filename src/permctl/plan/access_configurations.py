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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff

from permctl.model import AccessConfiguration
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

    @property
    def inline_policy_changed(self) -> bool:
        return bool(self.statements or self.inline_policy_version)


def granting_nothing(configuration: AccessConfiguration) -> AccessConfiguration:
    """The same access configuration with no policy: what a new one is compared against."""
    return AccessConfiguration(
        name=configuration.name,
        description=configuration.description,
        session_duration=configuration.session_duration,
        relay_state=configuration.relay_state,
    )


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
            widening = tuple(w for p in parts for w in _widening(new, p))
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


def _widening(statement: Mapping[str, Any], part: PartChange) -> Iterator[str]:
    """`+ Allow ecs:* on *` for an action added to an Allow statement; `- Deny ram:* on *` for
    one taken off a Deny; the part named for the rest (`- Condition ... from Allow ...`)."""
    effect = statement["Effect"]
    more = WIDENS_WHEN_ADDED[effect][part.part]
    entries = part.added if more else part.removed
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
