"""The call log and the write log, as tests and benchmarks read them."""

from __future__ import annotations

import dataclasses
import json
import time
from itertools import pairwise

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_servicemesh20200111 import models as asm
from emulator_support import BOB, KEY_ID, PROD, SANDBOX, STAGING, Clients, api_error

from permctl.emulator import Emulator, GrantWrite, MeshGrant


def grant(sdk: Clients, principal: str, *meshes: str) -> None:
    permissions = [{"IsCustom": True, "RoleName": "istio-ops", "Cluster": m} for m in meshes]
    request = asm.GrantUserPermissionsRequest(
        sub_account_user_id=principal, permissions=json.dumps(permissions)
    )
    sdk.servicemesh.grant_user_permissions(request)


def test_every_call_is_recorded_once_with_what_it_sent_and_got(emu: Emulator, sdk: Clients) -> None:
    started = time.time()
    sdk.ram.get_user(ram.GetUserRequest(user_name="alice"))
    error = api_error(lambda: sdk.ram.get_role(ram.GetRoleRequest(role_name="nobody")))
    ok, failed = emu.calls
    assert (ok.sequence, ok.action, ok.version, ok.access_key_id) == (
        1,
        "GetUser",
        "2015-05-01",
        KEY_ID,
    )
    assert (ok.params, ok.status, ok.code) == ({"UserName": "alice"}, 200, None)
    assert (failed.sequence, failed.action, failed.status, failed.code) == (
        2,
        "GetRole",
        404,
        "EntityNotExist.Role",
    )
    assert failed.request_id == error.data["RequestId"]
    assert started <= ok.time <= failed.time <= time.time()


def test_records_cannot_be_changed(emu: Emulator, sdk: Clients) -> None:
    sdk.ram.get_user(ram.GetUserRequest(user_name="alice"))
    (call,) = emu.calls
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.status = 500  # type: ignore[misc]
    with pytest.raises(TypeError):
        call.params["UserName"] = "mallory"  # type: ignore[index]


def test_calls_are_counted_by_action_and_the_log_can_be_reset(emu: Emulator, sdk: Clients) -> None:
    for _ in range(3):
        sdk.ram.get_user(ram.GetUserRequest(user_name="alice"))
    grant(sdk, BOB, PROD)
    assert (emu.count("GetUser"), emu.count("GrantUserPermissions"), emu.count("GetRole")) == (
        3,
        1,
        0,
    )
    assert emu.counts() == {"GetUser": 3, "GrantUserPermissions": 1}
    emu.reset_log()
    assert (emu.calls, emu.writes, emu.count("GetUser")) == ((), (), 0)
    sdk.ram.get_user(ram.GetUserRequest(user_name="alice"))
    assert emu.calls[0].sequence == 5  # sequence numbers never repeat


def test_successive_writes_chain_before_to_after(emu: Emulator, sdk: Clients) -> None:
    grant(sdk, BOB, PROD)
    grant(sdk, BOB, PROD, STAGING)
    grant(sdk, BOB)
    writes = [w for w in emu.writes if isinstance(w, GrantWrite)]
    assert [w.after for w in writes] == [
        (MeshGrant(PROD, "istio-ops"),),
        (MeshGrant(PROD, "istio-ops"), MeshGrant(STAGING, "istio-ops")),
        (),
    ]
    assert all(later.before == earlier.after for earlier, later in pairwise(writes))
    assert MeshGrant(SANDBOX, "istio-readonly") in writes[0].lost
