"""What the emulator tests share: an organisation to serve, SDK clients wired to an emulator,
and a bare signed HTTP client for what the SDK cannot send (tampered or unsigned requests) or
would send too slowly (ten thousand calls).

The bare client signs with the SDK's own `Utils.get_authorization`, over the same headers the
SDK's `do_request` sets, so the emulator's verification is checked against the SDK and not
against itself.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from alibabacloud_cloudsso20210515.client import Client as CloudSsoClient
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_resourcedirectorymaster20220419.client import Client as RdClient
from alibabacloud_servicemesh20200111.client import Client as ServiceMeshClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config, OpenApiRequest
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_tea_util.models import RuntimeOptions

from permctl.emulator import Emulator
from permctl.providers.servicemesh import DESCRIBE_USER_PERMISSIONS, permission_entries

PROD = "c57b848115458460583a4260cb713abc"
STAGING = "c4ec191f4e12145c09286ea3e2b8fabc"
SANDBOX = "d1e2f3a4b5c6d7e8f9a0b1c2d3e4fabc"
ALICE, BOB, CAROL = "278525736094801234", "278525736094805678", "278525736094809012"
CI_ROLE, AUDITOR_ROLE = "300000000000000001", "300000000000000003"
MESH_NAMES = {PROD: "prod-mesh", STAGING: "staging-mesh", SANDBOX: "sandbox"}
DIRECTORY = "d-00fc2p61abcd"
RD, ROOT = "rd-k4abcd", "r-Wmabcd"
DEV_FOLDER, TEAM_FOLDER, PROD_FOLDER = "fd-bVaRIG1234", "fd-team000001", "fd-prod000001"
DEV_TEST = "114240524784abcd"
BUSY_ACCOUNT = "184311716100abcd"  # holds BUSY_ASSIGNMENTS: three pages of 20
BUSY_ASSIGNMENTS = 55
ECS_ADMIN, READ_ONLY, BILLING = "ac-00jhtfl8thteu6ujabcd", "ac-readonly0001", "ac-billing00001"
SSO_ALICE, SSO_BOB, PLATFORM, DEVELOPERS = (
    "u-00q8wbq42wiltcrkabcd",
    "u-bob000000001",
    "g-00jqzghi2n3lwnvgabcd",
    "g-developers01",
)
FILLER_ACCOUNTS = 20
PLATFORM_FILLERS = 24  # platform-admins: alice and these fillers, three pages of 10
KEY_ID, KEY_SECRET = "permctl-emulator-key", "permctl-emulator-secret-not-real"
STS_KEY_ID, STS_KEY_SECRET, STS_TOKEN = "permctl-sts-key", "permctl-sts-secret", "token-not-real"
CONCURRENT_USERS = 64  # RAM users the concurrency test writes to, one thread owning each


def assignment(configuration: str, account: str, kind: str, principal: str) -> dict[str, str]:
    return {
        "access_configuration": configuration,
        "account": account,
        "principal_type": kind,
        "principal": principal,
    }


def org_state() -> dict[str, Any]:
    """An organisation with enough of everything to need several pages of each listing."""
    fillers = [{"id": f"u-filler{i:06d}", "name": f"filler-{i:03d}"} for i in range(120)]
    busy = [
        assignment(READ_ONLY, BUSY_ACCOUNT, "User", u["id"]) for u in fillers[:BUSY_ASSIGNMENTS]
    ]
    return {
        "account_id": "1000000000000001",
        "access_keys": [
            {"id": KEY_ID, "secret": KEY_SECRET},
            {
                "id": STS_KEY_ID,
                "secret": STS_KEY_SECRET,
                "security_token": STS_TOKEN,
                "principal": "ci-deployer",
            },
            {"id": "permctl-alice-key", "secret": "alice-secret-not-real", "principal": "alice"},
        ],
        "meshes": [{"id": mesh, "name": name} for mesh, name in MESH_NAMES.items()],
        "ram": {
            "users": [
                {
                    "id": ALICE,
                    "name": "alice",
                    "display_name": "Alice Chen",
                    "grants": [
                        {"mesh": PROD, "role": "istio-admin"},
                        {"mesh": STAGING, "role": "istio-admin"},
                    ],
                },
                {
                    "id": BOB,
                    "name": "bob",
                    "grants": [
                        {"mesh": STAGING, "role": "istio-ops"},
                        {"mesh": SANDBOX, "role": "istio-readonly"},
                    ],
                },
                {"id": CAROL, "name": "carol", "grants": []},
                *(
                    {"id": str(278525736090000000 + i), "name": f"load-{i:02d}"}
                    for i in range(CONCURRENT_USERS)
                ),
            ],
            "roles": [
                {
                    "id": CI_ROLE,
                    "name": "ci-deployer",
                    "grants": [{"mesh": PROD, "role": "istio-ops"}],
                },
                {
                    "id": AUDITOR_ROLE,
                    "name": "auditor",
                    "grants": [{"mesh": SANDBOX, "role": "istio-readonly"}],
                },
            ],
        },
        "resource_directory": {
            "id": RD,
            "root_folder_id": ROOT,
            "folders": [
                {"id": folder, "name": name, "parent": parent}
                for folder, name, parent in (
                    (DEV_FOLDER, "dev", ROOT),
                    (TEAM_FOLDER, "team", DEV_FOLDER),
                    (PROD_FOLDER, "production", ROOT),
                )
            ],
            "accounts": [
                {"id": DEV_TEST, "name": "dev-test", "folder": DEV_FOLDER},
                {"id": BUSY_ACCOUNT, "name": "prod-main", "folder": PROD_FOLDER},
                {"id": "555500000000abcd", "name": "team-app", "folder": TEAM_FOLDER},
                *(
                    {"id": str(900000000000 + i), "name": f"filler-account-{i:02d}"}
                    for i in range(FILLER_ACCOUNTS)
                ),
            ],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "example-directory",
                    "users": [
                        {"id": SSO_ALICE, "name": "alice"},
                        {"id": SSO_BOB, "name": "bob"},
                        {"id": "u-quoted000001", "name": 'o"brien the "admin"'},
                        {"id": "u-spaces000001", "name": "mary ann"},
                        *fillers,
                    ],
                    "groups": [
                        {
                            "id": PLATFORM,
                            "name": "platform-admins",
                            "members": [SSO_ALICE, *(u["id"] for u in fillers[:PLATFORM_FILLERS])],
                        },
                        {"id": DEVELOPERS, "name": "developers", "members": [SSO_BOB, SSO_ALICE]},
                        {"id": "g-platformops1", "name": "platform-ops"},
                    ],
                    "access_configurations": [
                        {"id": ECS_ADMIN, "name": "ECS-Admin"},
                        {"id": READ_ONLY, "name": "ReadOnly"},
                        {"id": BILLING, "name": "Billing"},
                    ],
                    "assignments": [
                        assignment(ECS_ADMIN, DEV_TEST, "User", SSO_ALICE),
                        assignment(ECS_ADMIN, DEV_TEST, "Group", PLATFORM),
                        assignment(READ_ONLY, DEV_TEST, "Group", DEVELOPERS),
                        assignment(ECS_ADMIN, BUSY_ACCOUNT, "Group", PLATFORM),
                        assignment(BILLING, BUSY_ACCOUNT, "User", SSO_ALICE),
                        *busy,
                    ],
                }
            ]
        },
    }


def sdk_config(
    emu: Emulator, key_id: str = KEY_ID, secret: str = KEY_SECRET, token: str | None = None
) -> Config:
    """No retries: the SDK retries only when given retry options, and these give none."""
    return Config(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=token,
        endpoint=emu.endpoint,
        protocol="HTTP",
    )


@dataclass
class Clients:
    servicemesh: ServiceMeshClient
    cloudsso: CloudSsoClient
    rd: RdClient
    ram: RamClient
    sts: StsClient


def clients(
    emu: Emulator, key_id: str = KEY_ID, secret: str = KEY_SECRET, token: str | None = None
) -> Clients:
    config = sdk_config(emu, key_id, secret, token)
    return Clients(
        ServiceMeshClient(config),
        CloudSsoClient(config),
        RdClient(config),
        RamClient(config),
        StsClient(config),
    )


def api_error(call: Callable[[], object]) -> AlibabaCloudException:
    """The exception the SDK raises for `call` (which must fail)."""
    try:
        call()
    except AlibabaCloudException as error:
        return error
    raise AssertionError("the call succeeded")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]


@dataclass
class SignedHttp:
    """A keep-alive connection sending requests signed the way the SDK signs them."""

    emu: Emulator
    key_id: str = KEY_ID
    secret: str = KEY_SECRET
    security_token: str | None = None
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    def headers(
        self,
        action: str,
        version: str,
        body: bytes,
        query: Mapping[str, str] | None = None,
        *,
        date: datetime | None = None,
        omit: tuple[str, ...] = (),
    ) -> dict[str, str]:
        """Every header the SDK's do_request sets (less `omit`), Authorization included."""
        headers = {
            "host": self.emu.endpoint,
            "x-acs-version": version,
            "x-acs-action": action,
            "user-agent": "permctl-emulator-tests",
            "x-acs-date": (date or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "accept": "application/json",
            "content-type": "application/x-www-form-urlencoded",
            "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        }
        if self.security_token:
            headers["x-acs-accesskey-id"] = self.key_id
            headers["x-acs-security-token"] = self.security_token
        for name in omit:
            del headers[name]
        request = SimpleNamespace(
            pathname="/", method="POST", query=dict(query or {}), headers=headers
        )
        headers["Authorization"] = Utils.get_authorization(
            request, "ACS3-HMAC-SHA256", hashlib.sha256(body).hexdigest(), self.key_id, self.secret
        )
        return headers

    def call(self, action: str, version: str, params: Mapping[str, str] | None = None) -> Reply:
        body = urlencode(params or {}).encode()
        return self.send(self.headers(action, version, body), body)

    def send(self, headers: Mapping[str, str], body: bytes, query: str = "") -> Reply:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.emu.endpoint, timeout=30)
        self._connection.request("POST", f"/?{query}" if query else "/", body, dict(headers))
        response = self._connection.getresponse()
        return Reply(response.status, dict(response.getheaders()), json.loads(response.read()))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def described_permissions(client: ServiceMeshClient, principal: str) -> list[Mapping[str, Any]]:
    """DescribeUserPermissions' entries, whatever shape they came in: the SDK's typed model
    cannot read the documented one (a single permission as an object)."""
    request = OpenApiRequest(body={"SubAccountUserId": principal})
    reply = client.call_api(DESCRIBE_USER_PERMISSIONS, request, RuntimeOptions())
    return permission_entries(reply["body"])
