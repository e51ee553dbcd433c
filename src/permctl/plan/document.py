"""The plan's one JSON form (docs/plan-json.md): what `plan --format json` prints and, with the
seals of a saved plan around it, what `plan --out` writes and `apply --plan` reads back.

`plan_document` writes it; `PlanDocument` reads it strictly and `to_plan` turns it back into
the `Plan` it was written from. Fields derived from others (summary, names beside ids, the
unsafe reasons, each update's per-mesh changes, the admin counts after the plan) are written
for readers; `plan.saved` checks the ones a plan's safety rests on against their derivation.

Adding a field keeps `format_version`; renaming or removing one moves it on.
"""

from __future__ import annotations

from dataclasses import asdict
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from permctl.model import (
    AccessConfiguration,
    Assignment,
    DeprovisionStrategy,
    MeshRole,
    PrincipalKind,
    SafetySettings,
    Service,
)
from permctl.plan.access_configurations import (
    AccessConfigurationChange,
    AccessConfigurationCreate,
    AccessConfigurationDelete,
    AccessConfigurationUpdate,
    Reach,
    compare,
    granting_nothing,
)
from permctl.plan.changes import (
    AccountSnapshot,
    AssignmentCreate,
    AssignmentDelete,
    ChangeReason,
    CloudSsoChange,
    ConfigurationSnapshot,
    MeshRoleChange,
    PrincipalSnapshot,
    PrincipalUpdate,
    Snapshot,
    Unmanaged,
    UnmanagedGrant,
    granted_json,
    unhandled,
)
from permctl.plan.core import MeshAdmins, Plan
from permctl.plan.people import PeopleAction, PeopleChange, Person
from permctl.plan.safety import Override, SafetyIssue
from permctl.policydocument import shape_problems

FORMAT_VERSION = "2"


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "has_changes": plan.has_changes,
        "summary": asdict(plan.summary),
        "fingerprint": plan.fingerprint(),
        "asm": {
            "managed_meshes": [_named(plan, "mesh", m) for m in plan.managed_mesh_ids],
            "updates": [_update(plan, u) for u in plan.asm_updates],
        },
        "cloudsso": {
            "directory_id": plan.directory_id,
            "deprovision_strategy": plan.deprovision_strategy,
            "managed_account_ids": list(plan.managed_account_ids),
            "changes": [_cloudsso_change(plan, c) for c in plan.sso_changes],
            "access_configurations": {
                "changes": [
                    _configuration_change(plan, c) for c in plan.access_configuration_changes
                ],
                "unmanaged": [
                    _named(plan, "access_configuration", i)
                    for i in plan.unmanaged_access_configurations
                ],
            },
        },
        "unmanaged": {
            "asm": [_unmanaged_grant(plan, g) for g in plan.unmanaged.asm],
            "cloudsso": [_assignment(plan, a) for a in plan.unmanaged.cloudsso],
        },
        "unsafe": [_issue(issue) for issue in plan.safety_issues()],
        "people": [_people(plan, change) for change in plan.people],
        "safety": {
            "settings": {
                "max_delete_percent": float(plan.safety.max_delete_percent),
                "min_existing_for_threshold": plan.safety.min_existing_for_threshold,
                "protected_principals": sorted(plan.safety.protected_principals),
            },
            "existing_managed_grants": plan.existing_managed_grants,
            "caller_principal_ids": sorted(plan.caller_principal_ids),
            "mesh_admins": [asdict(m) for m in plan.mesh_admins],
            "planned_with": None if plan.planned_with is None else sorted(plan.planned_with),
        },
        "names": dict(sorted(plan.names.items())),
        "snapshot": plan.snapshot.to_json(),
    }


def _update(plan: Plan, update: PrincipalUpdate) -> dict[str, Any]:
    return {
        **_named(plan, "principal", update.principal_id),
        "kind": update.kind.value,
        "label": update.label,
        "before": [asdict(g) for g in update.before],
        "after": [asdict(g) for g in update.after],
        "changes": [_mesh_change(plan, c) for c in update.changes],
    }


def _mesh_change(plan: Plan, change: MeshRoleChange) -> dict[str, Any]:
    return {
        "action": change.action,
        **_named(plan, "mesh", change.mesh_id),
        "before": change.before,
        "after": change.after,
        "reason": change.reason,
    }


def _cloudsso_change(plan: Plan, change: CloudSsoChange) -> dict[str, Any]:
    match change:
        case AssignmentCreate() | AssignmentDelete():
            assignment = _assignment(plan, change.assignment)
            return {"action": change.action, "reason": change.reason, **assignment}
        case _:
            unhandled(change)


