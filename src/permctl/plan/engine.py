"""build_plan: desired state versus live state, as set arithmetic over normalized tuples.

Pure: no I/O and no clock (`today` is passed in). Everything is sorted as it is built, so the
same inputs always give the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from permctl.model import (
    DEFAULT_DEPROVISION_STRATEGY,
    AsmPrincipalLive,
    Assignment,
    DesiredAsm,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    LiveState,
    MeshRole,
    PrincipalKind,
    outside_meshes,
)
from permctl.plan.access_configurations import (
    AccessConfigurationPlan,
    plan_access_configurations,
    refuse_deleting_used,
)
from permctl.plan.changes import (
    AccountSnapshot,
    AssignmentCreate,
    AssignmentDelete,
    ChangeReason,
    CloudSsoChange,
    ConfigurationSnapshot,
    PrincipalSnapshot,
    PrincipalUpdate,
    Snapshot,
    Unmanaged,
    UnmanagedGrant,
    principal_update,
    unhandled,
)
from permctl.plan.core import MeshAdmins, Plan, count_mesh_admins, holds_admin
from permctl.plan.people import groups_to_expand


@dataclass(frozen=True)
class _AsmPart:
    updates: tuple[PrincipalUpdate, ...] = ()
    unmanaged: tuple[UnmanagedGrant, ...] = ()
    existing: int = 0
    mesh_admins: tuple[MeshAdmins, ...] = ()


@dataclass(frozen=True)
class _CloudSsoPart:
    changes: tuple[CloudSsoChange, ...] = ()
    unmanaged: tuple[Assignment, ...] = ()
    existing: int = 0


def build_plan(desired: DesiredState, live: LiveState, today: date) -> Plan:
    asm = _plan_asm(desired.asm, live.asm, today) if desired.asm else _AsmPart()
    sso = (
        _plan_cloudsso(desired.cloudsso, live.assignments, today)
        if desired.cloudsso
        else _CloudSsoPart()
    )
    configurations = (
        plan_access_configurations(
            desired.cloudsso,
            live.access_configurations,
            _assignments_after(live.assignments, sso.changes),
        )
        if desired.cloudsso
        else AccessConfigurationPlan()
    )
    if desired.cloudsso:
        refuse_deleting_used(desired.cloudsso, configurations, live, sso.changes)
    return Plan(
        asm_updates=asm.updates,
        sso_changes=sso.changes,
        unmanaged=Unmanaged(asm=asm.unmanaged, cloudsso=sso.unmanaged),
        snapshot=take_snapshot(
            live,
            [(u.principal_id, u.kind) for u in asm.updates],
            [c.assignment.account_id for c in sso.changes],
            [c.configuration_id for c in configurations.changes if c.action != "create"],
        ),
        managed_mesh_ids=tuple(sorted(desired.asm.managed_mesh_ids)) if desired.asm else (),
        managed_account_ids=(
            tuple(sorted(desired.cloudsso.managed_account_ids)) if desired.cloudsso else ()
        ),
        directory_id=desired.cloudsso.directory_id if desired.cloudsso else None,
        names=_display_names(desired, live),
        safety=desired.safety,
        caller_principal_ids=live.caller_principal_ids,
        existing_managed_grants=asm.existing + sso.existing + configurations.existing,
        mesh_admins=asm.mesh_admins,
        deprovision_strategy=(
            desired.cloudsso.deprovision_strategy
            if desired.cloudsso
            else DEFAULT_DEPROVISION_STRATEGY
        ),
        access_configuration_changes=configurations.changes,
        unmanaged_access_configurations=configurations.unmanaged,
    )


def _assignments_after(
    live: frozenset[Assignment], changes: Iterable[CloudSsoChange]
) -> set[Assignment]:
    after = set(live)
    for change in changes:
        match change:
            case AssignmentCreate():
                after.add(change.assignment)
            case AssignmentDelete():
                after.discard(change.assignment)
            case _:
                unhandled(change)
    return after


def _plan_asm(asm: DesiredAsm, live: Mapping[str, AsmPrincipalLive], today: date) -> _AsmPart:
    managed = asm.managed_mesh_ids
    listed = {p.principal_id for p in asm.principals}
    if len(listed) != len(asm.principals):
        # Two updates of one principal would overwrite each other's full list; resolve rejects
        # such files, so reaching this is a bug in whatever built the desired state.
        raise ValueError("a principal appears more than once in the desired state")
    updates = [_update_listed(p, live.get(p.principal_id), managed, today) for p in asm.principals]
    unlisted = [held for pid, held in live.items() if pid not in listed and held.on_meshes(managed)]
    unmanaged: list[UnmanagedGrant] = []
    if asm.prune_unlisted:
        updates += [
            _reconcile(h.principal_id, h.kind, None, h.permissions, {}, managed, "unlisted")
            for h in unlisted
        ]
    else:
        unmanaged = [
            UnmanagedGrant(h.principal_id, h.kind, grant)
            for h in unlisted
            for grant in h.on_meshes(managed)
        ]
    planned = tuple(sorted((u for u in updates if u), key=lambda u: u.principal_id))
    return _AsmPart(
        updates=planned,
        unmanaged=tuple(sorted(unmanaged)),
        existing=sum(len(h.on_meshes(managed)) for h in live.values()),
        mesh_admins=_mesh_admins(managed, live.values(), planned),
    )


def _update_listed(
    principal: DesiredPrincipal,
    held: AsmPrincipalLive | None,
    managed: frozenset[str],
    today: date,
) -> PrincipalUpdate | None:
    """A listed principal with no live record holds nothing; an expired one is wanted nowhere."""
    expired = _expired(principal.expires, today)
    wanted = {} if expired else {m: r for m, r in principal.roles.items() if m in managed}
    return _reconcile(
        principal.principal_id,
        principal.kind,
        principal.label,
        held.permissions if held else frozenset(),
        wanted,
        managed,
        "expired" if expired else "desired",
    )


def _reconcile(
    principal_id: str,
    kind: PrincipalKind,
    label: str | None,
    held: frozenset[MeshRole],
    wanted: Mapping[str, str],
    managed: frozenset[str],
    reason: ChangeReason,
) -> PrincipalUpdate | None:
    """The principal's new full list: `wanted` on managed meshes, everything else kept verbatim.

    On a managed mesh a held entry of the wanted role is kept as it is (whatever its role
    type); otherwise the wanted role is granted and every other entry there is dropped."""
    after = set(outside_meshes(held, managed))
    for mesh_id, role in wanted.items():
        kept = {g for g in held if g.mesh_id == mesh_id and g.role == role}
        after |= kept or {MeshRole(mesh_id, role)}
    return principal_update(principal_id, kind, label, held, after, managed, reason)


def _mesh_admins(
    managed: frozenset[str],
    live: Iterable[AsmPrincipalLive],
    updates: tuple[PrincipalUpdate, ...],
) -> tuple[MeshAdmins, ...]:
    before = {
        mesh_id: sum(holds_admin(held.permissions, mesh_id) for held in live) for mesh_id in managed
    }
    return count_mesh_admins(before, updates)


def _plan_cloudsso(sso: DesiredCloudSso, live: frozenset[Assignment], today: date) -> _CloudSsoPart:
    """Only assignments on managed accounts are compared; others are never touched."""
    active = {d.assignment for d in sso.assignments if not _expired(d.expires, today)}
    expired = {d.assignment for d in sso.assignments} - active
    in_scope = {a for a in live if a.account_id in sso.managed_account_ids}
    undeclared = in_scope - active - expired
    changes: list[CloudSsoChange] = [AssignmentCreate(a) for a in active - live]
    changes += [AssignmentDelete(a, "expired") for a in expired & in_scope]
    if sso.prune_unlisted:
        changes += [AssignmentDelete(a, "unlisted") for a in undeclared]
    changes.sort(key=lambda c: (_assignment_key(c.assignment), c.action))
    return _CloudSsoPart(
        changes=tuple(changes),
        unmanaged=() if sso.prune_unlisted else tuple(sorted(undeclared, key=_assignment_key)),
        existing=len(in_scope),
    )


def groups_reached(desired: DesiredState, live: frozenset[Assignment], today: date) -> set[str]:
    """The groups whose members the plan's people need (`groups_to_expand`), known as soon as
    the assignments are: the CloudSSO changes depend on nothing else, so the members are read
    while the rest of the live state still is."""
    if desired.cloudsso is None:
        return set()
    return groups_to_expand(_plan_cloudsso(desired.cloudsso, live, today).changes, live)


def take_snapshot(
    live: LiveState,
    principals: Iterable[tuple[str, PrincipalKind]],
    account_ids: Iterable[str],
    configuration_ids: Iterable[str] = (),
) -> Snapshot:
    """The live state of these principals, accounts and access configurations, in the form a
    plan records it.

    Apply calls this on a fresh read of a saved plan's targets and compares fingerprints; a
    principal with no live record holds nothing.
    """
    accounts = set(account_ids)
    records = live.access_configurations.records
    on_account: dict[str, list[Assignment]] = {account_id: [] for account_id in accounts}
    for assignment in live.assignments:
        if assignment.account_id in accounts:
            on_account[assignment.account_id].append(assignment)
    return Snapshot(
        asm=tuple(_principal_snapshot(live, pid, kind) for pid, kind in sorted(set(principals))),
        cloudsso=tuple(
            AccountSnapshot(account_id, tuple(sorted(on_account[account_id])))
            for account_id in sorted(accounts)
        ),
        access_configurations=tuple(
            ConfigurationSnapshot(i, records[i].granted if i in records else None)
            for i in sorted(set(configuration_ids))
        ),
    )


def _principal_snapshot(
    live: LiveState, principal_id: str, kind: PrincipalKind
) -> PrincipalSnapshot:
    held = live.asm.get(principal_id)
    return PrincipalSnapshot(principal_id, kind, tuple(sorted(held.permissions)) if held else ())


def _assignment_key(assignment: Assignment) -> tuple[str, str, str, str]:
    """Grouped by account, the way the text and markdown renderers show them."""
    return (
        assignment.account_id,
        assignment.access_configuration_id,
        assignment.principal_type,
        assignment.principal_id,
    )


def _expired(expires: date | None, today: date) -> bool:
    return expires is not None and expires < today


def _display_names(desired: DesiredState, live: LiveState) -> Mapping[str, str]:
    names = {**live.names, **desired.names}
    if desired.asm:
        names.update({mesh.mesh_id: mesh.alias for mesh in desired.asm.meshes})
    return MappingProxyType(names)
