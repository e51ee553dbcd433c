"""The Plan: plain immutable data describing what apply would do, plus its own safety gate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from permctl.model import (
    ADMIN_ROLE,
    DEFAULT_DEPROVISION_STRATEGY,
    Assignment,
    DeprovisionStrategy,
    GroupMembers,
    MeshRole,
    SafetySettings,
)
from permctl.plan.changes import (
    AssignmentCreate,
    AssignmentDelete,
    CloudSsoChange,
    MeshRoleChange,
    PrincipalUpdate,
    Snapshot,
    Unmanaged,
)
from permctl.plan.people import PeopleChange, people_changes
from permctl.plan.safety import Override, PlanIsUnsafe, SafetyIssue, find_issues


@dataclass(frozen=True)
class MeshAdmins:
    """How many known principals hold istio-admin on a managed mesh before and after the plan."""

    mesh_id: str
    before: int
    after: int


def count_mesh_admins(
    before: Mapping[str, int], updates: Iterable[PrincipalUpdate]
) -> tuple[MeshAdmins, ...]:
    """Admins on each managed mesh after `updates`, from the count `before` them: the
    principals a plan does not update keep their roles, so only its updates move the count."""
    updated = tuple(updates)
    return tuple(
        MeshAdmins(
            mesh_id,
            count,
            count
            - sum(holds_admin(u.before, mesh_id) for u in updated)
            + sum(holds_admin(u.after, mesh_id) for u in updated),
        )
        for mesh_id, count in sorted(before.items())
    )


def holds_admin(grants: Iterable[MeshRole], mesh_id: str) -> bool:
    """Whether these grants make their holder an istio-admin of the mesh."""
    return any(g.mesh_id == mesh_id and g.role == ADMIN_ROLE for g in grants)


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
    sso_changes: tuple[CloudSsoChange, ...]
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
    deprovision_strategy: DeprovisionStrategy = DEFAULT_DEPROVISION_STRATEGY
    # A plan read back from a file: the overrides `permctl plan` accepted it with. None for a
    # plan computed in this run.
    planned_with: frozenset[Override] | None = None
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
            creates=sum(isinstance(c, AssignmentCreate) for c in self.sso_changes),
            deletes=sum(isinstance(c, AssignmentDelete) for c in self.sso_changes),
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

    def raise_if_unsafe(self, accepted: frozenset[Override] = frozenset()) -> None:
        """The one safety gate, for a plan shown, saved, applied fresh or applied from a file.

        An issue passes when `accepted` holds the override it needs and, for a saved plan, when
        `permctl plan` was given that override too: a plan edited after it was saved, or one
        that only an override made acceptable, cannot be applied without it.
        """
        blocking = tuple(
            issue
            for issue in self.safety_issues()
            if not issue.accepted_by(accepted)
            or (self.planned_with is not None and not issue.accepted_by(self.planned_with))
        )
        if blocking:
            raise PlanIsUnsafe(blocking, self.planned_with)

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
