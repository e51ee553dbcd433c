"""The pieces a plan is made of: its change kinds, unmanaged grants and the live snapshot a
plan was computed from.

Each kind of change is its own type. Whatever consumes a plan (renderers, the plan document,
safety, drift, the executor) dispatches on the type with `match`, ending in `assert_never`, so
mypy names every place a new kind must be handled. `Change` is the union of every kind.

A Service Mesh change is shown per mesh but executed per principal, because
GrantUserPermissions replaces a principal's whole list: `PrincipalUpdate.after` is that list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from itertools import zip_longest
from typing import Any, ClassVar, Literal, NoReturn

from permctl.model import AccessConfiguration, Assignment, MeshRole, PrincipalKind
from permctl.policydocument import parse

ChangeReason = Literal["desired", "expired", "unlisted"]
MeshAction = Literal["add", "remove", "change"]
AssignmentAction = Literal["create", "delete"]


@dataclass(frozen=True, order=True)
class MeshRoleChange:
    """One role on one mesh gained (before None), lost (after None) or swapped: the per-mesh
    view of a `PrincipalUpdate`, derived from its lists by `mesh_role_changes`."""

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
    """Service Mesh change kind: the full new permission list of one principal, and the
    per-mesh changes behind it.

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


def principal_update(
    principal_id: str,
    kind: PrincipalKind,
    label: str | None,
    before: Iterable[MeshRole],
    after: Iterable[MeshRole],
    managed: Collection[str],
    reason: ChangeReason,
) -> PrincipalUpdate | None:
    """The update taking a principal from `before` to `after`; None when nothing changes. The
    engine makes every update through here, and a saved plan's updates are checked against it."""
    held, wanted = tuple(sorted(set(before))), tuple(sorted(set(after)))
    changes = mesh_role_changes(held, wanted, managed, reason)
    if not changes:
        return None
    return PrincipalUpdate(principal_id, kind, label, held, wanted, changes)


def mesh_role_changes(
    before: Iterable[MeshRole],
    after: Iterable[MeshRole],
    managed: Collection[str],
    reason: ChangeReason,
) -> tuple[MeshRoleChange, ...]:
    """Per managed mesh, the entries lost paired with the entries gained (shown as a role
    swapped rather than a removal plus an addition), the rest as plain removals or additions."""
    held, wanted = frozenset(before), frozenset(after)
    changes: list[MeshRoleChange] = []
    for mesh_id in sorted(managed):
        lost = sorted(g for g in held - wanted if g.mesh_id == mesh_id)
        gained = sorted(g for g in wanted - held if g.mesh_id == mesh_id)
        changes += [
            MeshRoleChange(mesh_id, was.role if was else None, now.role if now else None, reason)
            for was, now in zip_longest(lost, gained)
        ]
    return tuple(changes)


@dataclass(frozen=True)
class AssignmentChange:
    """Base of the CloudSSO assignment change kinds; `action` is the name the plan document and
    the reports give the kind; `gives_access` whether it gives its access or takes it away."""

    action: ClassVar[AssignmentAction]
    gives_access: ClassVar[bool]
    assignment: Assignment
    reason: ChangeReason = "desired"


@dataclass(frozen=True)
class AssignmentCreate(AssignmentChange):
    """CloudSSO change kind: CreateAccessAssignment."""

    action: ClassVar[AssignmentAction] = "create"
    gives_access: ClassVar[bool] = True


@dataclass(frozen=True)
class AssignmentDelete(AssignmentChange):
    """CloudSSO change kind: DeleteAccessAssignment, with the plan's deprovision strategy."""

    action: ClassVar[AssignmentAction] = "delete"
    gives_access: ClassVar[bool] = False


# The change kinds of each service, and of a whole plan. A new kind joins one of these unions.
AsmChange = PrincipalUpdate
CloudSsoChange = AssignmentCreate | AssignmentDelete
Change = AsmChange | CloudSsoChange


def unhandled(change: NoReturn) -> NoReturn:
    """Ends a `match` over change kinds: mypy rejects the call while a kind is left unmatched."""
    raise AssertionError(f"no case for the change kind {type(change).__name__}")


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


def granted_json(granted: AccessConfiguration) -> dict[str, Any]:
    """An access configuration as the plan document writes it: its policy as a document."""
    policy = granted.inline_policy
    return {**asdict(granted), "inline_policy": parse(policy) if policy is not None else None}


@dataclass(frozen=True)
class ConfigurationSnapshot:
    configuration_id: str
    granted: AccessConfiguration | None


@dataclass(frozen=True)
class Snapshot:
    """The live state a plan was computed from, for every principal and account it touches.

    Apply reads the same targets again and refuses to run when the fingerprint differs.
    """

    asm: tuple[PrincipalSnapshot, ...] = ()
    cloudsso: tuple[AccountSnapshot, ...] = ()
    # What each access configuration the plan updates or deletes granted (None: absent).
    access_configurations: tuple[ConfigurationSnapshot, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Sorted throughout: the fingerprint must not depend on the order things were read in.
        Access configurations appear only when the plan changes one, so the fingerprint of
        every other plan is as it always was."""
        configurations = {
            "access_configurations": [
                {
                    "access_configuration_id": c.configuration_id,
                    "granted": granted_json(c.granted) if c.granted else None,
                }
                for c in sorted(self.access_configurations, key=lambda c: c.configuration_id)
            ]
        }
        return (configurations if self.access_configurations else {}) | {
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
