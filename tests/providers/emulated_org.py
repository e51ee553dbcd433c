"""A small organisation served by the emulator, and providers connected to it.

Shared by the provider and resolve tests: their conftest files re-export the fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from permctl.emulator import Emulator, Knobs
from permctl.providers import (
    AccessKey,
    ConnectionSettings,
    Providers,
    RetryPolicy,
    TaskPolling,
    open_providers,
)
from permctl.providers.connection import SERVICES

PROD = "c57b848115458460583a4260cb713abc"
STAGING = "c4ec191f4e12145c09286ea3e2b8fabc"
ELSEWHERE = "c0000000000000000000000000000999"  # a mesh no file manages
ALICE, BOB, CI = "278525736094801234", "278525736094805678", "300000000000000001"
DIRECTORY = "d-00fc2p61abcd"
RD, ROOT, DEV_FOLDER, TEAM_FOLDER = "rd-k4abcd", "r-Wmabcd", "fd-bVaRIG1234", "fd-team00001"
DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT = "114240524784abcd", "184311716100abcd", "555500000000abcd"
ECS_ADMIN, READ_ONLY = "ac-ecsadmin0001", "ac-readonly0001"
SSO_ALICE, PLATFORM = "u-alice0000001", "g-platform0001"
HOSTILE_NAME = 'o"brien \\ the "admin"'
BUSY_ACCOUNT_ASSIGNMENTS = 45  # three pages of 20


def sso_users() -> list[dict[str, str]]:
    named = [
        {"id": SSO_ALICE, "name": "alice"},
        {"id": "u-hostile000001", "name": HOSTILE_NAME},
        {"id": "u-spaces0000001", "name": "mary ann"},
    ]
    return named + [
        {"id": f"u-filler{index:07d}", "name": f"filler-{index}"} for index in range(150)
    ]


def base_state() -> dict[str, Any]:
    users = sso_users()
    busy = [
        {
            "access_configuration": READ_ONLY,
            "account": PROD_ACCOUNT,
            "principal_type": "User",
            "principal": u["id"],
        }
        for u in users[3 : 3 + BUSY_ACCOUNT_ASSIGNMENTS]
    ]
    return {
        "account_id": "1000000000000001",
        "meshes": [
            {"id": PROD, "name": "prod-mesh"},
            {"id": STAGING, "name": "staging-mesh"},
            {"id": ELSEWHERE, "name": "other-team-mesh"},
        ],
        "ram": {
            "users": [
                {"id": ALICE, "name": "alice", "grants": [{"mesh": PROD, "role": "istio-admin"}]},
                {
                    "id": BOB,
                    "name": "bob",
                    "grants": [
                        {"mesh": STAGING, "role": "istio-ops"},
                        {"mesh": ELSEWHERE, "role": "istio-readonly"},
                    ],
                },
            ],
            "roles": [
                {"id": CI, "name": "ci-deployer", "grants": [{"mesh": PROD, "role": "istio-ops"}]}
            ],
        },
        "resource_directory": {
            "id": RD,
            "root_folder_id": ROOT,
            "folders": [
                {"id": DEV_FOLDER, "name": "dev", "parent": ROOT},
                {"id": TEAM_FOLDER, "name": "team", "parent": DEV_FOLDER},
            ],
            "accounts": [
                {
                    "id": DEV_ACCOUNT,
                    "name": "dev-test@example.com",
                    "display_name": "dev-test",
                    "folder": DEV_FOLDER,
                },
                {
                    "id": PROD_ACCOUNT,
                    "name": "prod@example.com",
                    "display_name": "prod",
                    "folder": ROOT,
                },
                {
                    "id": TEAM_ACCOUNT,
                    "name": "team@example.com",
                    "display_name": "team",
                    "folder": TEAM_FOLDER,
                },
            ],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "example",
                    "users": users,
                    "groups": [{"id": PLATFORM, "name": "platform-admins"}],
                    "access_configurations": [
                        {"id": ECS_ADMIN, "name": "ECS-Admin"},
                        {"id": READ_ONLY, "name": "ReadOnly"},
                    ],
                    "assignments": [
                        {
                            "access_configuration": ECS_ADMIN,
                            "account": DEV_ACCOUNT,
                            "principal_type": "User",
                            "principal": SSO_ALICE,
                        },
                        {
                            "access_configuration": ECS_ADMIN,
                            "account": TEAM_ACCOUNT,
                            "principal_type": "Group",
                            "principal": PLATFORM,
                        },
                        *busy,
                    ],
                }
            ]
        },
    }


FAST_RETRIES = RetryPolicy(max_attempts=10, base_delay_ms=5, max_delay_ms=50)
FAST_POLLING = TaskPolling(first_delay_s=0.05, factor=1.5, max_delay_s=0.2, timeout_s=10)


def settings_for(emu: Emulator, **overrides: Any) -> ConnectionSettings:
    values: dict[str, Any] = {
        "endpoints": {service: emu.url for service in SERVICES},
        "access_key": AccessKey(emu.access_key_id, emu.access_key_secret),
        "retry": FAST_RETRIES,
        **overrides,
    }
    return ConnectionSettings(**values)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(base_state(), knobs=Knobs(seed=1)) as emulator:
        yield emulator


@pytest.fixture
def providers(emu: Emulator) -> Iterator[Providers]:
    with open_providers(settings_for(emu), FAST_POLLING) as opened:
        yield opened
