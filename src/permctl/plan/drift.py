"""Drift: the differences between the file and live state, classified for a report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from permctl.plan.changes import AssignmentChange, MeshRoleChange
from permctl.plan.core import Plan

DriftKind = Literal[
    "live_not_in_file", "in_file_missing_live", "role_mismatch", "expired_still_live"
]


@dataclass(frozen=True)
class DriftItem:
    kind: DriftKind
    service: Literal["asm", "cloudsso"]
    principal_id: str
    target_id: str  # the mesh or the account
    description: str


def drift_items(plan: Plan) -> tuple[DriftItem, ...]:
    """Every planned change and every unmanaged grant, classified; unmanaged ones count as
    live-not-in-file because the file does not declare them."""
    items = [
        DriftItem(
            _mesh_drift(change),
            "asm",
            u.principal_id,
            change.mesh_id,
            plan.describe_mesh_change(u, change),
        )
        for u in plan.asm_updates
        for change in u.changes
    ]
    items += [
        DriftItem(
            "live_not_in_file",
            "asm",
            g.principal_id,
            g.grant.mesh_id,
            f"{plan.describe(g.principal_id)} on {plan.describe(g.grant.mesh_id)}: {g.grant.role}",
        )
        for g in plan.unmanaged.asm
    ]
    items += [
        DriftItem(
            _assignment_drift(c),
            "cloudsso",
            c.assignment.principal_id,
            c.assignment.account_id,
            plan.describe_assignment(c.assignment),
        )
        for c in plan.sso_changes
    ]
    items += [
        DriftItem(
            "live_not_in_file",
            "cloudsso",
            a.principal_id,
            a.account_id,
            plan.describe_assignment(a),
        )
        for a in plan.unmanaged.cloudsso
    ]
    return tuple(items)


def _mesh_drift(change: MeshRoleChange) -> DriftKind:
    if change.reason == "expired":
        return "expired_still_live"
    return {"add": "in_file_missing_live", "change": "role_mismatch"}.get(
        change.action, "live_not_in_file"
    )  # type: ignore[return-value]


def _assignment_drift(change: AssignmentChange) -> DriftKind:
    if change.reason == "expired":
        return "expired_still_live"
    return "in_file_missing_live" if change.action == "create" else "live_not_in_file"