def _configuration_change(plan: Plan, change: AccessConfigurationChange) -> dict[str, Any]:
    """What it was and will be (policies as documents), the structured diff, and whether and
    how far it widens."""
    common = {
        "action": change.action,
        **_named(plan, "access_configuration", change.configuration_id),
    }
    match change:
        case AccessConfigurationDelete():
            return {**common, "before": granted_json(change.before), "after": None}
        case AccessConfigurationCreate():
            return {**common, "before": None, **_granting(change, ())}
        case AccessConfigurationUpdate():
            before = granted_json(change.before)
            return {
                **common,
                "before": before,
                "inline_policy_name": change.inline_policy_name,
                **_granting(change, change.stale_account_ids),
            }
        case _:
            unhandled(change)


def _granting(
    change: AccessConfigurationCreate | AccessConfigurationUpdate, stale: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "after": granted_json(change.after),
        "diff": asdict(change.diff),
        "widens": change.diff.widens,
        "widening": list(change.diff.widening),
        "reach": asdict(change.reach),
        "reprovision_account_ids": list(stale),
    }


def _assignment(plan: Plan, a: Assignment) -> dict[str, Any]:
    return {
        **_named(plan, "access_configuration", a.access_configuration_id),
        **_named(plan, "account", a.account_id),
        "principal_type": a.principal_type,
        **_named(plan, "principal", a.principal_id),
    }


def _unmanaged_grant(plan: Plan, grant: UnmanagedGrant) -> dict[str, Any]:
    return {
        **_named(plan, "principal", grant.principal_id),
        "kind": grant.kind.value,
        **_named(plan, "mesh", grant.grant.mesh_id),
        "role": grant.grant.role,
        "role_type": grant.grant.role_type,
    }


def _people(plan: Plan, change: PeopleChange) -> dict[str, Any]:
    """Who gains or loses one access: the role is the istio role or the access configuration,
    the target the mesh or the account."""
    group = change.through_group_id
    return {
        "action": change.action,
        "service": change.service,
        **_named(plan, "target", change.target_id),
        **_named(plan, "role", change.role),
        "through_group_id": group,
        "through_group_name": plan.names.get(group) if group else None,
        "count": len(change.people),
        "people": [{"principal_id": p.principal_id, "name": p.name} for p in change.people],
        "members_unknown": change.members_unknown,
    }


def _issue(issue: SafetyIssue) -> dict[str, Any]:
    return {
        "kind": type(issue).__name__,
        "override": issue.override,
        "reason": issue.reason,
        "grants": list(issue.grants),
    }


def _named(plan: Plan, field: str, object_id: str) -> dict[str, str | None]:
    """`<field>_id` and `<field>_name` (null when no name is known)."""
    return {f"{field}_id": object_id, f"{field}_name": plan.names.get(object_id)}


# -- Reading --------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Grant(Strict):
    mesh_id: str
    role: str
    role_type: str

    def to_role(self) -> MeshRole:
        return MeshRole(self.mesh_id, self.role, self.role_type)


class _AssignmentHeld(Strict):
    access_configuration_id: str
    account_id: str
    principal_type: Literal["User", "Group"]
    principal_id: str

    def to_assignment(self) -> Assignment:
        return Assignment(
            self.access_configuration_id, self.account_id, self.principal_type, self.principal_id
        )


class _Assignment(_AssignmentHeld):
    """An assignment as the plan shows it: with the names of what it links."""

    access_configuration_name: str | None
    account_name: str | None
    principal_name: str | None


class _MeshChange(Strict):
    action: Literal["add", "remove", "change"]
    mesh_id: str
    mesh_name: str | None
    before: str | None
    after: str | None
    reason: ChangeReason

    def to_change(self) -> MeshRoleChange:
        return MeshRoleChange(self.mesh_id, self.before, self.after, self.reason)


class _Update(Strict):
    principal_id: str
    principal_name: str | None
    kind: PrincipalKind
    label: str | None
    before: tuple[_Grant, ...]
    after: tuple[_Grant, ...]
    changes: tuple[_MeshChange, ...]

    def to_update(self) -> PrincipalUpdate:
        return PrincipalUpdate(
            self.principal_id,
            self.kind,
            self.label,
            tuple(g.to_role() for g in self.before),
            tuple(g.to_role() for g in self.after),
            tuple(c.to_change() for c in self.changes),
        )


