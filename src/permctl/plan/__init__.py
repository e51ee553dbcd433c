"""The plan stage: what apply would do, as plain data, with its safety check and drift view."""

from permctl.plan.changes import (
    AccountSnapshot,
    AssignmentChange,
    MeshRoleChange,
    PrincipalSnapshot,
    PrincipalUpdate,
    Snapshot,
    Unmanaged,
    UnmanagedGrant,
)
from permctl.plan.core import MeshAdmins, Plan, Summary, describe
from permctl.plan.drift import (
    ACCESS_CONFIGURATION,
    DRIFT_KINDS,
    DRIFT_KINDS_OF,
    DRIFT_SERVICES,
    DriftItem,
    DriftKind,
    DriftService,
    drift_items,
)
from permctl.plan.engine import build_plan, take_snapshot
from permctl.plan.safety import (
    CallerLockout,
    Lockout,
    MeshAdminLockout,
    ProtectedPrincipalChange,
    SafetyIssue,
    TooMuchChange,
)

__all__ = [
    "ACCESS_CONFIGURATION",
    "DRIFT_KINDS",
    "DRIFT_KINDS_OF",
    "DRIFT_SERVICES",
    "AccountSnapshot",
    "AssignmentChange",
    "CallerLockout",
    "DriftItem",
    "DriftKind",
    "DriftService",
    "Lockout",
    "MeshAdminLockout",
    "MeshAdmins",
    "MeshRoleChange",
    "Plan",
    "PrincipalSnapshot",
    "PrincipalUpdate",
    "ProtectedPrincipalChange",
    "SafetyIssue",
    "Snapshot",
    "Summary",
    "TooMuchChange",
    "Unmanaged",
    "UnmanagedGrant",
    "build_plan",
    "describe",
    "drift_items",
    "take_snapshot",
]
