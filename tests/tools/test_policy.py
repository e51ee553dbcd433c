"""`permctl policy`: the actions of its documents are exactly those permctl calls for the file,
as the emulator logged them during a full plan and apply across two accounts."""

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
from permctl.emulator.handlers import ROUTES

HOME, MEMBER = "1000000000000001", "2000000000000002"
ROLE = f"acs:ram::{MEMBER}:role/mesh-admin"
MESH, DIRECTORY, ACCOUNT = "c0000000000000000000000000000009", "d-policy0000ab", "114240524784abcd"

STATE: dict[str, Any] = {
    "account_id": HOME,
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
                "users": [{"id": "u-alice", "name": "alice"}, {"id": "u-bob", "name": "bob"}],
                "groups": [{"id": "g-ops", "name": "ops", "members": ["u-bob"]}],
                "access_configurations": [{"id": "ac-admin", "name": "ECS-Admin"}],
                # Not in the file: pruned, so apply deletes them.
                "assignments": [
                    {
                        "access_configuration": "ac-admin",
                        "account": ACCOUNT,
                        "principal_type": kind,
                        "principal": principal,
                    }
                    for kind, principal in (("User", "u-bob"), ("Group", "g-ops"))
                ],
            }
        ]
    },
    "accounts": [
        {
            "account_id": MEMBER,
            "meshes": [{"id": MESH, "name": "member-mesh"}],
            "ram": {
                "users": [
                    {"id": "200", "name": "alice", "grants": [{"mesh": MESH, "role": "istio-ops"}]},
                    # Not in the file: named for the plan by listing users, and roles below.
                    {"id": "201", "name": "erin", "grants": [{"mesh": MESH, "role": "istio-ops"}]},
                ],
                "roles": [
                    {"id": "302", "name": "mesh-admin"},
                    {
                        "id": "303",
                        "name": "auditor",
                        "grants": [{"mesh": MESH, "role": "istio-readonly"}],
                    },
                ],
            },
        }
    ],
}
FILE = {
    "version": 1,
    "asm": {
        "account": {"assume_role": ROLE},
        "meshes": {"member": MESH},
        "principals": [{"name": "alice", "ram_user": "alice", "roles": {"member": "istio-admin"}}],
    },
    "cloudsso": {
        "directory": DIRECTORY,
        "prune_unlisted": True,
        "assignments": [
            {"access_configuration": "ECS-Admin", "accounts": ["dev-test"], "users": ["alice"]}
        ],
    },
}

runner = CliRunner()


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with Emulator(STATE) as emulator:
        point_at(emulator)
        yield emulator


@pytest.fixture
def path(tmp_path: Path) -> Path:
    written = tmp_path / "permissions.yaml"
    written.write_text(yaml.safe_dump(FILE), encoding="utf-8")
    return written


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def logged_actions(emu: Emulator) -> set[str]:
    return {f"{ROUTES[(c.version, c.action)].service}:{c.action}" for c in emu.calls}


def policies(path: Path, mode: str) -> list[dict[str, Any]]:
    return json.loads(run("policy", str(path), "--mode", mode))["policies"]  # type: ignore[no-any-return]


def permctl_actions(documents: list[dict[str, Any]]) -> set[str]:
    return {
        action
        for policy in documents
        if policy["purpose"] != "permctl diagnose"
        for statement in policy["document"]["Statement"]
        for action in statement["Action"]
    }


def test_plan_policy_actions_are_the_calls_of_a_plan_and_an_access_report(
    emu: Emulator, path: Path
) -> None:
    run("plan", "--quiet", str(path))
    run("access", "--quiet", str(path))

    assert permctl_actions(policies(path, "plan")) == logged_actions(emu)


def test_apply_policy_actions_are_the_calls_of_a_full_plan_and_apply(
    emu: Emulator, path: Path
) -> None:
    run("plan", "--quiet", str(path))
    run("apply", "--quiet", "--auto-approve", str(path))

    logged = logged_actions(emu)
    assert {"servicemesh:GrantUserPermissions", "cloudsso:DeleteAccessAssignment"} <= logged
    assert permctl_actions(policies(path, "apply")) == logged


def test_each_identity_gets_its_own_document_scoped_to_the_files_resources(path: Path) -> None:
    by_owner = {(p["attach_to"], p["purpose"]): p["document"] for p in policies(path, "apply")}

    caller = by_owner[
        (
            "the caller's own credentials",
            "permctl apply: CloudSSO and the resource directory, assuming the sections' roles",
        )
    ]
    role = by_owner[(ROLE, "permctl apply: caller identity, Service Mesh")]
    assert all(document["Version"] == "1" for document in by_owner.values())
    assert {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": [ROLE]} in caller[
        "Statement"
    ]
    assert {
        "Effect": "Allow",
        "Action": ["ram:GetUser"],
        "Resource": [f"acs:ram:*:{MEMBER}:user/alice"],
    } in role["Statement"]
    assert {
        "Effect": "Allow",
        "Action": [
            "cloudsso:ListAccessAssignments",
            "cloudsso:ListAccessConfigurations",
            "cloudsso:ListUsers",
        ],
        "Resource": [f"acs:cloudsso:*:*:directory/{DIRECTORY}"],
    } in caller["Statement"]
    assert not any(a.startswith("servicemesh:") for s in caller["Statement"] for a in s["Action"])


def test_diagnose_policies_cover_the_caller_and_every_role(path: Path) -> None:
    diagnose = [p for p in policies(path, "plan") if p["purpose"] == "permctl diagnose"]

    assert [p["attach_to"] for p in diagnose] == ["the caller's own credentials", ROLE]
    assert diagnose[0]["document"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["openapiexplorer:GetRequestLog", "ram:DecodeDiagnosticMessage"],
            "Resource": ["*"],
        }
    ]


def test_document_format_prints_one_identitys_document_alone_for_create_policy(
    path: Path,
) -> None:
    by_name = {p["name"]: p["document"] for p in policies(path, "apply")}

    for identity, name in (("caller", "caller"), (ROLE, f"{MEMBER}-mesh-admin")):
        printed = run(
            "policy", str(path), "--mode", "apply", "--format", "document", "--identity", identity
        )
        assert json.loads(printed) == by_name[name]
        assert set(json.loads(printed)) == {"Version", "Statement"}


def test_an_unknown_identity_is_a_usage_error_listing_the_identities(path: Path) -> None:
    result = runner.invoke(
        app, ["policy", str(path), "--format", "document", "--identity", "mesh-admin"]
    )

    assert result.exit_code == 1
    assert f"caller, {MEMBER}-mesh-admin, diagnose" in result.stderr
    assert result.stdout == ""


def test_out_dir_writes_each_identitys_document_to_its_own_file(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "policies"
    result = runner.invoke(app, ["policy", str(path), "--mode", "apply", "--out-dir", str(out)])

    assert result.exit_code == 0, result.output
    by_name = {p["name"]: p["document"] for p in policies(path, "apply")}
    written = {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in out.iterdir()}
    assert written == by_name
    assert f"wrote {out / f'{MEMBER}-mesh-admin.json'}: attach to {ROLE}" in result.stderr
