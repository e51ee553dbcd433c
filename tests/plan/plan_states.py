"""Hand-built desired and live states for the plan tests.

Meshes prod, staging and dev are managed; c-other is not, so grants on it must always survive.
Accounts 1001 and 1002 are managed; 9009 is outside the CloudSSO scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from types import MappingProxyType

from permctl.model import (
    AsmPrincipalLive,
    Assignment,
    CloudSsoPrincipalType,
    DesiredAsm,
    DesiredAssignment,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    LiveState,
    Mesh,
    MeshRole,
    PrincipalKind,
    SafetySettings,
    SourceRef,
)

TODAY = date(2024, 6, 1)
YESTERDAY = date(2024, 5, 31)
PROD, STAGING, DEV, OTHER = "c-prod", "c-staging", "c-dev", "c-other"
MANAGED_MESHES = (Mesh("prod", PROD), Mesh("staging", STAGING), Mesh("dev", DEV))
ACC_A, ACC_B, ACC_OUTSIDE = "1001", "1002", "9009"
ADMIN, OPS, READONLY = "istio-admin", "istio-ops", "istio-readonly"
SOURCE = SourceRef("permissions.yaml", 1)


def principal(
    label: str,
    principal_id: str,
    roles: Mapping[str, str],
    *,
    kind: PrincipalKind = PrincipalKind.RAM_USER,
    expires: date | None = None,
) -> DesiredPrincipal:
    return DesiredPrincipal(
        label, principal_id, kind, MappingProxyType(dict(roles)), SOURCE, expires
    )


def held(
    principal_id: str,
    *grants: tuple[str, str],
    kind: PrincipalKind = PrincipalKind.RAM_USER,
) -> AsmPrincipalLive:
    return AsmPrincipalLive(
        principal_id, kind, frozenset(MeshRole(mesh, role) for mesh, role in grants)
    )


def assignment(
    config: str, account: str, principal_id: str, principal_type: CloudSsoPrincipalType = "User"
) -> Assignment:
    return Assignment(config, account, principal_type, principal_id)


def cloudsso(
    *wanted: Assignment | DesiredAssignment,
    accounts: Iterable[str] = (ACC_A, ACC_B),
    prune: bool = False,
) -> DesiredCloudSso:
    assignments = tuple(
        w if isinstance(w, DesiredAssignment) else DesiredAssignment(w, SOURCE) for w in wanted
    )
    return DesiredCloudSso("d-dir", "accounts", frozenset(accounts), assignments, prune)


def desired(
    *principals: DesiredPrincipal,
    prune: bool = False,
    sso: DesiredCloudSso | None = None,
    safety: SafetySettings | None = None,
    names: Mapping[str, str] | None = None,
    asm: bool = True,
) -> DesiredState:
    return DesiredState(
        asm=DesiredAsm(MANAGED_MESHES, principals, prune) if asm else None,
        cloudsso=sso,
        # Thresholds off unless a test is about them, so small hand-built plans stay "safe".
        safety=safety or SafetySettings(min_existing_for_threshold=1_000_000),
        names=MappingProxyType(dict(names or {})),
    )


def live(
    *principals: AsmPrincipalLive,
    assignments: Iterable[Assignment] = (),
    caller: str | None = None,
    names: Mapping[str, str] | None = None,
) -> LiveState:
    return LiveState(
        asm=MappingProxyType({p.principal_id: p for p in principals}),
        assignments=frozenset(assignments),
        caller_principal_ids=frozenset([caller] if caller else []),
        names=MappingProxyType(dict(names or {})),
    )


def rich_example() -> tuple[DesiredState, LiveState]:
    """One of everything the renderers show: adds, a role change, an expiry, a full removal,
    grants kept on an unmanaged mesh, unmanaged grants, CloudSSO creates and deletes, and two
    safety issues (a protected principal and too much change)."""
    wanted = desired(
        principal("alice", "u1", {PROD: ADMIN, STAGING: OPS}),
        principal("bob", "r2", {DEV: OPS}, kind=PrincipalKind.RAM_ROLE, expires=YESTERDAY),
        principal("carol", "u3", {DEV: READONLY}),
        principal("dave", "u4", {}),
        sso=cloudsso(
            assignment("ac-admin", ACC_A, "sso-u1"),
            DesiredAssignment(assignment("ac-read", ACC_B, "sso-g1", "Group"), SOURCE, YESTERDAY),
        ),
        safety=SafetySettings(
            max_delete_percent=30,
            min_existing_for_threshold=1,
            protected_principals=frozenset({"dave"}),
        ),
        names={
            "sso-u1": "alice@example.com",
            "sso-g1": "ops",
            "ac-admin": "AdministratorAccess",
            "ac-read": "ReadOnlyAccess",
            ACC_A: "prod-account",
            ACC_B: "staging-account",
        },
    )
    current = live(
        held("u1", (STAGING, READONLY), (OTHER, ADMIN)),
        held("r2", (DEV, OPS), kind=PrincipalKind.RAM_ROLE),
        held("u4", (PROD, OPS)),
        held("u9", (PROD, OPS)),
        assignments=[
            assignment("ac-read", ACC_B, "sso-g1", "Group"),
            assignment("ac-read", ACC_A, "sso-u7"),
            assignment("ac-admin", ACC_OUTSIDE, "sso-u7"),
        ],
        names={"u9": "eve", "sso-u7": "mallory@example.com"},
    )
    return wanted, current
