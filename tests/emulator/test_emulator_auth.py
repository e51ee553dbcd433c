"""ACS3-HMAC-SHA256 verification: what the SDK signs is accepted, anything else refused as the
cloud refuses it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_servicemesh20200111 import models as asm
from alibabacloud_tea_openapi.exceptions import ClientException
from emulator_support import (
    ALICE,
    KEY_ID,
    STS_KEY_ID,
    STS_KEY_SECRET,
    STS_TOKEN,
    SignedHttp,
    api_error,
    clients,
)

from permctl.emulator import Emulator

VERSION = "2020-01-11"
DESCRIBE = ("DescribeUserPermissions", VERSION)
PARAMS = {"SubAccountUserId": ALICE}
BODY = urlencode(PARAMS).encode()


def describe_alice(emu: Emulator, key_id: str, secret: str, token: str | None = None) -> object:
    request = asm.DescribeUserPermissionsRequest(sub_account_user_id=ALICE)
    return clients(emu, key_id, secret, token).servicemesh.describe_user_permissions(request)


def test_a_wrong_secret_does_not_match_the_signature(shared: Emulator) -> None:
    error = api_error(lambda: describe_alice(shared, KEY_ID, "not-the-secret"))
    assert isinstance(error, ClientException)
    assert (error.code, error.status_code) == ("SignatureDoesNotMatch", 400)
    call = next(c for c in reversed(shared.calls) if c.request_id == error.data["RequestId"])
    assert (call.code, call.status, call.access_key_id) == ("SignatureDoesNotMatch", 400, KEY_ID)


def test_an_unknown_key_is_not_found(shared: Emulator) -> None:
    error = api_error(lambda: describe_alice(shared, "permctl-nobody-key", "secret"))
    assert (error.code, error.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_an_sts_key_works_only_with_its_token(shared: Emulator) -> None:
    describe_alice(shared, STS_KEY_ID, STS_KEY_SECRET, STS_TOKEN)
    wrong = api_error(lambda: describe_alice(shared, STS_KEY_ID, STS_KEY_SECRET, "other-token"))
    bare = api_error(lambda: describe_alice(shared, STS_KEY_ID, STS_KEY_SECRET))
    assert (wrong.code, wrong.status_code) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)
    assert (bare.code, bare.status_code) == ("MissingSecurityToken", 400)


def test_a_request_signed_as_the_sdk_signs_it_is_accepted(shared: Emulator) -> None:
    reply = SignedHttp(shared).call(*DESCRIBE, PARAMS)
    assert reply.status == 200
    assert reply.headers["x-acs-request-id"] == reply.body["RequestId"]


def test_action_and_version_may_come_as_query_parameters(shared: Emulator) -> None:
    client = SignedHttp(shared)
    query = {"Action": DESCRIBE[0], "Version": VERSION}
    headers = client.headers(*DESCRIBE, BODY, query, omit=("x-acs-action", "x-acs-version"))
    reply = client.send(headers, BODY, urlencode(query))
    assert reply.status == 200
    assert len(reply.body["Permissions"]) == 2


Headers = dict[str, str]


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda h, b: ({k: v for k, v in h.items() if k != "Authorization"}, b),
         "MissingAuthorization"),
        (lambda h, b: (h, b"SubAccountUserId=1"), "SignatureDoesNotMatch"),
        (lambda h, b: ({**h, "x-acs-action": "GrantUserPermissions"}, b), "SignatureDoesNotMatch"),
        (lambda h, b: ({**h, "x-acs-extra": "smuggled"}, b), "IncompleteSignature"),
        (lambda h, b: ({**h, "Authorization": h["Authorization"].replace("SHA256", "SM3")}, b),
         "IncompleteSignature"),
    ],
    ids=["unsigned", "body changed", "signed header changed", "unsigned x-acs header",
         "other algorithm"],
)  # fmt: skip
def test_a_request_changed_after_signing_is_refused(
    shared: Emulator, tamper: Callable[[Headers, bytes], tuple[Headers, bytes]], code: str
) -> None:
    client = SignedHttp(shared)
    reply = client.send(*tamper(client.headers(*DESCRIBE, BODY), BODY))
    assert (reply.status, reply.body["Code"]) == (400, code)


def test_a_mismatch_tells_the_string_the_server_signed(shared: Emulator) -> None:
    error = api_error(lambda: describe_alice(shared, KEY_ID, "not-the-secret"))
    assert re.search(r"string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}$", error.data["Message"])


def test_a_replayed_request_is_refused(shared: Emulator) -> None:
    client = SignedHttp(shared)
    headers = client.headers(*DESCRIBE, BODY)
    assert client.send(headers, BODY).status == 200
    reply = client.send(headers, BODY)
    assert (reply.status, reply.body["Code"]) == (400, "SignatureNonceUsed")


def test_a_request_signed_long_ago_is_refused(shared: Emulator) -> None:
    client = SignedHttp(shared)
    stale = datetime.now(timezone.utc) - timedelta(minutes=20)
    reply = client.send(client.headers(*DESCRIBE, BODY, date=stale), BODY)
    assert (reply.status, reply.body["Code"]) == (400, "InvalidTimeStamp.Expired")


@pytest.mark.parametrize(
    ("action", "version", "status", "code"),
    [
        ("DescribeEverything", VERSION, 404, "InvalidAction.NotFound"),
        ("DescribeUserPermissions", "2099-01-01", 400, "InvalidVersion"),
        ("GetUser", VERSION, 404, "InvalidAction.NotFound"),  # a RAM action, not a mesh one
    ],
)
def test_unknown_actions_and_versions_are_refused(
    shared: Emulator, action: str, version: str, status: int, code: str
) -> None:
    reply = SignedHttp(shared).call(action, version, PARAMS)
    assert (reply.status, reply.body["Code"]) == (status, code)


def test_every_answer_carries_its_own_upper_case_request_id(shared: Emulator) -> None:
    shared.reset_log()
    sdk = clients(shared)
    sdk.ram.get_user(ram.GetUserRequest(user_name="alice"))
    api_error(lambda: sdk.ram.get_user(ram.GetUserRequest(user_name="nobody")))
    SignedHttp(shared).call("Nope", VERSION)
    ids = [call.request_id for call in shared.calls]
    assert len(ids) == len(set(ids)) == 3
    assert all(re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", i) for i in ids)