class _Mesh(Strict):
    mesh_id: str
    mesh_name: str | None


class _Asm(Strict):
    managed_meshes: tuple[_Mesh, ...]
    updates: tuple[_Update, ...]


class _AssignmentCreate(_Assignment):
    action: Literal["create"]
    reason: ChangeReason

    def to_change(self) -> AssignmentCreate:
        return AssignmentCreate(self.to_assignment(), self.reason)


class _AssignmentDelete(_Assignment):
    action: Literal["delete"]
    reason: ChangeReason

    def to_change(self) -> AssignmentDelete:
        return AssignmentDelete(self.to_assignment(), self.reason)


# One reader per CloudSSO change kind, told apart by `action`.
_CloudSsoChangeDocument = Annotated[
    _AssignmentCreate | _AssignmentDelete, Field(discriminator="action")
]


class _Configuration(Strict):
    access_configuration_id: str
    access_configuration_name: str | None


class _Granted(Strict):
    name: str
    description: str
    session_duration: int
    relay_state: str
    system_policies: tuple[str, ...]
    inline_policy: dict[str, Any] | None

    @field_validator("inline_policy")
    @classmethod
    def _a_policy_document(cls, document: dict[str, Any] | None) -> dict[str, Any] | None:
        """The file's rules: a hand-edited plan must not reach the comparison with a policy
        the file would have refused."""
        for path, message in shape_problems(document) if document is not None else ():
            raise ValueError(f"{'.'.join(map(str, path))}: {message}" if path else message)
        return document

    def to_granted(self) -> AccessConfiguration:
        return AccessConfiguration.written(
            self.name,
            self.description,
            self.session_duration,
            self.relay_state,
            self.system_policies,
            self.inline_policy,
        )


class _Reach(Strict):
    account_ids: tuple[str, ...]
    principals: int


class _Granting(_Configuration):
    """A create or an update. Its `diff` and `widening` are written for readers; reading
    derives them again from `before` and `after`, as the engine does."""

    after: _Granted
    diff: dict[str, Any]
    widens: bool
    widening: tuple[str, ...]
    reach: _Reach
    reprovision_account_ids: tuple[str, ...]


class _ConfigurationCreate(_Granting):
    action: Literal["create"]
    before: None

    def to_change(self) -> AccessConfigurationCreate:
        after = self.after.to_granted()
        diff = compare(granting_nothing(after), after)
        reach = Reach(self.reach.account_ids, self.reach.principals)
        return AccessConfigurationCreate(self.access_configuration_id, after, diff, reach)


class _ConfigurationUpdate(_Granting):
    action: Literal["update"]
    before: _Granted
    inline_policy_name: str | None

    def to_change(self) -> AccessConfigurationUpdate:
        before, after = self.before.to_granted(), self.after.to_granted()
        return AccessConfigurationUpdate(
            self.access_configuration_id,
            before,
            after,
            self.inline_policy_name,
            compare(before, after),
            Reach(self.reach.account_ids, self.reach.principals),
            self.reprovision_account_ids,
        )


class _ConfigurationDelete(_Configuration):
    action: Literal["delete"]
    before: _Granted
    after: None

    def to_change(self) -> AccessConfigurationDelete:
        return AccessConfigurationDelete(self.access_configuration_id, self.before.to_granted())


_ConfigurationChangeDocument = Annotated[
    _ConfigurationCreate | _ConfigurationUpdate | _ConfigurationDelete,
    Field(discriminator="action"),
]


class _AccessConfigurations(Strict):
    changes: tuple[_ConfigurationChangeDocument, ...]
    unmanaged: tuple[_Configuration, ...]


class _CloudSso(Strict):
    directory_id: str | None
    deprovision_strategy: DeprovisionStrategy
    managed_account_ids: tuple[str, ...]
    changes: tuple[_CloudSsoChangeDocument, ...]
    access_configurations: _AccessConfigurations


class _UnmanagedGrant(Strict):
    principal_id: str
    principal_name: str | None
    kind: PrincipalKind
    mesh_id: str
    mesh_name: str | None
    role: str
    role_type: str

    def to_grant(self) -> UnmanagedGrant:
        return UnmanagedGrant(
            self.principal_id, self.kind, MeshRole(self.mesh_id, self.role, self.role_type)
        )


class _Unmanaged(Strict):
    asm: tuple[_UnmanagedGrant, ...]
    cloudsso: tuple[_Assignment, ...]


class _Issue(Strict):
    kind: str
    override: Override | None
    reason: str
    grants: tuple[str, ...]


