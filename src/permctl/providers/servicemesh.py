"""Service Mesh RBAC: read a principal's whole permission list, find who holds any, grant.

DescribeUserPermissions is read from its raw body: its `IsRamRole` arrives as a boolean or as
"true"/"false", and `Permissions` as an array, a single object or not at all. The SDK's typed
response iterates whatever `Permissions` is, so a single object would crash it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from alibabacloud_servicemesh20200111 import models as asm_models
from alibabacloud_tea_openapi.models import OpenApiRequest, Params
from alibabacloud_tea_util.models import RuntimeOptions

from permctl.model import AsmPrincipalLive, MeshRole, PrincipalKind
from permctl.providers.connection import Connection
from permctl.providers.together import together

_USER_TYPES: Mapping[PrincipalKind, str] = {
    PrincipalKind.RAM_USER: "SubUser",
    PrincipalKind.RAM_ROLE: "RamRole",
}

# What the SDK's describe_user_permissions_with_options builds, so the raw call is the same call.
DESCRIBE_USER_PERMISSIONS = Params(
    action="DescribeUserPermissions",
    version="2020-01-11",
    protocol="HTTPS",
    pathname="/",
    method="POST",
    auth_type="AK",
    style="RPC",
    req_body_type="formData",
    body_type="json",
)


def wire_bool(value: Any) -> bool:
    """`true`, `"true"`, `"True"` and 1 are true; everything else is false."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def permission_entries(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`Permissions` as a list whether it came as an array, a single object or not at all."""
    entries = body.get("Permissions")
    if entries is None:
        return []
    if isinstance(entries, Mapping):
        # Some responses wrap the array the XML way: {"Permission": [...]}.
        inner = entries.get("Permission")
        return permission_entries({"Permissions": inner}) if inner is not None else [entries]
    return [entry for entry in entries if isinstance(entry, Mapping)]


def principal_from_body(
    principal_id: str, kind: PrincipalKind, body: Mapping[str, Any]
) -> AsmPrincipalLive:
    """Normalize one DescribeUserPermissions body for a principal known to be `kind`. The
    wire's IsRamRole is kept only to warn when it disagrees: the API's own pages disagree on
    what `true` means, so it never decides the kind."""
    entries = permission_entries(body)
    claims = [entry["IsRamRole"] for entry in entries if entry.get("IsRamRole") is not None]
    wire_kind = None
    if claims:
        wire_kind = PrincipalKind.RAM_ROLE if wire_bool(claims[0]) else PrincipalKind.RAM_USER
    permissions = frozenset(
        MeshRole(
            mesh_id=str(entry["ResourceId"]),
            role=str(entry["RoleName"]),
            role_type=str(entry.get("RoleType") or "custom"),
        )
        for entry in entries
        if entry.get("ResourceId") and entry.get("RoleName")
    )
    return AsmPrincipalLive(principal_id, kind, permissions, wire_kind)


def kind_disagreement(who: str, live: AsmPrincipalLive, listed: bool) -> str | None:
    """The warning for a principal whose IsRamRole disagrees with the kind it is granted as;
    None when they agree or the wire said nothing."""
    if live.wire_kind in (None, live.kind):
        return None
    ours = (
        f"the file declares {live.kind.value}"
        if listed
        else f"DescribeUsersWithPermissions lists it under UserType {_USER_TYPES[live.kind]}"
    )
    claimed = str(live.wire_kind is PrincipalKind.RAM_ROLE).lower()
    return (
        f"{who}: {ours}, but DescribeUserPermissions says IsRamRole={claimed} (a "
        f"{'RAM role' if claimed == 'true' else 'RAM user'} as GrantUserPermissions reads it, "
        f"the opposite as DescribeUserPermissions' page does); granting it as {live.kind.value}"
    )


def grant_payload(kind: PrincipalKind, permissions: Iterable[MeshRole]) -> str:
    """The full list GrantUserPermissions replaces the principal's permissions with."""
    return json.dumps(
        [
            {
                "IsCustom": True,
                "Cluster": grant.mesh_id,
                "RoleName": grant.role,
                "RoleType": grant.role_type,
                "IsRamRole": kind is PrincipalKind.RAM_ROLE,
            }
            for grant in sorted(set(permissions))
        ],
        separators=(",", ":"),
    )


class ServiceMeshProvider:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection.service("servicemesh")
        self._client = self._connection.client

    def list_meshes(self) -> dict[str, str]:
        """Mesh id -> name for every mesh of the account in the configured region."""
        response = self._connection.call(
            "DescribeServiceMeshes",
            lambda: self._client.describe_service_meshes(asm_models.DescribeServiceMeshesRequest()),
        )
        return {
            mesh.service_mesh_info.service_mesh_id: mesh.service_mesh_info.name
            for mesh in response.body.service_meshes or []
            if mesh.service_mesh_info and mesh.service_mesh_info.service_mesh_id
        }

    def read_principal(self, principal_id: str, kind: PrincipalKind) -> AsmPrincipalLive:
        request = OpenApiRequest(body={"SubAccountUserId": principal_id})
        response = self._connection.call(
            "DescribeUserPermissions",
            lambda: self._client.call_api(DESCRIBE_USER_PERMISSIONS, request, RuntimeOptions()),
        )
        return principal_from_body(principal_id, kind, response.get("body") or {})

    def read_principals(
        self, refs: Iterable[tuple[str, PrincipalKind]]
    ) -> dict[str, AsmPrincipalLive]:
        """One DescribeUserPermissions per principal (there is no bulk read), in parallel."""
        unique = dict(refs)
        read = self._connection.map(
            lambda ref: self.read_principal(*ref),
            unique.items(),
            label="Reading Service Mesh permissions",
        )
        return {live.principal_id: live for live in read}

    def list_principal_ids(self) -> tuple[frozenset[str], frozenset[str]]:
        """(RAM user ids, RAM role ids) that hold any Service Mesh permission."""
        users, roles = together(
            *(partial(self._principal_ids, _USER_TYPES[kind]) for kind in PrincipalKind)
        )
        return users, roles

    def _principal_ids(self, user_type: str) -> frozenset[str]:
        request = asm_models.DescribeUsersWithPermissionsRequest(user_type=user_type)
        response = self._connection.call(
            "DescribeUsersWithPermissions",
            lambda: self._client.describe_users_with_permissions(request),
        )
        return frozenset(str(uid) for uid in response.body.uids or [])

    def grant(
        self, principal_ids: Sequence[str], kind: PrincipalKind, permissions: Iterable[MeshRole]
    ) -> str:
        """Replace the whole permission list of each principal with `permissions`; returns the
        RequestId. The list must be complete: whatever it leaves out is revoked."""
        request = asm_models.GrantUserPermissionsRequest(
            permissions=grant_payload(kind, permissions)
        )
        if len(principal_ids) == 1:
            request.sub_account_user_id = principal_ids[0]
        else:
            request.sub_account_user_ids = list(principal_ids)
        response = self._connection.call(
            "GrantUserPermissions", lambda: self._client.grant_user_permissions(request)
        )
        return str(response.body.request_id)
