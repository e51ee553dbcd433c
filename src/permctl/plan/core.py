"""The Plan: plain immutable data describing what apply would do, plus its own safety check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from permctl.model import Assignment, GroupMembers, SafetySettings
from permctl.plan.changes import (
    AssignmentChange,
    MeshRoleChange,
    PrincipalUpdate,
    Snapshot,
    Unmanaged,
)
from permctl.plan.people import PeopleChange, people_changes
from permctl.plan.safety import SafetyIssue, find_issues


@dataclass(frozen=True)
class MeshAdmins:
    """How many known principals hold istio-admin on a managed mesh before and after the plan."""

    mesh_id: str
    before: int
    after: int


@dataclass(frozen=True)
class Summary:
    adds: int
    removes: int
    role_changes: int
    principals: int
    creates: int
    deletes: int
    unmanaged: int


def describe(object_id: str, names: Mapping[str, str], label: str | None = None) -> str:
    """`name (id)` for display, the bare id when nothing better is known."""
    name = label or names.get(object_id)
    return f"{name} ({object_id})" if name and name != object_id else object_id


@dataclass(frozen=True)
class Plan:
    asm_updates: tuple[PrincipalUpdate, ...]
    sso_changes: tuple[AssignmentChange, ...]
    unmanaged: Unmanaged
    snapshot: Snapshot
    managed_mesh_ids: tuple[str, ...]
    managed_account_ids: tuple[str, ...]
    directory_id: str | None
    # id -> display name: principals, accounts, access configurations; meshes map to their alias.
    names: Mapping[str, str]
    safety: SafetySettings
    caller_principal_ids: frozenset[str]  # who runs permctl, in each mesh account
    # ASM roles on managed meshes plus CloudSSO assignments in scope, as read live.
    existing_managed_grants: int
    mesh_admins: tuple[MeshAdmins, ...]
    # Who gains and who loses which access, expanded through groups (`with_people`).
    people: tuple[PeopleChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.asm_updates or self.sso_changes)

    @property
    def summary(self) -> Summary:
        actions = [c.action for u in self.asm_updates for c in u.changes]
        return Summary(
            adds=actions.count("add"),
            removes=actions.count("remove"),
            role_changes=actions.count("change"),
            principals=len(self.asm_updates),
            creates=sum(1 for c in self.sso_changes if c.action == "create"),
            deletes=sum(1 for c in self.sso_changes if c.action == "delete"),
            unmanaged=len(self.unmanaged),
        )

    def with_people(self, members: GroupMembers) -> Plan:
        """The plan with its people: `members` holds those of `groups_to_expand`."""
        people = people_changes(
            self.asm_updates, self.sso_changes, self.snapshot, self.names, members
        )
        return replace(self, people=people)

    def fingerprint(self) -> str:
        """Digest of the live state the plan was computed from; apply compares it before acting."""
        return self.snapshot.fingerprint()

    def safety_issues(self) -> tuple[SafetyIssue, ...]:
        """Every reason this plan is unsafe, overridable or not, most serious first."""
        return find_issues(self)

    def raise_if_unsafe(self, force: bool = False, allow_lockout: bool = False) -> None:
        for issue in self.safety_issues():
            if not issue.overridden_by(force=force, allow_lockout=allow_lockout):
                raise issue

    def describe(self, object_id: str, label: str | None = None) -> str:
        return describe(object_id, self.names, label)

    def describe_mesh_change(self, update: PrincipalUpdate, change: MeshRoleChange) -> str:
        roles = f"{change.before or 'nothing'} -> {change.after or 'nothing'}"
        principal = self.describe(update.principal_id, update.label)
        return f"{principal} on {self.describe(change.mesh_id)}: {roles}"

    def describe_assignment(self, assignment: Assignment) -> str:
        return (
            f"{assignment.principal_type} {self.describe(assignment.principal_id)}: "
            f"{self.describe(assignment.access_configuration_id)} "
            f"on account {self.describe(assignment.account_id)}"
        )
