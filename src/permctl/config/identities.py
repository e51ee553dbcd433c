"""Which identity each section of the file acts as: its own `account:` role, or the caller.

Service Mesh is split into mesh accounts: the managed meshes reached as one identity. A
permission list belongs to a RAM user or role of one account and DescribeUserPermissions and
GrantUserPermissions act within the caller's account, so principals are resolved, read and
granted per mesh account, each through its own identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from permctl.config import Config
from permctl.config.schema import AccountAccess, AsmSection, PrincipalSpec
from permctl.errors import ConfigError, ConfigProblem
from permctl.roles import (
    ASM,
    AccountT,
    MeshAccountSpec,
    RoleAccess,
    accounts_of_meshes,
    is_principal_id,
)


def role_access(account: AccountAccess | None) -> RoleAccess | None:
    if account is None:
        return None
    return RoleAccess(account.assume_role, account.external_id, account.session_name)


@dataclass(frozen=True)
class SectionRoles:
    """The role each section assumes (None: the caller's own credentials), and the Service
    Mesh accounts: the managed meshes grouped by the identity that reaches them."""

    sections: dict[str, RoleAccess | None]
    mesh_accounts: tuple[MeshAccountSpec, ...]


def section_roles(config: Config) -> SectionRoles:
    """Raises ConfigError for a principal given by id with roles in several mesh accounts."""
    sections: dict[str, RoleAccess | None] = {}
    mesh_accounts: tuple[MeshAccountSpec, ...] = ()
    if config.asm:
        mesh_accounts = _mesh_accounts(config.asm)
        sections[ASM] = mesh_accounts[0].role
        _check_ids_in_one_account(config.asm, mesh_accounts)
    if config.cloudsso:
        sections["cloudsso"] = role_access(config.cloudsso.account)
    return SectionRoles(sections, mesh_accounts)


def _mesh_accounts(section: AsmSection) -> tuple[MeshAccountSpec, ...]:
    """In the order the file first names each identity; a file without meshes has one, empty."""
    section_role = role_access(section.account)
    by_role: dict[RoleAccess | None, list[tuple[str, str]]] = {}
    for alias, spec in section.meshes.items():
        by_role.setdefault(role_access(spec.account) or section_role, []).append((alias, spec.id))
    if len(by_role) <= 1:
        role = next(iter(by_role), section_role)
        meshes = by_role.get(role, [])
        return (
            MeshAccountSpec(ASM, tuple(m[0] for m in meshes), tuple(m[1] for m in meshes), role),
        )
    return tuple(
        MeshAccountSpec(
            f"{ASM}[{','.join(sorted(alias for alias, _ in meshes))}]",
            tuple(alias for alias, _ in meshes),
            tuple(mesh_id for _, mesh_id in meshes),
            role,
        )
        for role, meshes in by_role.items()
    )


def accounts_of_principal(
    section: AsmSection, spec: PrincipalSpec, mesh_accounts: Sequence[AccountT]
) -> tuple[AccountT, ...]:
    """The mesh accounts a principal has roles in (see `accounts_of_meshes`): as the file
    groups them (MeshAccountSpec), or as connected (the providers' MeshAccount)."""
    roles = section.effective_roles(spec)
    return accounts_of_meshes(mesh_accounts, {section.meshes[alias].id for alias in roles})


def _check_ids_in_one_account(
    section: AsmSection, mesh_accounts: tuple[MeshAccountSpec, ...]
) -> None:
    """An id names a RAM user or role of one account: roles in several accounts cannot all be
    its own. A name is looked up in each account it has roles in instead."""
    if len(mesh_accounts) <= 1:
        return
    problems: list[ConfigProblem] = []
    for spec in section.principals:
        if not is_principal_id(spec.ref):
            continue
        aliases = section.effective_roles(spec).keys()
        spread = accounts_of_principal(section, spec, mesh_accounts)
        if len(spread) > 1:
            meshes = "; ".join(
                f"{', '.join(sorted(aliases & set(a.aliases)) or a.aliases)} reached as "
                f"{a.identity}"
                for a in spread
            )
            held = "has roles on" if aliases else "holds no role, so it concerns"
            message = (
                f"{spec.ref} is the id of a principal of one account, but it {held} the "
                f"meshes of {len(spread)} accounts ({meshes}); give it by name to have it "
                "looked up in each account, or name only meshes of its own account"
            )
            problems.append(spec.problem(message, spec.kind.value))
    if problems:
        raise ConfigError(problems)
