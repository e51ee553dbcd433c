"""Access configurations as code, through the CLI against the emulator over HTTP with the real
SDK: plan shows what each change grants (structurally, widening called out), apply creates,
updates and re-provisions, a second apply writes nothing, and drift sees a console edit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from alibabacloud_cloudsso20210515 import models as sso
from alibabacloud_cloudsso20210515.client import Client
from alibabacloud_tea_openapi.models import Config
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import DenyRule, Emulator, Knobs

runner = CliRunner()

DIRECTORY = "d-acdir0000001"
DEV, PROD, SPARE = "100000000000dev1", "100000000000prd1", "100000000000spr1"
ECS_ADMIN, UNUSED = "ac-ecsadmin00001", "ac-unused000001"
ALICE, BOB, OPS = "u-alice0000001", "u-bob000000001", "g-ops000000001"
DESCRIBE = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}],
}
WRITES = (
    "CreateAccessConfiguration",
    "UpdateAccessConfiguration",
    "DeleteAccessConfiguration",
    "AddPermissionPolicyToAccessConfiguration",
    "RemovePermissionPolicyFromAccessConfiguration",
    "UpdateInlinePolicyForAccessConfiguration",
    "ProvisionAccessConfiguration",
    "CreateAccessAssignment",
    "DeleteAccessAssignment",
)


def assignment(account: str, kind: str, principal: str, ac: str = ECS_ADMIN) -> dict[str, str]:
    return {
        "access_configuration": ac,
        "account": account,
        "principal_type": kind,
        "principal": principal,
    }


def live_state() -> dict[str, Any]:
    """ECS-Admin (describe only) held on two accounts by three principals; Unused held nowhere."""
    return {
        "access_keys": [{"id": "ac-test-key", "secret": "ac-test-secret-not-real"}],
        "resource_directory": {
            "id": "rd-ac0001",
            "root_folder_id": "r-ac0001",
            "accounts": [
                {"id": a, "name": n} for a, n in ((DEV, "dev"), (PROD, "prod"), (SPARE, "spare"))
            ],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "ac",
                    "users": [{"id": ALICE, "name": "alice"}, {"id": BOB, "name": "bob"}],
                    "groups": [{"id": OPS, "name": "ops"}],
                    "access_configurations": [
                        {
                            "id": ECS_ADMIN,
                            "name": "ECS-Admin",
                            "description": "ECS administrators",
                            "system_policies": ["AliyunECSReadOnlyAccess"],
                            "inline_policy": DESCRIBE,
                        },
                        {"id": UNUSED, "name": "Unused"},
                    ],
                    "assignments": [
                        assignment(DEV, "User", ALICE),
                        assignment(DEV, "Group", OPS),
                        assignment(PROD, "User", BOB),
                    ],
                }
            ]
        },
    }


def ecs_admin(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "ECS-Admin",
        "description": "ECS administrators",
        "system_policies": ["AliyunECSReadOnlyAccess"],
        "inline_policy": {
            "Statement": [{"Resource": ["*"], "Action": ["ecs:Describe*"], "Effect": "Allow"}],
            "Version": "1",
        },
    }
    return {**entry, **changes}


def permissions(*configurations: dict[str, Any], **cloudsso: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "cloudsso": {
            "directory": DIRECTORY,
            "access_configurations": list(configurations),
            "assignments": [
                {
                    "access_configuration": "ECS-Admin",
                    "accounts": ["dev"],
                    "users": ["alice"],
                    "groups": ["ops"],
                },
                {"access_configuration": "ECS-Admin", "accounts": ["prod"], "users": ["bob"]},
            ],
            **cloudsso,
        },
    }


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with Emulator(live_state(), knobs=Knobs(seed=1)) as emulator:
        point_at(emulator)
        yield emulator


@pytest.fixture
def write(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write_file(document: dict[str, Any]) -> Path:
        path = tmp_path / "permissions.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return write_file


def permctl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def plan_text(file: Path) -> str:
    result = permctl("plan", "--quiet", file)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def plan_json(file: Path) -> dict[str, Any]:
    result = permctl("plan", "--quiet", "--format", "json", file)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def apply(file: Path) -> tuple[int, dict[str, Any]]:
    result = permctl("apply", "--auto-approve", "--quiet", "--format", "json", file)
    assert result.stdout.strip(), result.output
    return result.exit_code, json.loads(result.stdout)


def writes(emu: Emulator) -> dict[str, int]:
    return {action: n for action in WRITES if (n := emu.count(action))}


def client(emu: Emulator) -> Client:
    return Client(
        Config(
            access_key_id=emu.access_key_id,
            access_key_secret=emu.access_key_secret,
            endpoint=emu.endpoint,
            protocol="HTTP",
        )
    )


def configuration(emu: Emulator, name: str) -> dict[str, Any]:
    (directory,) = emu.dump()["cloudsso"]["directories"]
    (found,) = [c for c in directory["access_configurations"] if c["name"] == name]
    return dict(found)


def provisionings(emu: Emulator, configuration_id: str) -> dict[str, str]:
    (directory,) = emu.dump()["cloudsso"]["directories"]
    return {
        p["account"]: p["status"]
        for p in directory["provisionings"]
        if p["access_configuration"] == configuration_id
    }


def test_the_file_as_live_is_no_change_whatever_the_key_order_and_action_form(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(ecs_admin()))
    assert "No changes." in plan_text(file)
    assert apply(file) == (0, apply(file)[1])
    assert writes(emu) == {}


def test_a_new_access_configuration_is_created_with_its_policies_before_the_assignment_using_it(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    document = permissions(
        ecs_admin(),
        {
            "name": "Net-Ops",
            "session_duration": 7200,
            "system_policies": ["AliyunVPCReadOnlyAccess"],
        },
    )
    document["cloudsso"]["assignments"].append(
        {"access_configuration": "Net-Ops", "accounts": ["spare"], "users": ["alice"]}
    )
    file = write(document)
    text = plan_text(file)
    assert "  + Net-Ops\n" in text
    assert "+ User alice (u-alice0000001): Net-Ops (to be created)" in text
    assert (
        "! widens Net-Ops: + system policy AliyunVPCReadOnlyAccess (1 account, 1 principal)" in text
    )
    code, report = apply(file)
    assert code == 0, report
    created = configuration(emu, "Net-Ops")
    assert (created["session_duration"], created["system_policies"]) == (
        7200,
        ["AliyunVPCReadOnlyAccess"],
    )
    assert provisionings(emu, created["id"]) == {SPARE: "Provisioned"}
    emu.reset_log()
    assert apply(file)[1]["items"] == []
    assert writes(emu) == {}


def test_an_attribute_update_is_one_call_and_is_shown_before_and_after(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(
        permissions(
            ecs_admin(
                description="ECS admins",
                session_duration=900,
                relay_state="https://ecs.console.aliyun.com/",
            )
        )
    )
    text = plan_text(file)
    assert "~ description: 'ECS administrators' -> 'ECS admins'" in text
    assert "~ session_duration: 3600 -> 900" in text
    assert "~ relay_state: '' -> 'https://ecs.console.aliyun.com/'" in text
    assert "widens" not in text  # a shorter session narrows
    code, _ = apply(file)
    assert code == 0
    updated = configuration(emu, "ECS-Admin")
    assert (updated["description"], updated["session_duration"], updated["relay_state"]) == (
        "ECS admins",
        900,
        "https://ecs.console.aliyun.com/",
    )
    assert emu.count("UpdateAccessConfiguration") == 1


def test_system_policies_added_and_removed_one_call_each_and_the_addition_widens(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(ecs_admin(system_policies=["AliyunECSFullAccess"])))
    text = plan_text(file)
    assert "+ system policy AliyunECSFullAccess" in text
    assert "- system policy AliyunECSReadOnlyAccess" in text
    widening = "+ system policy AliyunECSFullAccess (2 accounts, 3 principals)"
    assert f"! widens ECS-Admin (ac-ecsadmin00001): {widening}" in text
    code, _ = apply(file)
    assert code == 0
    assert configuration(emu, "ECS-Admin")["system_policies"] == ["AliyunECSFullAccess"]
    assert emu.count("AddPermissionPolicyToAccessConfiguration") == 1
    assert emu.count("RemovePermissionPolicyFromAccessConfiguration") == 1


def test_an_inline_policy_change_is_shown_inside_its_statement_and_widening_is_marked_everywhere(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    wider = ecs_admin(
        inline_policy={
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:*"], "Resource": "*"}
            ],
        }
    )
    file = write(permissions(wider))
    text = plan_text(file)
    assert "~ statement Allow ecs:*, ecs:Describe* on *\n          + Action ecs:*\n" in text
    assert (
        "! widens ECS-Admin (ac-ecsadmin00001): + Allow ecs:* on * (2 accounts, 3 principals)"
        in text
    )
    assert "{" not in text  # never the documents side by side
    markdown = permctl("plan", "--quiet", "--format", "markdown", file).stdout
    row = "| \\! widens | ECS\\-Admin \\(ac\\-ecsadmin00001\\) | \\+ Allow ecs\\:\\* on \\* "
    assert row + "\\(2 accounts, 3 principals\\) |" in markdown
    (change,) = plan_json(file)["cloudsso"]["access_configurations"]["changes"]
    assert change["widens"] is True
    assert change["reach"] == {"account_ids": [DEV, PROD], "principals": 3}
    assert change["diff"]["statements"][0]["parts"] == [
        {"part": "Action", "added": ["ecs:*"], "removed": []}
    ]


def test_a_narrowing_change_carries_no_widening_mark(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    narrower = ecs_admin(
        inline_policy={
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*"}],
        },
        system_policies=[],
    )
    file = write(permissions(narrower))
    text = plan_text(file)
    assert "~ ECS-Admin (ac-ecsadmin00001)" in text
    assert "widens" not in text
    assert "0 widening" not in text
    assert plan_json(file)["cloudsso"]["access_configurations"]["changes"][0]["widens"] is False


def test_an_update_is_reprovisioned_on_every_account_and_a_second_apply_writes_nothing(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(ecs_admin(session_duration=7200)))
    code, report = apply(file)
    assert code == 0, report
    provisioned = [i for i in report["items"] if i["action"] == "provision"]
    assert sorted(i["item_id"] for i in provisioned) == [DEV, PROD]
    assert provisionings(emu, ECS_ADMIN) == {DEV: "Provisioned", PROD: "Provisioned"}
    assert emu.count("ProvisionAccessConfiguration") == 2
    emu.reset_log()
    code, report = apply(file)
    assert (code, report["items"], writes(emu)) == (0, [], {})


def test_a_failed_provisioning_task_is_reported_with_its_reason_and_retried_next_time(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(ecs_admin(session_duration=7200)))
    emu.set_knobs(task_failure_rate=1.0)
    code, report = apply(file)
    assert code == 1
    failed = [i for i in report["items"] if i["outcome"] == "failed"]
    assert {i["action"] for i in failed} == {"provision"}
    assert all("failed to be provisioned" in i["detail"] for i in failed)
    emu.set_knobs(task_failure_rate=0.0)
    text = plan_text(file)
    assert "re-provisioned on 2 accounts where it is out of date" in text
    assert apply(file)[0] == 0
    assert provisionings(emu, ECS_ADMIN) == {DEV: "Provisioned", PROD: "Provisioned"}


def test_a_provisioning_task_that_cannot_be_followed_is_a_failed_item_not_a_crash(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(ecs_admin(session_duration=7200)))
    emu.set_knobs(deny=(DenyRule("GetTaskStatus"),))
    code, report = apply(file)
    assert code == 1
    failed = [i for i in report["items"] if i["outcome"] == "failed"]
    assert sorted(i["item_id"] for i in failed) == [DEV, PROD]
    assert all("could not be followed" in i["detail"] for i in failed)


def test_unlisted_access_configurations_are_left_alone_unless_deletion_is_opted_in(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    kept = write(permissions(ecs_admin()))
    assert "? Unused (ac-unused000001)" in plan_text(kept)
    pruned = write(permissions(ecs_admin(), prune_access_configurations=True))
    assert "  - Unused (ac-unused000001) (not in the file, pruned)" in plan_text(pruned)
    assert apply(pruned)[0] == 0
    (directory,) = emu.dump()["cloudsso"]["directories"]
    assert [c["name"] for c in directory["access_configurations"]] == ["ECS-Admin"]


def test_deleting_an_access_configuration_the_file_still_assigns_is_refused_at_its_line(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(prune_access_configurations=True))
    result = permctl("apply", "--auto-approve", "--quiet", file)
    assert result.exit_code == 1
    assert f"error {file}:6:5 cloudsso.assignments: uses access configuration" in result.stderr
    assert "2 errors; nothing was changed." in result.stderr
    assert "uses access configuration 'ECS-Admin', which the plan would delete" in result.stderr
    assert writes(emu) == {}


def test_an_assignment_naming_an_unknown_access_configuration_lists_the_names_that_exist(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    document = permissions({"name": "Net-Ops"})
    document["cloudsso"]["assignments"].append(
        {"access_configuration": "Net-Opz", "accounts": ["dev"], "users": ["bob"]}
    )
    result = permctl("plan", "--quiet", write(document))
    assert result.exit_code == 1
    assert (
        "no CloudSSO access configuration named 'Net-Opz'; did you mean 'Net-Ops'?" in result.stderr
    )


def test_drift_reports_a_console_edit_that_widens_and_the_missing_reprovisioning(
    emu: Emulator, write: Callable[[dict[str, Any]], Path]
) -> None:
    file = write(permissions(ecs_admin()))
    wider = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}
    client(emu).update_inline_policy_for_access_configuration(
        sso.UpdateInlinePolicyForAccessConfigurationRequest(
            directory_id=DIRECTORY,
            access_configuration_id=ECS_ADMIN,
            inline_policy_name="InlinePolicy",
            new_inline_policy_document=json.dumps(wider),
        )
    )
    result = permctl("drift", "--quiet", "--format", "json", file)
    assert result.exit_code == 2, result.output
    items = {i["kind"]: i for i in json.loads(result.stdout)["items"]}
    differs = items["access_configuration_differs"]
    assert differs["access_configuration_name"] == "ECS-Admin"
    # Read from the file to live: the console added ecs:*, the widening this is for.
    assert differs["widens"] is True
    assert differs["widening"] == ["+ Allow ecs:* on * (2 accounts, 3 principals)"]
    assert differs["changes"] == [
        "~ statement Allow ecs:* on *",
        "+ Action ecs:*",
        "- Action ecs:Describe*",
    ]
    assert items["reprovision_required"]["account_id"] in (DEV, PROD)
    text = permctl("drift", "--quiet", file).stdout
    assert "ECS-Admin (ac-ecsadmin00001): ~ statement Allow ecs:* on *; + Action ecs:*" in text
    assert "! widens: + Allow ecs:* on * (2 accounts, 3 principals)" in text


def test_a_saved_plan_applies_its_access_configuration_changes_and_is_refused_once_one_moved(
    emu: Emulator, write: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    file = write(permissions(ecs_admin(session_duration=7200), {"name": "Net-Ops"}))
    saved = tmp_path / "plan.json"
    assert permctl("plan", "--quiet", "--out", saved, file).exit_code == 0
    client(emu).update_access_configuration(
        sso.UpdateAccessConfigurationRequest(
            directory_id=DIRECTORY, access_configuration_id=ECS_ADMIN, new_description="console"
        )
    )
    emu.reset_log()
    refused = permctl("apply", "--quiet", "--plan", saved, file)
    assert refused.exit_code == 1
    assert "access configuration ECS-Admin (ac-ecsadmin00001)" in refused.stderr
    assert writes(emu) == {}
    client(emu).update_access_configuration(
        sso.UpdateAccessConfigurationRequest(
            directory_id=DIRECTORY,
            access_configuration_id=ECS_ADMIN,
            new_description="ECS administrators",
        )
    )
    applied = permctl("apply", "--quiet", "--format", "json", "--plan", saved, file)
    assert applied.exit_code == 0, applied.output
    assert configuration(emu, "ECS-Admin")["session_duration"] == 7200
    assert configuration(emu, "Net-Ops")["session_duration"] == 3600
