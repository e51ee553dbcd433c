"""What makes a plan unsafe, in one place.

Each refusal is its own exception class whose constructor writes the message, listing the
grants involved. `find_issues` returns all of them so a renderer can show every reason at once;
`Plan.raise_if_unsafe`, the one gate, raises `PlanIsUnsafe` with those no override accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, ClassVar, Literal

from permctl.errors import UnsafePlan
from permctl.model import ADMIN_ROLE
from permctl.plan.access_configurations import AccessConfigurationDelete

if TYPE_CHECKING:
    from permctl.plan.core import Plan

Override = Literal["force", "allow_lockout"]
OVERRIDE_FLAGS: dict[Override, str] = {"force": "--force", "allow_lockout": "--allow-lockout"}

# A message names at most this many grants; the JSON plan lists every change.
MAX_GRANTS_IN_MESSAGE = 10


class SafetyIssue(UnsafePlan):
    """One reason a plan is unsafe. `override` names the flag that accepts it (None: nothing)."""

    override: ClassVar[Override | None] = None

    def __init__(self, reason: str, grants: Sequence[str]) -> None:
        self.reason = reason
        self.grants = tuple(grants)
        listing = [*self.grants_shown, more_than_shown(self.grants)]
        super().__init__(f"{reason}: {'; '.join(g for g in listing if g)}")

    @property
    def grants_shown(self) -> tuple[str, ...]:
        """The grants a message lists; the rest are only counted."""
        return self.grants[:MAX_GRANTS_IN_MESSAGE]

    def accepted_by(self, overrides: frozenset[Override]) -> bool:
        return self.override is not None and self.override in overrides


class PlanIsUnsafe(UnsafePlan):
    """The gate's refusal: every issue no override accepted, and what to do about them.

    `planned_with` is None for a plan computed in this run (shown just before, grants and all,
    so the message gives the reasons only), else the overrides `permctl plan` accepted the
    saved plan with (not shown, so the message lists the grants too).
    """

    def __init__(
        self, issues: Sequence[SafetyIssue], planned_with: frozenset[Override] | None
    ) -> None:
        self.issues = tuple(issues)
        listing = " | ".join(str(issue) for issue in issues)
        if planned_with is None:
            reasons = "; ".join(issue.reason for issue in issues)
            super().__init__(f"the plan is unsafe ({reasons}); nothing was saved or applied")
        elif any(issue.override not in planned_with for issue in issues):
            super().__init__(
                f"refusing the saved plan: it is unsafe: {listing}; nothing was applied; "
                "permctl plan did not accept it like this (it was changed after it was saved, "
                "or it needs an override the plan was not made with); run permctl plan again"
            )
        else:
            flags = " ".join(
                sorted({OVERRIDE_FLAGS[issue.override] for issue in issues if issue.override})
            )
            super().__init__(
                f"refusing the saved plan: it is unsafe: {listing}; nothing was applied; "
                f"it was planned with {flags}: pass {flags} again to apply it"
            )


# How to keep pruning on and a protected principal the file does not list.
LIST_THE_PROTECTED = (
    "; to keep prune_unlisted on, list the protected principal in the file with the roles or "
    "assignments it holds (docs/recipes.md, Break-glass principals)"
)


class ProtectedPrincipalChange(SafetyIssue):
    def __init__(self, grants: Sequence[str], *, pruned: bool = False) -> None:
        """`pruned`: some of those grants go because the file does not list their principal."""
        super().__init__(
            f"protected principals would lose or change {len(grants)} grant(s) "
            "(safety.protected_principals; --force does not override this)"
            + (LIST_THE_PROTECTED if pruned else ""),
            grants,
        )


class Lockout(SafetyIssue):
    override = "allow_lockout"


class MeshAdminLockout(Lockout):
    def __init__(self, meshes: Sequence[str], grants: Sequence[str]) -> None:
        super().__init__(
            f"the plan would leave {', '.join(meshes)} with no {ADMIN_ROLE} "
            "(--allow-lockout overrides)",
            grants,
        )


class CallerLockout(Lockout):
    def __init__(self, caller: str, grants: Sequence[str]) -> None:
        super().__init__(
            f"the plan would remove or change the grants of {caller}, the identity running "
            "permctl (--allow-lockout overrides)",
            grants,
        )


class TooMuchChange(SafetyIssue):
    override = "force"

    def __init__(self, grants: Sequence[str], existing: int, max_percent: float) -> None:
        percent = 100 * len(grants) / existing
        super().__init__(
            f"too much change: {len(grants)} of {existing} existing managed grants "
            f"({percent:.1f}%) would be removed or changed, more than the {max_percent:g}% "
            "allowed by safety.max_delete_percent (--force overrides)",
            grants,
        )


def find_issues(plan: Plan) -> tuple[SafetyIssue, ...]:
    checks: tuple[Callable[[Plan], SafetyIssue | None], ...] = (
        _protected_principal_change,
        _mesh_admin_lockout,
        _caller_lockout,
        _too_much_change,
    )
    return tuple(issue for check in checks if (issue := check(plan)) is not None)


def _protected_principal_change(plan: Plan) -> ProtectedPrincipalChange | None:
    protected = plan.safety.protected_principals

    def is_protected(principal_id: str, label: str | None) -> bool:
        return principal_id in protected or bool({label, plan.names.get(principal_id)} & protected)

    grants = _removed_or_changed(plan, is_protected)
    pruned = any(
        u.label is None and is_protected(u.principal_id, None) for u in plan.asm_updates
    ) or any(
        c.reason == "unlisted" and is_protected(c.assignment.principal_id, None)
        for c in plan.sso_changes
    )
    return ProtectedPrincipalChange(grants, pruned=pruned) if grants else None


def _mesh_admin_lockout(plan: Plan) -> MeshAdminLockout | None:
    orphaned = {m.mesh_id for m in plan.mesh_admins if m.before and not m.after}
    if not orphaned:
        return None
    grants = [
        plan.describe_mesh_change(update, change)
        for update in plan.asm_updates
        for change in update.removes_or_changes
        if change.mesh_id in orphaned and change.before == ADMIN_ROLE
    ]
    return MeshAdminLockout([plan.describe(m) for m in sorted(orphaned)], grants)


def _caller_lockout(plan: Plan) -> CallerLockout | None:
    locked_out = [
        caller
        for caller in sorted(plan.caller_principal_ids)
        if _removed_or_changed(plan, partial(_is_principal, caller))
    ]
    if not locked_out:
        return None
    grants = _removed_or_changed(plan, lambda principal_id, _: principal_id in locked_out)
    labels = {u.principal_id: u.label for u in plan.asm_updates}
    who = " and ".join(plan.describe(caller, labels.get(caller)) for caller in locked_out)
    return CallerLockout(who, grants)


def _is_principal(principal_id: str, candidate: str, _label: str | None) -> bool:
    return candidate == principal_id


def _too_much_change(plan: Plan) -> TooMuchChange | None:
    existing = plan.existing_managed_grants
    if existing == 0 or existing < plan.safety.min_existing_for_threshold:
        return None
    grants = _removed_or_changed(plan, lambda *_: True) + [
        f"access configuration {plan.describe(c.configuration_id, c.before.name)}"
        for c in plan.access_configuration_changes
        if isinstance(c, AccessConfigurationDelete)
    ]
    if 100 * len(grants) / existing <= plan.safety.max_delete_percent:
        return None
    return TooMuchChange(grants, existing, plan.safety.max_delete_percent)


def _removed_or_changed(plan: Plan, of_principal: Callable[[str, str | None], bool]) -> list[str]:
    """Descriptions of the existing grants (ASM and CloudSSO) the plan takes away or alters from
    the principals `of_principal(principal_id, label)` selects."""
    asm = [
        plan.describe_mesh_change(update, change)
        for update in plan.asm_updates
        if of_principal(update.principal_id, update.label)
        for change in update.removes_or_changes
    ]
    cloudsso = [
        plan.describe_assignment(change.assignment)
        for change in plan.sso_changes
        if not change.gives_access and of_principal(change.assignment.principal_id, None)
    ]
    return asm + cloudsso


def more_than_shown(grants: Sequence[str]) -> str | None:
    """`and N more` when a listing of these grants is cut short."""
    hidden = len(grants) - MAX_GRANTS_IN_MESSAGE
    return f"and {hidden} more" if hidden > 0 else None
