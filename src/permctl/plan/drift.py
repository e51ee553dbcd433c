"""Drift: the differences between the file and live state, classified for a report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, get_args

from permctl.model import Assignment, Service
from permctl.plan.access_configurations import (
    AccessConfigurationChange,
    AccessConfigurationCreate,
    AccessConfigurationDelete,
    compare,
    diff_lines,
)
from permctl.plan.changes import (
    AssignmentCreate,
    AssignmentDelete,
    CloudSsoChange,
    MeshRoleChange,
    PrincipalUpdate,
    sha256_of,
    unhandled,
)
from permctl.plan.core import Plan

DriftKind = Literal[
    "live_not_in_file",
    "in_file_missing_live",
    "role_mismatch",
    "expired_still_live",
    "access_configuration_differs",
    "reprovision_required",
]
DRIFT_KINDS: tuple[DriftKind, ...] = get_args(DriftKind)
# The principal_type of an item about an access configuration itself (its principal_id is
# the access configuration's id).
ACCESS_CONFIGURATION = "AccessConfiguration"
# The kinds each service can have: access configurations are CloudSSO's alone.
DRIFT_KINDS_OF: dict[Service, tuple[DriftKind, ...]] = {
    "asm": DRIFT_KINDS[:4],
    "cloudsso": DRIFT_KINDS,
}


@dataclass(frozen=True, order=True)
class DriftItem:
    """One difference. `live` is what is held live and `in_file` what the file wants (on a mesh
    a role, on an account an access configuration id); None where that side has nothing, as
    for an expired grant, which the file no longer wants."""

    service: Service
    kind: DriftKind
    principal_type: str  # ram_user or ram_role on a mesh, User or Group on an account
    principal_id: str
    target_id: str  # the mesh or the account
    live: str | None
    in_file: str | None
    # An access configuration that differs: what changes, and what of it widens (with reach).
    details: tuple[str, ...] = ()
    widening: tuple[str, ...] = ()

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
    for change in plan.access_configuration_changes:
        items += _configuration_items(change)
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


def _configuration_items(change: AccessConfigurationChange) -> list[DriftItem]:
    """A managed access configuration whose attributes or policies differ from the file (live
    and in_file are digests of each side, so the key changes when either does; the changes
    and widening read from the file to live), and each account where it is changed but not
    re-provisioned."""
    if isinstance(change, AccessConfigurationDelete):
        return []
    if isinstance(change, AccessConfigurationCreate):
        return [
            DriftItem(
                "cloudsso", "in_file_missing_live", ACCESS_CONFIGURATION,
                change.configuration_id, "", None, change.after.name,
            )
        ]  # fmt: skip
    items = [
        DriftItem(
            "cloudsso", "reprovision_required", ACCESS_CONFIGURATION, change.configuration_id,
            account_id, "ReprovisionRequired", "Provisioned",
        )
        for account_id in change.stale_account_ids
    ]  # fmt: skip
    if change.diff.has_changes:
        # Seen from the file: what the live one grants beyond it is what widened.
        drifted = compare(change.after, change.before)
        items.append(
            DriftItem(
                "cloudsso", "access_configuration_differs", ACCESS_CONFIGURATION,
                change.configuration_id, "", sha256_of(asdict(change.before))[7:19],
                sha256_of(asdict(change.after))[7:19],
                tuple(f"{line.symbol} {line.text}" for line in diff_lines(drifted)),
                tuple(f"{w} ({change.reach})" for w in drifted.widening),
            )
        )  # fmt: skip
    return items
