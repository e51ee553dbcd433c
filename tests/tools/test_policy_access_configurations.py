"""`permctl policy` for a file that manages access configurations: its actions are exactly
those a plan and an apply that creates, changes, re-provisions and deletes them call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_policy import logged_actions, permctl_actions, policies, run

from permctl.emulator import Emulator

DIRECTORY, ACCOUNT = "d-policy0000ac", "114240524784abcd"
POLICY = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}

STATE: dict[str, Any] = {
    "resource_directory": {
        "id": "rd-k4abcd",
        "root_folder_id": "r-Wmabcd",
        "accounts": [{"id": ACCOUNT, "name": "dev-test"}],
    },
    "cloudsso": {
        "directories": [
            {
                "id": DIRECTORY,
                "name": "policy-directory",
                "users": [{"id": "u-alice", "name": "alice"}],
                "groups": [{"id": "g-ops", "name": "ops", "members": ["u-alice"]}],
                "access_configurations": [
                    {
                        "id": "ac-admin",
                        "name": "ECS-Admin",
                        "system_policies": ["AliyunECSFullAccess"],
                        "inline_policy": POLICY,
                    },
                    {"id": "ac-old", "name": "Old"},  # not in the file: deleted
                ],
                "assignments": [
                    {
                        "access_configuration": "ac-admin",
                        "account": ACCOUNT,
                        "principal_type": "User",
                        "principal": "u-alice",
                    }
                ],
                # Out of date there: plan lists where, as drift must.
                "provisionings": [
                    {
                        "access_configuration": "ac-admin",
                        "account": ACCOUNT,
                        "status": "ReprovisionRequired",
                    }
                ],
            }
        ]
    },
}
NARROWER = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}],
}
FILE = {
    "version": 1,
    "cloudsso": {
        "directory": DIRECTORY,
        "prune_access_configurations": True,
        "access_configurations": [
            {"name": "ECS-Admin", "description": "ECS", "inline_policy": NARROWER},
            {"name": "Net-Ops", "inline_policy": NARROWER},
        ],
        "assignments": [
            {"access_configuration": "ECS-Admin", "accounts": ["dev-test"], "users": ["alice"]},
            {"access_configuration": "Net-Ops", "accounts": ["dev-test"], "groups": ["ops"]},
        ],
    },
}


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with Emulator(STATE) as emulator:
        point_at(emulator)
        yield emulator


def actions(path: Path, mode: str) -> set[str]:
    return permctl_actions(policies(path, mode))


def test_apply_policy_grants_exactly_the_access_configuration_calls(
    emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(FILE), encoding="utf-8")
    run("plan", "--quiet", str(path))
    assert actions(path, "plan") == logged_actions(emu)
    run("apply", "--quiet", "--auto-approve", str(path))
    logged = logged_actions(emu)
    assert {
        "cloudsso:CreateAccessConfiguration",
        "cloudsso:UpdateAccessConfiguration",
        "cloudsso:RemovePermissionPolicyFromAccessConfiguration",
        "cloudsso:AddPermissionPolicyToAccessConfiguration",
        "cloudsso:UpdateInlinePolicyForAccessConfiguration",
        "cloudsso:ProvisionAccessConfiguration",
        "cloudsso:DeleteAccessConfiguration",
    } <= logged
    assert actions(path, "apply") == logged
