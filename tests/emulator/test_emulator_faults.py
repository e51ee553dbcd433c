"""Injected faults: what the SDK raises for each, that a refused write changes nothing, and that
a seed makes every run the same."""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_servicemesh20200111 import models as asm
from alibabacloud_tea_openapi.exceptions import (
    ClientException,
    ServerException,
    ThrottlingException,
)
from emulator_support import (
    ALICE,
    BOB,
    PROD,
    Clients,
    SignedHttp,
    api_error,
    clients,
    described_permissions,
    org_state,
)
from manual_clock import ManualClock

from permctl.emulator import DenyRule, Emulator, GrantWrite, Knobs
from permctl.emulator.faults import api_qps_cap

VERSION = "2020-01-11"


def describe(sdk: Clients, principal: str = ALICE) -> object:
    request = asm.DescribeUserPermissionsRequest(sub_account_user_id=principal)
    return sdk.servicemesh.describe_user_permissions(request)


def grant_prod_readonly(sdk: Clients, principal: str) -> object:
    permissions = [{"IsCustom": True, "RoleName": "istio-readonly", "Cluster": PROD}]
    request = asm.GrantUserPermissionsRequest(
        sub_account_user_id=principal, permissions=json.dumps(permissions)
    )
    return sdk.servicemesh.grant_user_permissions(request)


def outcomes(knobs: Knobs, calls: int) -> list[str | None]:
    with Emulator(org_state(), knobs=knobs) as emu:
        client = SignedHttp(emu)
        for _ in range(calls):
            client.call("DescribeUserPermissions", VERSION, {"SubAccountUserId": ALICE})
        return [call.code for call in emu.calls]


@pytest.mark.parametrize("status", [400, 429])
def test_throttling_is_a_client_error_without_a_retry_after(
    emu: Emulator, sdk: Clients, status: int
) -> None:
    emu.set_knobs(throttle_rate=1.0, throttle_status=status)
    error = api_error(lambda: describe(sdk))
    assert type(error) is ClientException
    assert (error.code, error.status_code) == ("Throttling.User", status)
    assert emu.count("DescribeUserPermissions") == 1  # the SDK did not retry


def test_throttling_with_a_retry_after_raises_the_sdk_throttling_exception(
    emu: Emulator, sdk: Clients
) -> None:
    emu.set_knobs(throttle_rate=1.0, retry_after_ms=250)
    error = api_error(lambda: describe(sdk))
    assert isinstance(error, ThrottlingException)
    assert (error.code, error.retry_after) == ("Throttling.User", 250)


def test_server_errors_raise_server_exceptions_of_both_kinds(emu: Emulator, sdk: Clients) -> None:
    emu.set_knobs(error_5xx_rate=1.0)
    errors = [api_error(lambda: describe(sdk)) for _ in range(12)]
    assert all(isinstance(e, ServerException) for e in errors)
    assert {(e.code, e.status_code) for e in errors} == {
        ("ServiceUnavailable", 503),
        ("InternalError", 500),
    }
    assert {e.data["RequestId"] for e in errors} == {c.request_id for c in emu.calls}


def test_a_refused_write_changes_nothing(emu: Emulator, sdk: Clients) -> None:
    before = emu.dump()
    refusals = [
        Knobs(throttle_rate=1.0),
        Knobs(error_5xx_rate=1.0),
        Knobs(deny=(DenyRule("GrantUserPermissions"),)),
    ]
    for knobs in refusals:
        emu.set_knobs(knobs)
        api_error(lambda: grant_prod_readonly(sdk, BOB))
    assert emu.dump() == before
    assert emu.writes == ()


def test_a_write_can_fail_after_it_was_applied(emu: Emulator, sdk: Clients) -> None:
    emu.set_knobs(fail_after_write_rate=1.0)
    error = api_error(lambda: grant_prod_readonly(sdk, BOB))
    assert (error.code, error.status_code) == ("ServiceUnavailable", 503)
    emu.set_knobs(fail_after_write_rate=0.0)
    permissions = described_permissions(sdk.servicemesh, BOB)
    assert [(p["ResourceId"], p["RoleName"]) for p in permissions] == [(PROD, "istio-readonly")]
    (write,) = emu.writes
    assert isinstance(write, GrantWrite)
    assert write.request_id == error.data["RequestId"]


