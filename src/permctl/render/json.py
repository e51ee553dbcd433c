"""The plan as a versioned JSON document for machines; the schema is docs/plan-json.md.

Additions keep `format_version` "1"; renaming or removing a field would make it "2".
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from permctl.model import Assignment
from permctl.plan import AssignmentChange, MeshRoleChange, Plan, PrincipalUpdate, UnmanagedGrant
from permctl.plan.people import PeopleChange
from permctl.plan.safety import SafetyIssue

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
        },
        "unmanaged": {
            "asm": [_unmanaged_grant(plan, g) for g in plan.unmanaged.asm],
            "cloudsso": [_assignment(plan, a) for a in plan.unmanaged.cloudsso],
        },
        "unsafe": [_issue(issue) for issue in plan.safety_issues()],
        "people": [_people(plan, change) for change in plan.people],
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
    """Who gains or loses one access: `role` is the istio role or the access configuration's
    id, `target_id` the mesh or the account."""
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
