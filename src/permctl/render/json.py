"""The plan as a versioned JSON document for machines; the schema is docs/plan-json.md.

Additions keep `format_version` "1"; renaming or removing a field would make it "2".
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from permctl.model import AccessConfiguration, Assignment
from permctl.plan import AssignmentChange, MeshRoleChange, Plan, PrincipalUpdate, UnmanagedGrant
from permctl.plan.access_configurations import (
    AccessConfigurationChange,
    AccessConfigurationCreate,
    AccessConfigurationDelete,
    AccessConfigurationUpdate,
)
from permctl.plan.safety import SafetyIssue
from permctl.policydocument import parse

FORMAT_VERSION = "1"


def render(plan: Plan) -> str:
    return json.dumps(document(plan), indent=2, ensure_ascii=False) + "\n"


def document(plan: Plan) -> dict[str, Any]:
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
            "managed_account_ids": list(plan.managed_account_ids),
            "changes": [_assignment_change(plan, c) for c in plan.sso_changes],
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


def _assignment_change(plan: Plan, change: AssignmentChange) -> dict[str, Any]:
    assignment = _assignment(plan, change.assignment)
    return {"action": change.action, "reason": change.reason, **assignment}


def _configuration_change(plan: Plan, change: AccessConfigurationChange) -> dict[str, Any]:
    """What it was and will be (policies as documents), the structured diff, and whether and
    how far it widens."""
    common = {
        "action": change.action,
        **_named(plan, "access_configuration", change.configuration_id),
    }
    if isinstance(change, AccessConfigurationDelete):
        return {**common, "before": _granted(change.before), "after": None}
    before = None if isinstance(change, AccessConfigurationCreate) else _granted(change.before)
    return {
        **common,
        "before": before,
        "after": _granted(change.after),
        "diff": asdict(change.diff),
        "widens": change.diff.widens,
        "widening": list(change.diff.widening),
        "reach": asdict(change.reach),
        "reprovision_account_ids": list(
            change.stale_account_ids if isinstance(change, AccessConfigurationUpdate) else ()
        ),
    }


def _granted(granted: AccessConfiguration) -> dict[str, Any]:
    return {
        **asdict(granted),
        "inline_policy": parse(granted.inline_policy) if granted.inline_policy else None,
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