class _Person(Strict):
    principal_id: str
    name: str


class _PeopleChange(Strict):
    action: PeopleAction
    service: Service
    target_id: str
    target_name: str | None
    role_id: str
    role_name: str | None
    through_group_id: str | None
    through_group_name: str | None
    count: int
    people: tuple[_Person, ...]
    members_unknown: bool = False

    def to_change(self) -> PeopleChange:
        people = tuple(Person(p.principal_id, p.name) for p in self.people)
        return PeopleChange(
            self.service,
            self.target_id,
            self.role_id,
            self.action,
            self.through_group_id,
            people,
            self.members_unknown,
        )


class _Settings(Strict):
    max_delete_percent: float
    min_existing_for_threshold: int
    protected_principals: tuple[str, ...]


class _MeshAdmins(Strict):
    mesh_id: str
    before: int
    after: int


class _Safety(Strict):
    settings: _Settings
    existing_managed_grants: int
    caller_principal_ids: tuple[str, ...]
    mesh_admins: tuple[_MeshAdmins, ...]
    planned_with: tuple[Override, ...] | None


class _PrincipalSnapshot(Strict):
    principal_id: str
    kind: PrincipalKind
    permissions: tuple[_Grant, ...]


class _AccountSnapshot(Strict):
    account_id: str
    assignments: tuple[_AssignmentHeld, ...]


class _ConfigurationSnapshot(Strict):
    access_configuration_id: str
    granted: _Granted | None


class _Snapshot(Strict):
    asm: tuple[_PrincipalSnapshot, ...]
    cloudsso: tuple[_AccountSnapshot, ...]
    access_configurations: tuple[_ConfigurationSnapshot, ...] = ()

    def to_snapshot(self) -> Snapshot:
        return Snapshot(
            asm=tuple(
                PrincipalSnapshot(p.principal_id, p.kind, tuple(g.to_role() for g in p.permissions))
                for p in self.asm
            ),
            cloudsso=tuple(
                AccountSnapshot(a.account_id, tuple(x.to_assignment() for x in a.assignments))
                for a in self.cloudsso
            ),
            access_configurations=tuple(
                ConfigurationSnapshot(
                    c.access_configuration_id, c.granted.to_granted() if c.granted else None
                )
                for c in self.access_configurations
            ),
        )


class PlanDocument(Strict):
    """The plan document as read: every field checked for type, nothing unknown accepted."""

    format_version: Literal["2"]
    has_changes: bool
    summary: dict[str, int]
    fingerprint: str
    asm: _Asm
    cloudsso: _CloudSso
    unmanaged: _Unmanaged
    unsafe: tuple[_Issue, ...]
    people: tuple[_PeopleChange, ...] = ()
    safety: _Safety
    names: dict[str, str]
    snapshot: _Snapshot

    def to_plan(self) -> Plan:
        safety = self.safety
        return Plan(
            asm_updates=tuple(u.to_update() for u in self.asm.updates),
            sso_changes=tuple(c.to_change() for c in self.cloudsso.changes),
            unmanaged=Unmanaged(
                asm=tuple(g.to_grant() for g in self.unmanaged.asm),
                cloudsso=tuple(a.to_assignment() for a in self.unmanaged.cloudsso),
            ),
            snapshot=self.snapshot.to_snapshot(),
            managed_mesh_ids=tuple(m.mesh_id for m in self.asm.managed_meshes),
            managed_account_ids=self.cloudsso.managed_account_ids,
            directory_id=self.cloudsso.directory_id,
            names=MappingProxyType(dict(self.names)),
            safety=SafetySettings(
                max_delete_percent=safety.settings.max_delete_percent,
                min_existing_for_threshold=safety.settings.min_existing_for_threshold,
                protected_principals=frozenset(safety.settings.protected_principals),
            ),
            caller_principal_ids=frozenset(safety.caller_principal_ids),
            existing_managed_grants=safety.existing_managed_grants,
            mesh_admins=tuple(MeshAdmins(m.mesh_id, m.before, m.after) for m in safety.mesh_admins),
            deprovision_strategy=self.cloudsso.deprovision_strategy,
            access_configuration_changes=tuple(
                c.to_change() for c in self.cloudsso.access_configurations.changes
            ),
            unmanaged_access_configurations=tuple(
                c.access_configuration_id for c in self.cloudsso.access_configurations.unmanaged
            ),
            planned_with=None if safety.planned_with is None else frozenset(safety.planned_with),
            people=tuple(p.to_change() for p in self.people),
        )
