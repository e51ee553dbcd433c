"""Drift: the differences between the file and live state, classified for a report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from permctl.model import Assignment
from permctl.plan.changes import (
    AssignmentCreate,
    AssignmentDelete,
    CloudSsoChange,
    MeshRoleChange,
    PrincipalUpdate,
    unhandled,
)
from permctl.plan.core import Plan

DriftKind = Literal[
    "live_not_in_file", "in_file_missing_live", "role_mismatch", "expired_still_live"
]
DRIFT_KINDS: tuple[DriftKind, ...] = (
    "live_not_in_file",
    "in_file_missing_live",
    "role_mismatch",
    "expired_still_live",
)
DriftService = Literal["asm", "cloudsso"]
DRIFT_SERVICES: tuple[DriftService, ...] = ("asm", "cloudsso")


@dataclass(frozen=True, order=True)
class DriftItem:
    """One difference. `live` is what is held live and `in_file` what the file wants (on a mesh
    a role, on an account an access configuration id); None where that side has nothing, as
    for an expired grant, which the file no longer wants."""

    service: DriftService
    kind: DriftKind
    principal_type: str  # ram_user or ram_role on a mesh, User or Group on an account
    principal_id: str
    target_id: str  # the mesh or the account
    live: str | None
    in_file: str | None

    @property
    def key(self) -> str:
        """The same difference has the same key on every run, whatever names are known, and a
        different one as soon as either side changes: reports are compared by it."""
        return "/".join(
            (
                self.service,
                self.kind,
                self.principal_type,
                self.principal_id,
                self.target_id,
                self.live or "-",
                self.in_file or "-",
            )
        )


def drift_items(plan: Plan) -> tuple[DriftItem, ...]:
    """Every planned change and every unmanaged grant, classified and sorted; unmanaged ones
    count as live-not-in-file because the file does not declare them."""
    items = [_mesh_item(u, change) for u in plan.asm_updates for change in u.changes]
    items += [
        DriftItem(
            "asm",
            "live_not_in_file",
            g.kind.value,
            g.principal_id,
            g.grant.mesh_id,
            g.grant.role,
            None,
        )
        for g in plan.unmanaged.asm
    ]
    items += [_assignment_item(c) for c in plan.sso_changes]
    items += [_assignment_item(AssignmentDelete(a)) for a in plan.unmanaged.cloudsso]
    return tuple(sorted(items))


def _mesh_item(update: PrincipalUpdate, change: MeshRoleChange) -> DriftItem:
    return DriftItem(
        "asm",
        _mesh_drift(change),
        update.kind.value,
        update.principal_id,
        change.mesh_id,
        change.before,
        change.after,
    )


def _mesh_drift(change: MeshRoleChange) -> DriftKind:
    if change.reason == "expired":
        return "expired_still_live"
    if change.action == "add":
        return "in_file_missing_live"
    return "role_mismatch" if change.action == "change" else "live_not_in_file"


def _assignment_item(change: CloudSsoChange) -> DriftItem:
    a: Assignment = change.assignment
    before: str | None
    after: str | None
    match change:
        case AssignmentCreate():
            kind: DriftKind = "in_file_missing_live"
            before, after = None, a.access_configuration_id
        case AssignmentDelete():
            kind = "live_not_in_file"
            before, after = a.access_configuration_id, None
        case _:
            unhandled(change)
    if change.reason == "expired":
        kind = "expired_still_live"
    return DriftItem(
        "cloudsso", kind, a.principal_type, a.principal_id, a.account_id, before, after
    )
