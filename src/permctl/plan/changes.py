"""The pieces a plan is made of: per-mesh role changes, per-principal updates, CloudSSO
assignment changes, unmanaged grants and the live snapshot a plan was computed from.

A Service Mesh change is shown per mesh but executed per principal, because
GrantUserPermissions replaces a principal's whole list: `PrincipalUpdate.after` is that list.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from permctl.model import Assignment, MeshRole, PrincipalKind

ChangeReason = Literal["desired", "expired", "unlisted"]
MeshAction = Literal["add", "remove", "change"]
AssignmentAction = Literal["create", "delete"]


@dataclass(frozen=True, order=True)
class MeshRoleChange:
    """One role on one mesh gained (before None), lost (after None) or swapped."""

    mesh_id: str
    before: str | None
    after: str | None
    reason: ChangeReason = "desired"

    @property
    def action(self) -> MeshAction:
        if self.before is None:
            return "add"
        if self.after is None:
            return "remove"
        return "change"


@dataclass(frozen=True)
class PrincipalUpdate:
    """The full new permission list of one principal, and the per-mesh changes behind it.

    `label` is the name the file gives the principal; None for a principal the file does not list.
    """

    principal_id: str
    kind: PrincipalKind
    label: str | None
    before: tuple[MeshRole, ...]
    after: tuple[MeshRole, ...]
    changes: tuple[MeshRoleChange, ...]

    @property
    def removes_or_changes(self) -> tuple[MeshRoleChange, ...]:
        return tuple(c for c in self.changes if c.action != "add")


@dataclass(frozen=True)
class AssignmentChange:
    action: AssignmentAction
    assignment: Assignment
    reason: ChangeReason = "desired"


@dataclass(frozen=True, order=True)
class UnmanagedGrant:
    """A role an unlisted principal holds on a managed mesh, left alone because pruning is off."""

    principal_id: str
    kind: PrincipalKind
    grant: MeshRole


@dataclass(frozen=True)
class Unmanaged:
    """Grants inside the managed scope that the file does not declare and the plan leaves alone."""

    asm: tuple[UnmanagedGrant, ...] = ()
    cloudsso: tuple[Assignment, ...] = ()

    def __len__(self) -> int:
        return len(self.asm) + len(self.cloudsso)


@dataclass(frozen=True)
class PrincipalSnapshot:
    principal_id: str
    kind: PrincipalKind
    permissions: tuple[MeshRole, ...]


@dataclass(frozen=True)
class AccountSnapshot:
    account_id: str
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class Snapshot:
    """The live state a plan was computed from, for every principal and account it touches.

    Apply reads the same targets again and refuses to run when the fingerprint differs.
    """

    asm: tuple[PrincipalSnapshot, ...] = ()
    cloudsso: tuple[AccountSnapshot, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Sorted throughout: the fingerprint must not depend on the order things were read in."""
        return {
            "asm": [
                {
                    "principal_id": p.principal_id,
                    "kind": p.kind.value,
                    "permissions": [asdict(g) for g in sorted(p.permissions)],
                }
                for p in sorted(self.asm, key=lambda p: p.principal_id)
            ],
            "cloudsso": [
                {
                    "account_id": a.account_id,
                    "assignments": [asdict(x) for x in sorted(a.assignments)],
                }
                for a in sorted(self.cloudsso, key=lambda a: a.account_id)
            ],
        }

    def fingerprint(self) -> str:
        return sha256_of(self.to_json())


def canonical_json(document: Any) -> bytes:
    """The one byte form of a JSON document that digests and signatures are computed over."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_of(document: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()
