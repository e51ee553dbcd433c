"""Service Mesh 2020-01-11: RBAC permissions of RAM users and roles on meshes.

GrantUserPermissions replaces a principal's whole list, as the real API does; every item and
every principal is validated before anything is written.
"""

from __future__ import annotations

from typing import Any

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import ApiFault, invalid, missing, not_found
from permctl.emulator.journal import GrantWrite
from permctl.emulator.schema import ASM_ROLES, DEFAULT_TIME
from permctl.emulator.state import EmulatorState, MeshGrant

VERSION = "2020-01-11"
SERVICE = "servicemesh"
USER_TYPES = {"SubUser": False, "RamRole": True}  # UserType -> IsRamRole


def describe_user_permissions(ctx: Context) -> dict[str, Any]:
    principal_id = ctx.params.require("SubAccountUserId")
    knobs = ctx.knobs
    is_ram_role = ctx.state.is_role(principal_id) != knobs.is_ram_role_means_user
    entries = [
        _permission(grant, is_ram_role, knobs.native_shapes)
        for grant in ctx.state.grants.get(principal_id, ())
    ]
    # The documented example: one permission comes back as an object, not an array.
    single = not knobs.native_shapes and len(entries) == 1
    return {"Permissions": entries[0] if single else entries}


def _permission(grant: MeshGrant, is_ram_role: bool, typed: bool) -> dict[str, Any]:
    return {
        "ParentId": 0 if typed else "0",
        "IsRamRole": is_ram_role if typed else str(is_ram_role).lower(),
        "ResourceType": "cluster",
        "RoleType": "custom",
        "RoleName": grant.role,
        "ResourceId": grant.mesh,
    }


def describe_users_with_permissions(ctx: Context) -> dict[str, Any]:
    wants_roles = USER_TYPES[ctx.params.choice("UserType", USER_TYPES)]
    uids = sorted(
        principal_id
        for principal_id, grants in ctx.state.grants.items()
        if grants and ctx.state.is_role(principal_id) == wants_roles
    )
    return {"UIDs": uids}


def grant_user_permissions(ctx: Context) -> dict[str, Any]:
    state = ctx.state
    principal_ids = _principal_ids(ctx)
    items = ctx.params.json_list("Permissions")
    if items is None:
        raise missing("Permissions")
    if not items and ctx.knobs.refuse_empty_grants:
        raise invalid("Permissions", "Permissions must list at least one permission.")
    parsed = [_parse_permission(state, item) for item in items]
    for principal_id in principal_ids:
        _check_principal(state, principal_id, {is_role for _, is_role in parsed} - {None})
    after = tuple(dict.fromkeys(grant for grant, _ in parsed))
    for principal_id in principal_ids:
        before = state.grants[principal_id]
        state.grants[principal_id] = after
        ctx.writes.append(
            GrantWrite(
                ctx.sequence,
                ctx.request_id,
                principal_id,
                state.is_role(principal_id),
                before,
                after,
            )
        )
    return {}


def _principal_ids(ctx: Context) -> list[str]:
    ids = [ctx.params.get("SubAccountUserId")] + (ctx.params.json_list("SubAccountUserIds") or [])
    found = [str(i) for i in ids if i not in (None, "")]
    if not found:
        raise missing("SubAccountUserId")
    return list(dict.fromkeys(found))


def _check_principal(state: EmulatorState, principal_id: str, claimed: set[bool | None]) -> None:
    if principal_id not in state.principals:
        if True in claimed:
            raise not_found("EntityNotExist.Role", "RAM role", principal_id)
        raise not_found("EntityNotExist.User", "RAM user", principal_id)
    is_role = state.is_role(principal_id)
    if claimed - {is_role}:
        raise invalid(
            "IsRamRole",
            f"IsRamRole must be {str(is_role).lower()} for {principal_id}: it is a RAM "
            f"{'role' if is_role else 'user'}.",
        )


def _parse_permission(state: EmulatorState, item: Any) -> tuple[MeshGrant, bool | None]:
    """One item of Permissions -> (grant, IsRamRole if the item says)."""
    if not isinstance(item, dict):
        raise invalid("Permissions", "Each permission must be a JSON object.")
    mesh, role = item.get("Cluster"), item.get("RoleName")
    if not mesh:
        raise missing("Permissions.Cluster")
    if str(mesh) not in state.meshes:
        raise ApiFault("ServiceMesh.NotFound", f"The service mesh {mesh} does not exist.", 404)
    if role not in ASM_ROLES:
        raise invalid("RoleName", f"RoleName {role!r} is not one of {', '.join(ASM_ROLES)}.")
    if item.get("RoleType", "custom") != "custom":
        raise invalid("RoleType", "RoleType must be custom.")
    if _wire_bool(item, "IsCustom") is False:
        raise invalid("IsCustom", "IsCustom must be true.")
    return MeshGrant(str(mesh), str(role)), _wire_bool(item, "IsRamRole")


def _wire_bool(item: dict[str, Any], name: str) -> bool | None:
    """Booleans arrive as JSON booleans or as "true"/"false"; None when absent."""
    value = item.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid(name, f"{name} must be true or false.")


def describe_service_meshes(ctx: Context) -> dict[str, Any]:
    meshes = [
        {
            "ServiceMeshInfo": {
                "ServiceMeshId": mesh.id,
                "Name": mesh.name,
                "RegionId": mesh.region_id,
                "State": "running",
                "Profile": "Default",
                "Version": "v1.22.6.71-g7d5f1e6a-aliyun",
                "CreationTime": DEFAULT_TIME,
                "UpdateTime": DEFAULT_TIME,
                "ErrorMessage": "",
            },
            "Clusters": [],
            "OwnerId": ctx.state.account_id,
            "OwnerType": "Self",
            "Upgradable": False,
        }
        for mesh in ctx.state.meshes.values()
    ]
    return {"ServiceMeshes": meshes}


HANDLERS: dict[str, Handler] = {
    "DescribeUserPermissions": describe_user_permissions,
    "DescribeUsersWithPermissions": describe_users_with_permissions,
    "GrantUserPermissions": grant_user_permissions,
    "DescribeServiceMeshes": describe_service_meshes,
}
WRITES = frozenset({"GrantUserPermissions"})
