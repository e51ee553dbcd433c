"""Service Mesh RBAC through the real servicemesh SDK client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_servicemesh20200111 import models as asm
from emulator_support import (
    ALICE,
    AUDITOR_ROLE,
    BOB,
    CAROL,
    CI_ROLE,
    PROD,
    SANDBOX,
    STAGING,
    Clients,
    SignedHttp,
    api_error,
    described_permissions,
)

from permctl.emulator import Emulator, GrantWrite, MeshGrant

VERSION = "2020-01-11"


def permission(mesh: str, role: str, is_ram_role: bool = False) -> dict[str, Any]:
    return {
        "IsCustom": True,
        "RoleName": role,
        "Cluster": mesh,
        "RoleType": "custom",
        "IsRamRole": is_ram_role,
    }


def grant(sdk: Clients, principal: str | list[str], *permissions: dict[str, Any]) -> str:
    request = asm.GrantUserPermissionsRequest(permissions=json.dumps(list(permissions)))
    if isinstance(principal, list):
        request.sub_account_user_ids = principal
    else:
        request.sub_account_user_id = principal
    return str(sdk.servicemesh.grant_user_permissions(request).body.request_id)


def held(sdk: Clients, principal: str) -> set[tuple[str, str]]:
    entries = described_permissions(sdk.servicemesh, principal)
    return {(p["ResourceId"], p["RoleName"]) for p in entries}


def test_native_shapes_fill_every_field_of_the_sdk_model(emu: Emulator, sdk: Clients) -> None:
    emu.set_knobs(native_shapes=True)
    request = asm.DescribeUserPermissionsRequest(sub_account_user_id=ALICE)
    body = sdk.servicemesh.describe_user_permissions(request).body.to_map()
    assert body["Permissions"] == [
        {
            "ParentId": 0,
            "IsRamRole": False,
            "ResourceType": "cluster",
            "RoleType": "custom",
            "RoleName": "istio-admin",
            "ResourceId": mesh,
        }
        for mesh in (PROD, STAGING)
    ]


def test_a_role_is_described_as_a_ram_role(shared_sdk: Clients) -> None:
    permissions = described_permissions(shared_sdk.servicemesh, CI_ROLE)
    assert [(p["IsRamRole"], p["ResourceId"], p["RoleName"]) for p in permissions] == [
        ("true", PROD, "istio-ops")
    ]


def test_a_principal_without_grants_has_an_empty_list(shared_sdk: Clients) -> None:
    assert held(shared_sdk, CAROL) == set()
    assert held(shared_sdk, "999999999999999999") == set()


def test_users_and_roles_holding_any_permission_are_listed_by_kind(shared_sdk: Clients) -> None:
    def uids(user_type: str) -> list[str]:
        request = asm.DescribeUsersWithPermissionsRequest(user_type=user_type)
        return list(shared_sdk.servicemesh.describe_users_with_permissions(request).body.uids)

    assert uids("SubUser") == sorted([ALICE, BOB])
    assert uids("RamRole") == sorted([CI_ROLE, AUDITOR_ROLE])
    error = api_error(lambda: uids("Everyone"))
    assert (error.code, error.status_code) == ("InvalidParameter.UserType", 400)


def test_service_meshes_are_listed_with_their_ids_and_names(shared_sdk: Clients) -> None:
    request = asm.DescribeServiceMeshesRequest()
    meshes = shared_sdk.servicemesh.describe_service_meshes(request).body.service_meshes
    info = {(m.service_mesh_info.service_mesh_id, m.service_mesh_info.name) for m in meshes}
    assert info == {(PROD, "prod-mesh"), (STAGING, "staging-mesh"), (SANDBOX, "sandbox")}


def test_a_grant_replaces_the_whole_list_and_the_write_log_shows_what_was_lost(
    emu: Emulator, sdk: Clients
) -> None:
    request_id = grant(sdk, BOB, permission(PROD, "istio-readonly"))
    assert held(sdk, BOB) == {(PROD, "istio-readonly")}
    (write,) = emu.writes
    assert isinstance(write, GrantWrite)
    assert (write.principal_id, write.request_id, write.is_ram_role) == (BOB, request_id, False)
    assert write.before == (MeshGrant(STAGING, "istio-ops"), MeshGrant(SANDBOX, "istio-readonly"))
    assert write.after == (MeshGrant(PROD, "istio-readonly"),)
    assert write.lost == {MeshGrant(STAGING, "istio-ops"), MeshGrant(SANDBOX, "istio-readonly")}


def test_an_empty_list_removes_every_grant_on_every_mesh(emu: Emulator, sdk: Clients) -> None:
    grant(sdk, BOB)
    assert held(sdk, BOB) == set()
    request = asm.DescribeUsersWithPermissionsRequest(user_type="SubUser")
    assert sdk.servicemesh.describe_users_with_permissions(request).body.uids == [ALICE]
    bob = next(u for u in emu.dump()["ram"]["users"] if u["id"] == BOB)
    assert bob["grants"] == []


def test_one_call_grants_the_same_list_to_several_principals(emu: Emulator, sdk: Clients) -> None:
    grant(sdk, [ALICE, BOB, CAROL], permission(SANDBOX, "istio-ops"))
    for principal in (ALICE, BOB, CAROL):
        assert held(sdk, principal) == {(SANDBOX, "istio-ops")}
    assert json.loads(emu.calls[0].params["SubAccountUserIds"]) == [ALICE, BOB, CAROL]
    assert [w.principal_id for w in emu.writes if isinstance(w, GrantWrite)] == [ALICE, BOB, CAROL]


def test_a_role_is_granted_with_is_ram_role_true(sdk: Clients) -> None:
    grant(sdk, CI_ROLE, permission(STAGING, "istio-admin", is_ram_role=True))
    assert held(sdk, CI_ROLE) == {(STAGING, "istio-admin")}


@pytest.mark.parametrize(
    ("principals", "permissions", "code", "status"),
    [
        ([ALICE], [permission("c0ffee0000000000000000000000dead", "istio-admin")],
         "ServiceMesh.NotFound", 404),
        ([ALICE], [permission(PROD, "istio-superuser")], "InvalidParameter.RoleName", 400),
        ([ALICE, "278525736099999999"], [permission(PROD, "istio-ops")],
         "EntityNotExist.User", 404),
        ([ALICE], [permission(PROD, "istio-ops", is_ram_role=True)],
         "InvalidParameter.IsRamRole", 400),
        ([ALICE, CI_ROLE], [permission(PROD, "istio-ops")], "InvalidParameter.IsRamRole", 400),
        ([ALICE], [permission(PROD, "istio-ops"), permission(SANDBOX, "nope")],
         "InvalidParameter.RoleName", 400),
    ],
)  # fmt: skip
def test_an_invalid_grant_is_refused_before_anything_is_written(
    emu: Emulator,
    sdk: Clients,
    principals: list[str],
    permissions: list[dict[str, Any]],
    code: str,
    status: int,
) -> None:
    before = emu.dump()
    error = api_error(lambda: grant(sdk, principals, *permissions))
    assert (error.code, error.status_code) == (code, status)
    assert error.data["RequestId"] == emu.calls[-1].request_id
    assert emu.dump() == before
    assert emu.writes == ()


def test_a_grant_without_permissions_or_principal_is_refused(sdk: Clients) -> None:
    no_list = asm.GrantUserPermissionsRequest(sub_account_user_id=ALICE)
    no_principal = asm.GrantUserPermissionsRequest(permissions="[]")
    for request in (no_list, no_principal):
        error = api_error(lambda r=request: sdk.servicemesh.grant_user_permissions(r))
        assert (error.code, error.status_code) == ("MissingParameter", 400)


def test_answers_take_the_documented_shapes_by_default(emu: Emulator, sdk: Clients) -> None:
    wire = SignedHttp(emu)
    single = wire.call("DescribeUserPermissions", VERSION, {"SubAccountUserId": CI_ROLE}).body
    several = wire.call("DescribeUserPermissions", VERSION, {"SubAccountUserId": ALICE}).body
    # The SDK's typed model iterates Permissions, so the object form breaks it (the SDK
    # swallows the error and leaves no body): the reason permctl reads the raw body.
    request = asm.DescribeUserPermissionsRequest(sub_account_user_id=CI_ROLE)
    assert sdk.servicemesh.describe_user_permissions(request).body is None
    assert single["Permissions"] == {
        "ParentId": "0",
        "IsRamRole": "true",
        "ResourceType": "cluster",
        "RoleType": "custom",
        "RoleName": "istio-ops",
        "ResourceId": PROD,
    }
    assert [(p["IsRamRole"], p["ParentId"]) for p in several["Permissions"]] == [("false", "0")] * 2


def test_is_ram_role_can_answer_as_its_describe_page_reads_it(emu: Emulator) -> None:
    emu.set_knobs(is_ram_role_means_user=True)
    wire = SignedHttp(emu)
    role = wire.call("DescribeUserPermissions", VERSION, {"SubAccountUserId": CI_ROLE}).body
    user = wire.call("DescribeUserPermissions", VERSION, {"SubAccountUserId": ALICE}).body
    assert role["Permissions"]["IsRamRole"] == "false"
    assert {p["IsRamRole"] for p in user["Permissions"]} == {"true"}


def test_quirky_string_booleans_are_accepted_in_a_grant(sdk: Clients) -> None:
    item = {"IsCustom": "true", "RoleName": "istio-ops", "Cluster": PROD, "IsRamRole": "false"}
    grant(sdk, CAROL, item)
    assert held(sdk, CAROL) == {(PROD, "istio-ops")}
