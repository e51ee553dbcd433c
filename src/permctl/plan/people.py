"""The people a plan reaches: who gains and who loses which access, expanded through groups.

A change to a group's assignment reaches each of its members; a member who holds the same
access another way (directly, or through another group) before and after the plan neither
gains nor loses it, so people are counted, not assignments. Pure: the members of the groups
involved (`groups_to_expand`) are read by the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from permctl.model import Assignment, GroupMembers, Service
from permctl.plan.changes import (
    CloudSsoChange,
    PrincipalUpdate,
    Snapshot,
)

PeopleAction = Literal["gain", "lose"]
# (account id, access configuration id): one access a CloudSSO user may hold several ways
_Access = tuple[str, str]
# What one entry is about: service, target id, role, action, the group it goes through
_Key = tuple[Service, str, str, PeopleAction, str | None]


@dataclass(frozen=True, order=True)
class Person:
    principal_id: str
    name: str


@dataclass(frozen=True)
class PeopleChange:
    """People gaining or losing one access: a role on a mesh, or an access configuration
    (`role` is its id) on an account, directly or through one group."""

    service: Service
    target_id: str
    role: str
    action: PeopleAction
    through_group_id: str | None
    people: tuple[Person, ...]
    # The group's members could not be read (a caller without ListGroupMembers): `people` is
    # empty, and says nothing of how many they are.
    members_unknown: bool = False


def groups_to_expand(sso_changes: Iterable[CloudSsoChange], held: Iterable[Assignment]) -> set[str]:
    """The groups whose members a plan's people depend on: those it changes, and those holding
    the same access on the same account (their members keep it); `held` is what is live."""
    changed = [c.assignment for c in sso_changes]
    touched = {_access(a) for a in changed}
    return {
        a.principal_id
        for a in [*changed, *held]
        if a.principal_type == "Group" and _access(a) in touched
    }


def people_changes(
    asm_updates: Iterable[PrincipalUpdate],
    sso_changes: Iterable[CloudSsoChange],
    snapshot: Snapshot,
    names: Mapping[str, str],
    members: GroupMembers,
) -> tuple[PeopleChange, ...]:
    """One entry per service, target, role, action and group, its people merged and sorted;
    none where nobody gains or loses anything (an empty group, people holding it anyway). A
    group whose members were not read has an entry that says so."""
    merged: defaultdict[_Key, set[Person]] = defaultdict(set)
    for update in asm_updates:
        person = Person(update.principal_id, update.label or names.get(update.principal_id, ""))
        for change in update.changes:
            if change.before is not None:
                merged[("asm", change.mesh_id, change.before, "lose", None)].add(person)
            if change.after is not None:
                merged[("asm", change.mesh_id, change.after, "gain", None)].add(person)
    unknown: set[_Key] = set()
    for key, people in _cloudsso_people(sso_changes, snapshot, names, members):
        if people is None:
            unknown.add(key)
        else:
            merged[key].update(people)
    changes = [
        PeopleChange(*key, people=tuple(sorted(people))) for key, people in merged.items() if people
    ]
    changes += [PeopleChange(*key, people=(), members_unknown=True) for key in unknown]
    return tuple(sorted(changes, key=_order))


def _order(change: PeopleChange) -> tuple[str, ...]:
    return (
        change.service,
        change.target_id,
        change.role,
        change.action,
        change.through_group_id or "",
    )


def _cloudsso_people(
    changes: Iterable[CloudSsoChange],
    snapshot: Snapshot,
    names: Mapping[str, str],
    members: GroupMembers,
) -> Iterable[tuple[_Key, list[Person] | None]]:
    """Each change's people, None for a group whose members were not read."""
    changes = tuple(changes)
    before = {a for account in snapshot.cloudsso for a in account.assignments}
    deleted = {c.assignment for c in changes if not c.gives_access}
    after = (before - deleted) | {c.assignment for c in changes if c.gives_access}
    held_before, held_after = _holders(before, members), _holders(after, members)
    for change in changes:
        a = change.assignment
        gaining = change.gives_access
        others = held_before if gaining else held_after  # who holds it anyway
        reached = (
            None
            if a.principal_type == "Group" and a.principal_id not in members
            else [
                p for p in _people_of(a, names, members) if p.principal_id not in others[_access(a)]
            ]
        )
        through = a.principal_id if a.principal_type == "Group" else None
        action: PeopleAction = "gain" if gaining else "lose"
        yield ("cloudsso", a.account_id, a.access_configuration_id, action, through), reached


def _holders(assignments: Iterable[Assignment], members: GroupMembers) -> dict[_Access, set[str]]:
    """The users holding each access, directly or through a group."""
    holders: defaultdict[_Access, set[str]] = defaultdict(set)
    for a in assignments:
        holders[_access(a)] |= {p.principal_id for p in _people_of(a, {}, members)}
    return holders


def _people_of(a: Assignment, names: Mapping[str, str], members: GroupMembers) -> list[Person]:
    if a.principal_type == "User":
        return [Person(a.principal_id, names.get(a.principal_id, ""))]
    return [Person(m.user_id, m.user_name) for m in members.get(a.principal_id, ())]


def _access(a: Assignment) -> _Access:
    return (a.account_id, a.access_configuration_id)
