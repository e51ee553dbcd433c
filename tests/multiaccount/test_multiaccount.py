"""Sections reached through other accounts' roles: the credentials package's RAM-role-ARN
provider assumes each role once per run through the emulator's STS, and each section's calls
act in its own account, seeing only that account's meshes and principals."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator

HOME, MEMBER = "1000000000000001", "2000000000000002"
MESH_ARN = f"acs:ram::{MEMBER}:role/permctl"
SSO_ARN = f"acs:ram::{HOME}:role/sso-admin"
HOME_MESH, MEMBER_MESH = "c0000000000000000000000000000001", "c0000000000000000000000000000002"
DIRECTORY, ACCOUNT = "d-00fc2p61abcd", "114240524784abcd"

STATE: dict[str, Any] = {
    "account_id": HOME,
    "meshes": [{"id": HOME_MESH, "name": "home-mesh"}],
    "ram": {
        "users": [
            {"id": "100", "name": "alice", "grants": [{"mesh": HOME_MESH, "role": "istio-admin"}]}
        ],
        "roles": [{"id": "301", "name": "sso-admin"}],
    },
    "resource_directory": {
        "id": "rd-k4abcd",
        "root_folder_id": "r-Wmabcd",
        "accounts": [{"id": ACCOUNT, "name": "dev-test"}],
    },
    "cloudsso": {
        "directories": [
            {
                "id": DIRECTORY,
                "name": "example",
                "users": [{"id": "u-alice", "name": "alice"}],
                "access_configurations": [{"id": "ac-admin", "name": "ECS-Admin"}],
            }
        ]
    },
    "accounts": [
        {
            "account_id": MEMBER,
            "meshes": [{"id": MEMBER_MESH, "name": "member-mesh"}],
            "ram": {
                # The member account's alice is another RAM user than the home account's.
                "users": [
                    {
                        "id": "200",
                        "name": "alice",
                        "grants": [{"mesh": MEMBER_MESH, "role": "istio-ops"}],
                    }
                ],
                "roles": [{"id": "302", "name": "permctl", "external_id": "ext-42"}],
            },
        }
    ],
}

runner = CliRunner()


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with Emulator(STATE) as emulator:
        point_at(emulator)
        yield emulator


def write(
    tmp_path: Path, asm_account: dict[str, str] | None, sso_account: dict[str, str] | None
) -> Path:
    asm: dict[str, Any] = {
        "meshes": {"member": MEMBER_MESH},
        "principals": [{"name": "alice", "ram_user": "alice", "roles": {"member": "istio-admin"}}],
    }
    sso: dict[str, Any] = {
        "directory": DIRECTORY,
        "assignments": [
            {"access_configuration": "ECS-Admin", "accounts": ["dev-test"], "users": ["alice"]}
        ],
    }
    if asm_account:
        asm["account"] = asm_account
    if sso_account:
        sso["account"] = sso_account
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "asm": asm, "cloudsso": sso}), encoding="utf-8")
    return path


def plan_json(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["plan", "--quiet", "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def accounts_of(emu: Emulator, actions: set[str]) -> set[str | None]:
    return {call.account_id for call in emu.calls if call.action in actions}


MESH_CALLS = {"DescribeServiceMeshes", "GetUser", "DescribeUserPermissions", "GetCallerIdentity"}
SSO_CALLS = {"ListAccessAssignments", "ListAccounts", "ListUsers"}


def test_the_mesh_section_acts_in_the_member_account_through_its_role(
    emu: Emulator, tmp_path: Path
) -> None:
    path = write(
        tmp_path, {"assume_role": MESH_ARN, "external_id": "ext-42", "session_name": "ci"}, None
    )

    plan = plan_json(path)

    [assume] = [call for call in emu.calls if call.action == "AssumeRole"]
    assert assume.params["RoleArn"] == MESH_ARN
    assert assume.params["ExternalId"] == "ext-42"
    assert assume.params["RoleSessionName"] == "ci"
    assert accounts_of(emu, MESH_CALLS) == {MEMBER}
    assert accounts_of(emu, SSO_CALLS) == {HOME}
    # The member account's alice (200) holds istio-ops there and is raised to istio-admin;
    # the home account's alice (100) and its mesh are never seen.
    assert "200" in json.dumps(plan) and '"100"' not in json.dumps(plan)
    assert plan["identities"] == {
        "asm": f"{MESH_ARN} (session ci)",
        "cloudsso": "the caller's own credentials",
    }


def test_each_section_assumes_its_own_role_once_per_run(emu: Emulator, tmp_path: Path) -> None:
    path = write(
        tmp_path, {"assume_role": MESH_ARN, "external_id": "ext-42"}, {"assume_role": SSO_ARN}
    )

    plan_json(path)

    assumed = sorted(call.params["RoleArn"] for call in emu.calls if call.action == "AssumeRole")
    assert assumed == sorted([MESH_ARN, SSO_ARN])
    assert accounts_of(emu, MESH_CALLS) == {MEMBER}
    assert accounts_of(emu, SSO_CALLS) == {HOME}
    sso_keys = {c.access_key_id for c in emu.calls if c.action in SSO_CALLS}
    assert len(sso_keys) == 1 and sso_keys != {emu.access_key_id}


def test_the_text_plan_says_who_acts_on_each_section(emu: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path, {"assume_role": MESH_ARN, "external_id": "ext-42"}, None)

    result = runner.invoke(app, ["plan", "--quiet", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"Acting as:\n  asm: {MESH_ARN} (session permctl)\n"
        "  cloudsso: the caller's own credentials\n"
    )


def test_the_audit_log_says_which_identity_made_each_write(emu: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path, {"assume_role": MESH_ARN, "external_id": "ext-42"}, None)
    audit = tmp_path / "audit.jsonl"

    result = runner.invoke(
        app, ["apply", "--quiet", "--auto-approve", "--audit-log", str(audit), str(path)]
    )

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert {(line["action"], line["identity"]) for line in lines} == {
        ("GrantUserPermissions", f"{MESH_ARN} (session permctl)"),
        ("CreateAccessAssignment", "the caller's own credentials"),
    }


def test_a_role_refusing_the_external_id_is_one_error_with_its_request_id(
    emu: Emulator, tmp_path: Path
) -> None:
    path = write(tmp_path, {"assume_role": MESH_ARN, "external_id": "wrong"}, None)

    result = runner.invoke(app, ["plan", "--quiet", str(path)])

    assert result.exit_code == 1
    assert f"AssumeRole {MESH_ARN} failed: NoPermission" in result.stderr
    assert "to see why: permctl diagnose" in result.stderr
    assert "Traceback" not in result.output
    assert not any(call.action == "GrantUserPermissions" for call in emu.calls)


def test_diagnose_reads_a_member_account_call_only_through_that_accounts_role(
    emu: Emulator, tmp_path: Path
) -> None:
    path = write(tmp_path, {"assume_role": MESH_ARN, "external_id": "ext-42"}, None)
    plan_json(path)
    [described] = [c for c in emu.calls if c.action == "DescribeServiceMeshes"]

    as_caller = runner.invoke(app, ["diagnose", described.request_id])
    through_role = runner.invoke(
        app,
        ["diagnose", described.request_id, "--assume-role", MESH_ARN, "--external-id", "ext-42"],
    )

    assert as_caller.exit_code == 1
    assert "RequestLog.NotFound" in as_caller.stderr
    assert through_role.exit_code == 0, through_role.output
    assert f"Caller      AssumedRoleUser in account {MEMBER}" in through_role.stdout
