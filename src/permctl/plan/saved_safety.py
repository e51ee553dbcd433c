"""A saved plan is checked for safety again when it is applied.

`permctl plan --out` records, in the plan's desired context, what the safety checks need beyond
the changes and the snapshot (how many managed grants and mesh admins there were, who runs
permctl, the names principals go by) and which overrides it was given. `permctl apply --plan`
rebuilds the plan from the file and checks it again with the files' safety settings, so a plan
edited after it was saved cannot slip past them: every issue must be one an override accepted
both when the plan was made and now.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from itertools import zip_longest
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from permctl.errors import UnsafePlan
from permctl.model import ADMIN_ROLE, MeshRole, SafetySettings
from permctl.plan import MeshAdmins, MeshRoleChange, Plan, PrincipalUpdate, SafetyIssue, Unmanaged
from permctl.plan.safety import OVERRIDE_FLAGS, Override
from permctl.plan.saved import SavedPlan

SAFETY_CONTEXT = "safety"


class SafetyRecord(BaseModel):
    """What `plan --out` saw that a saved plan's changes and snapshot do not say."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    overrides: tuple[Override, ...]
    caller_principal_ids: tuple[str, ...]  # who ran permctl, in each mesh account
    existing_managed_grants: int
    mesh_admins: dict[str, int]  # managed mesh id -> principals holding istio-admin there
    names: dict[str, str]


class SavedPlanUnsafe(UnsafePlan):
    def __init__(self, issues: Sequence[SafetyIssue], hint: str) -> None:
        self.issues = tuple(issues)
        super().__init__(
            f"refusing the saved plan: it is unsafe: {' | '.join(str(i) for i in issues)}; "
            f"nothing was applied; {hint}"
        )


class MissingSafetyRecord(UnsafePlan):
    def __init__(self, why: str) -> None:
        super().__init__(
            f"refusing the saved plan: {why}, so its safety cannot be checked again; "
            "nothing was applied; run permctl plan again"
        )


def safety_record(plan: Plan, *, force: bool, allow_lockout: bool) -> dict[str, Any]:
    """The JSON to save under `desired_context["safety"]` with `plan`, made with these flags."""
    given: tuple[tuple[Override, bool], ...] = (("force", force), ("allow_lockout", allow_lockout))
    overrides = [override for override, flag in given if flag]
    record = SafetyRecord(
        overrides=tuple(overrides),
        caller_principal_ids=tuple(sorted(plan.caller_principal_ids)),
        existing_managed_grants=plan.existing_managed_grants,
        mesh_admins={m.mesh_id: m.before for m in plan.mesh_admins},
        names=_names_worth_keeping(plan),
    )
    return record.model_dump(mode="json")


def check_saved_plan_safety(
    saved: SavedPlan, settings: SafetySettings, *, force: bool, allow_lockout: bool
) -> Plan:
    """The saved plan rebuilt, with the names it recorded; raise unless it is safe under
    `settings`, or each of its issues was accepted by an override given both to `permctl plan`
    (as recorded) and now."""
    record = _read_record(saved)
    planned = _rebuilt(saved, record, settings)
    blocking = [
        issue
        for issue in planned.safety_issues()
        if not (
            issue.overridden_by(force=force, allow_lockout=allow_lockout)
            and issue.override in record.overrides
        )
    ]
    if not blocking:
        return planned
    if any(issue.override not in record.overrides for issue in blocking):
        raise SavedPlanUnsafe(
            blocking,
            "permctl plan did not accept it like this (it was changed after it was saved, or "
            "it needs an override the plan was not made with); run permctl plan again",
        )
    flags = " ".join(
        sorted({OVERRIDE_FLAGS[issue.override] for issue in blocking if issue.override})
    )
    raise SavedPlanUnsafe(blocking, f"it was planned with {flags}: pass {flags} again to apply it")


