"""Which identity each section of the file acts as: its own `account:` role, or the caller."""

from __future__ import annotations

from permctl.config import Config
from permctl.config.schema import AccountAccess, MeshSpec
from permctl.errors import ConfigError, ConfigProblem
from permctl.providers import RoleAccess
from permctl.providers.connection import CALLER


def role_access(account: AccountAccess | None) -> RoleAccess | None:
    if account is None:
        return None
    return RoleAccess(account.assume_role, account.external_id, account.session_name)


def section_roles(config: Config) -> dict[str, RoleAccess | None]:
    """Section -> the role it assumes. A mesh may name its own `account`, but a RAM principal
    and its permission list belong to one account, so every managed mesh must be reached as
    the same identity; meshes of different accounts go in separate runs."""
    roles: dict[str, RoleAccess | None] = {}
    if config.asm:
        roles["asm"] = _mesh_role(config)
    if config.cloudsso:
        roles["cloudsso"] = role_access(config.cloudsso.account)
    return roles


def _mesh_role(config: Config) -> RoleAccess | None:
    assert config.asm is not None
    section_role = role_access(config.asm.account)
    meshes = config.asm.meshes
    roles = {alias: role_access(spec.account) or section_role for alias, spec in meshes.items()}
    distinct = set(roles.values())
    if len(distinct) <= 1:
        return next(iter(distinct), section_role)
    first = next(iter(roles.values()))
    problems = [
        _other_account(meshes[alias], alias, role, first)
        for alias, role in roles.items()
        if role != first
    ]
    raise ConfigError(problems)


def _other_account(
    spec: MeshSpec, alias: str, role: RoleAccess | None, first: RoleAccess | None
) -> ConfigProblem:
    reached = role.describe() if role else CALLER
    expected = first.describe() if first else CALLER
    message = (
        f"mesh {alias!r} is reached as {reached}, the other meshes as {expected}; a Service Mesh "
        "permission list belongs to one account, so manage the meshes of each account in a "
        "separate run (one file per account)"
    )
    field = "account" if spec.account else "id"
    return spec.problem(message, field)
