"""Who permctl acts as: the caller's own credentials or a RAM role, and which managed meshes
each identity reaches. Plain data and rules, no SDK: the offline commands (validate, policy)
work them out without importing a cloud client."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

CALLER = "the caller's own credentials"
ROLE_ARN_PATTERN = r"^acs:ram::[0-9]{16}:role/[^\s/]+$"
ASM = "asm"


@dataclass(frozen=True)
class RoleAccess:
    """A RAM role to assume, in this or another account, for the calls of one section."""

    role_arn: str
    external_id: str | None = field(default=None, repr=False)
    session_name: str = "permctl"

    @property
    def account_id(self) -> str:
        """`acs:ram::<account id>:role/<name>`"""
        return self.role_arn.split(":")[3]

    def describe(self) -> str:
        return f"{self.role_arn} (session {self.session_name})"


@dataclass(frozen=True)
class MeshAccountSpec:
    """Managed meshes reached as one identity. `label` names them in plans and audit logs:
    `asm` when every mesh is reached as the same identity, else `asm[alias,...]`."""

    label: str
    aliases: tuple[str, ...]
    mesh_ids: tuple[str, ...]
    role: RoleAccess | None

    @property
    def identity(self) -> str:
        return self.role.describe() if self.role else CALLER


class _OfMeshes(Protocol):
    @property
    def mesh_ids(self) -> Collection[str]: ...


AccountT = TypeVar("AccountT", bound=_OfMeshes)


def accounts_of_meshes(
    accounts: Sequence[AccountT], mesh_ids: Collection[str]
) -> tuple[AccountT, ...]:
    """The accounts holding any of these meshes: every one for no mesh at all (a principal
    listed with no role must hold nothing on any managed mesh), the only one when there is
    one."""
    if len(accounts) == 1 or not mesh_ids:
        return tuple(accounts)
    return tuple(a for a in accounts if not set(a.mesh_ids).isdisjoint(mesh_ids))


def is_principal_id(ref: str) -> bool:
    """RAM user and role ids are all digits; anything else is a name."""
    return ref.isdigit()