def _names_worth_keeping(plan: Plan) -> dict[str, str]:
    """Names of what the plan touches, and of every principal a protected entry names: a plan
    edited to touch one of those must still be recognised as touching a protected principal."""
    protected = plan.safety.protected_principals
    touched: set[str] = set(plan.managed_mesh_ids)
    touched.update(u.principal_id for u in plan.asm_updates)
    for change in plan.sso_changes:
        a = change.assignment
        touched.update((a.principal_id, a.account_id, a.access_configuration_id))
    return {
        object_id: name
        for object_id, name in sorted(plan.names.items())
        if object_id in touched or object_id in protected or name in protected
    }


def _read_record(saved: SavedPlan) -> SafetyRecord:
    recorded = saved.desired_context.get(SAFETY_CONTEXT)
    if recorded is None:
        raise MissingSafetyRecord("it does not record the safety checks it was made with")
    try:
        record = SafetyRecord.model_validate_json(json.dumps(recorded))
    except ValidationError:
        raise MissingSafetyRecord("its record of the safety checks is not valid") from None
    if set(record.mesh_admins) != set(saved.managed_mesh_ids):
        raise MissingSafetyRecord("its record of the safety checks names other meshes than it")
    return record


def _rebuilt(saved: SavedPlan, record: SafetyRecord, settings: SafetySettings) -> Plan:
    """The saved plan as `build_plan` would have returned it, as far as safety checks look."""
    managed = frozenset(saved.managed_mesh_ids)
    held = {p.principal_id: p.permissions for p in saved.snapshot.asm}
    updates = tuple(
        PrincipalUpdate(
            u.principal_id,
            u.kind,
            u.label,
            held.get(u.principal_id, ()),
            u.after,
            _mesh_role_changes(held.get(u.principal_id, ()), u.after, managed),
        )
        for u in saved.asm_updates
    )
    return Plan(
        asm_updates=updates,
        sso_changes=saved.sso_changes,
        unmanaged=Unmanaged(),
        snapshot=saved.snapshot,
        managed_mesh_ids=saved.managed_mesh_ids,
        managed_account_ids=(),
        directory_id=saved.directory_id,
        names=MappingProxyType(record.names),
        safety=settings,
        caller_principal_ids=frozenset(record.caller_principal_ids),
        existing_managed_grants=record.existing_managed_grants,
        mesh_admins=_mesh_admins_after(record.mesh_admins, updates),
    )


def _mesh_role_changes(
    before: Iterable[MeshRole], after: Iterable[MeshRole], managed: frozenset[str]
) -> tuple[MeshRoleChange, ...]:
    """Per managed mesh, the entries lost paired with the entries gained (a swap), the rest as
    plain removals or additions: entry by entry, as `build_plan` counts them."""
    held, wanted = frozenset(before), frozenset(after)
    changes: list[MeshRoleChange] = []
    for mesh_id in sorted(managed):
        lost = sorted(g for g in held - wanted if g.mesh_id == mesh_id)
        gained = sorted(g for g in wanted - held if g.mesh_id == mesh_id)
        changes += [
            MeshRoleChange(mesh_id, was.role if was else None, now.role if now else None)
            for was, now in zip_longest(lost, gained)
        ]
    return tuple(changes)


def _mesh_admins_after(
    before: Mapping[str, int], updates: Sequence[PrincipalUpdate]
) -> tuple[MeshAdmins, ...]:
    """The principals a plan does not update keep their roles, so only its updates move the
    count of admins on a mesh."""
    return tuple(
        MeshAdmins(
            mesh_id,
            count,
            count
            - sum(_is_admin(u.before, mesh_id) for u in updates)
            + sum(_is_admin(u.after, mesh_id) for u in updates),
        )
        for mesh_id, count in sorted(before.items())
    )


def _is_admin(grants: Iterable[MeshRole], mesh_id: str) -> bool:
    return any(g.mesh_id == mesh_id and g.role == ADMIN_ROLE for g in grants)