def test_calls_beyond_the_qps_cap_are_throttled_until_the_second_is_over(
    frozen: Emulator, frozen_sdk: Clients, clock: ManualClock
) -> None:
    describe(frozen_sdk)  # calls made without a cap do not count against it
    frozen.set_knobs(qps_cap=5)

    def outcomes(calls: int) -> list[str | None]:
        codes: list[str | None] = []
        for _ in range(calls):
            try:
                describe(frozen_sdk)
                codes.append(None)
            except ClientException as error:
                codes.append(error.code)
        return codes

    assert outcomes(8) == [None] * 5 + ["Throttling.User"] * 3
    clock.advance(0.75)
    assert outcomes(1) == ["Throttling.User"]
    clock.advance(0.25)
    assert outcomes(6) == [None] * 5 + ["Throttling.User"]


def test_a_cap_on_one_api_throttles_that_api_only() -> None:
    knobs = Knobs(api_qps_caps=(("DescribeUserPermissions", 3),))
    with Emulator(org_state(), knobs=knobs) as emu:
        client = SignedHttp(emu)
        for _ in range(5):
            client.call("DescribeUserPermissions", VERSION, {"SubAccountUserId": ALICE})
            client.call("DescribeServiceMeshes", VERSION, {})
        codes = [(call.action, call.code) for call in emu.calls]
    described = [code for action, code in codes if action == "DescribeUserPermissions"]
    assert described == [None] * 3 + ["Throttling.User"] * 2
    assert [code for action, code in codes if action == "DescribeServiceMeshes"] == [None] * 5


def test_cloudssos_published_limits_are_enforced_only_when_asked() -> None:
    limits = Knobs(published_limits=True)
    assert api_qps_cap(limits, "cloudsso", "CreateAccessAssignment") == 20
    assert api_qps_cap(limits, "cloudsso", "GetTaskStatus") == 20
    assert api_qps_cap(limits, "cloudsso", "ListAccessAssignments") == 100
    assert api_qps_cap(limits, "servicemesh", "DescribeUserPermissions") is None
    assert api_qps_cap(Knobs(), "cloudsso", "CreateAccessAssignment") is None
    both = Knobs(published_limits=True, api_qps_caps=(("ListAccessAssignments", 30),))
    assert api_qps_cap(both, "cloudsso", "ListAccessAssignments") == 30


def test_latency_and_its_spikes_delay_each_call(emu: Emulator, sdk: Clients) -> None:
    emu.set_knobs(latency_ms=80)
    started = time.monotonic()
    describe(sdk)
    assert time.monotonic() - started >= 0.08
    emu.set_knobs(latency_spike_rate=1.0, latency_spike_ms=150)
    started = time.monotonic()
    describe(sdk)
    assert time.monotonic() - started >= 0.23


def test_a_denied_action_answers_403_with_an_access_denied_detail(emu: Emulator) -> None:
    emu.set_knobs(deny=(DenyRule("GrantUserPermissions", frozenset({BOB})),))
    sdk = clients(emu, "permctl-alice-key", "alice-secret-not-real")
    error = api_error(lambda: grant_prod_readonly(sdk, BOB))
    assert isinstance(error, ClientException)
    assert (error.code, error.status_code) == ("NoPermission", 403)
    detail = error.access_denied_detail
    assert detail["AuthAction"] == "servicemesh:GrantUserPermissions"
    assert (detail["AuthPrincipalType"], detail["AuthPrincipalDisplayName"]) == ("SubUser", "alice")
    assert detail["NoPermissionType"] == "ImplicitDeny"
    assert detail["EncodedDiagnosticMessage"]
    grant_prod_readonly(sdk, ALICE)  # other resources, and other actions, are allowed
    describe(sdk, BOB)


def test_the_same_seed_gives_the_same_faults_and_another_seed_others() -> None:
    knobs = Knobs(seed=7, throttle_rate=0.3, error_5xx_rate=0.2)
    first, again = outcomes(knobs, 40), outcomes(knobs, 40)
    assert first == again
    assert {None, "Throttling.User"} <= set(first)
    assert outcomes(Knobs(seed=8, throttle_rate=0.3, error_5xx_rate=0.2), 40) != first


@pytest.mark.parametrize(
    "changes",
    [{"throttle_rate": 1.5}, {"error_5xx_rate": -0.1}, {"latency_ms": -1}, {"qps_cap": 0}],
)
def test_knobs_out_of_range_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Knobs(**changes)
