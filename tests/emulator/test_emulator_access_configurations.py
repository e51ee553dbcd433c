"""CloudSSO access configurations through the real cloudsso SDK client: their attributes and
policies, provisioning on accounts, and the refusals the real service makes."""

from __future__ import annotations

import json

import pytest
from alibabacloud_cloudsso20210515 import models as sso
from emulator_support import (
    BUSY_ACCOUNT,
    DEV_TEST,
    DIRECTORY,
    ECS_ADMIN,
    PLATFORM,
    SSO_ALICE,
    Clients,
    api_error,
)

from permctl.emulator import Emulator, Knobs, ProvisioningKey, ProvisioningWrite

POLICY = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}
TARGET = {"target_type": "RD-Account"}


def create(sdk: Clients, name: str, **fields: object) -> str:
    request = sso.CreateAccessConfigurationRequest(
        directory_id=DIRECTORY, access_configuration_name=name, **fields
    )
    body = sdk.cloudsso.create_access_configuration(request).body
    return str(body.access_configuration.access_configuration_id)


def get(
    sdk: Clients, configuration_id: str
) -> sso.GetAccessConfigurationResponseBodyAccessConfiguration:
    request = sso.GetAccessConfigurationRequest(
        directory_id=DIRECTORY, access_configuration_id=configuration_id
    )
    return sdk.cloudsso.get_access_configuration(request).body.access_configuration


def policies(sdk: Clients, configuration_id: str) -> list[tuple[str, str, object]]:
    request = sso.ListPermissionPoliciesInAccessConfigurationRequest(
        directory_id=DIRECTORY, access_configuration_id=configuration_id
    )
    body = sdk.cloudsso.list_permission_policies_in_access_configuration(request).body
    assert body.total_counts == len(body.permission_policies)
    return [
        (
            p.permission_policy_type,
            p.permission_policy_name,
            json.loads(p.permission_policy_document) if p.permission_policy_document else None,
        )
        for p in body.permission_policies
    ]


def add_policy(
    sdk: Clients, configuration_id: str, kind: str, name: str, document: str | None = None
) -> None:
    request = sso.AddPermissionPolicyToAccessConfigurationRequest(
        directory_id=DIRECTORY,
        access_configuration_id=configuration_id,
        permission_policy_type=kind,
        permission_policy_name=name,
        inline_policy_document=document,
    )
    sdk.cloudsso.add_permission_policy_to_access_configuration(request)


def provisionings(sdk: Clients, **filters: object) -> dict[tuple[str, str], str]:
    request = sso.ListAccessConfigurationProvisioningsRequest(
        directory_id=DIRECTORY, max_results=20, **filters
    )
    body = sdk.cloudsso.list_access_configuration_provisionings(request).body
    return {
        (p.access_configuration_id, p.target_id): p.status
        for p in body.access_configuration_provisionings
    }


def provision(
    sdk: Clients, configuration_id: str, account: str
) -> sso.ProvisionAccessConfigurationResponseBodyTasks:
    request = sso.ProvisionAccessConfigurationRequest(
        directory_id=DIRECTORY,
        access_configuration_id=configuration_id,
        target_id=account,
        **TARGET,
    )
    (task,) = sdk.cloudsso.provision_access_configuration(request).body.tasks
    return task


def task_status(sdk: Clients, task_id: str) -> sso.GetTaskStatusResponseBodyTaskStatus:
    request = sso.GetTaskStatusRequest(directory_id=DIRECTORY, task_id=task_id)
    return sdk.cloudsso.get_task_status(request).body.task_status


def test_created_access_configuration_reads_back_with_its_attributes(sdk: Clients) -> None:
    configuration_id = create(
        sdk,
        "Net-Admin",
        description="VPC",
        session_duration=7200,
        relay_state="https://vpc.console.aliyun.com/",
    )
    got = get(sdk, configuration_id)
    assert (
        got.access_configuration_name,
        got.description,
        got.session_duration,
        got.relay_state,
    ) == (
        "Net-Admin",
        "VPC",
        7200,
        "https://vpc.console.aliyun.com/",
    )
    assert got.status_notifications == []
    listed = sdk.cloudsso.list_access_configurations(
        sso.ListAccessConfigurationsRequest(
            directory_id=DIRECTORY, filter="AccessConfigurationName eq Net-Admin"
        )
    ).body.access_configurations
    assert [c.access_configuration_id for c in listed] == [configuration_id]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"session_duration": 899}, "InvalidParameter.SessionDuration"),
        ({"session_duration": 43201}, "InvalidParameter.SessionDuration"),
        ({"description": "x" * 1025}, "InvalidParameter.Description"),
    ],
)
def test_create_refuses_attributes_out_of_range(
    sdk: Clients, fields: dict[str, object], code: str
) -> None:
    assert api_error(lambda: create(sdk, "Bad", **fields)).code == code


def test_create_refuses_a_taken_name_and_a_malformed_one(sdk: Clients) -> None:
    assert (
        api_error(lambda: create(sdk, "ecs-admin")).code
        == "EntityAlreadyExists.AccessConfiguration"
    )
    bad = api_error(lambda: create(sdk, "has space"))
    assert bad.code == "InvalidParameter.AccessConfigurationName"


def test_update_changes_only_the_attributes_given(sdk: Clients) -> None:
    configuration_id = create(sdk, "Ops", description="ops", session_duration=1800)
    sdk.cloudsso.update_access_configuration(
        sso.UpdateAccessConfigurationRequest(
            directory_id=DIRECTORY,
            access_configuration_id=configuration_id,
            new_session_duration=900,
        )
    )
    got = get(sdk, configuration_id)
    assert (got.description, got.session_duration, got.relay_state) == ("ops", 900, "")


def test_policies_are_added_listed_updated_and_removed(sdk: Clients) -> None:
    configuration_id = create(sdk, "Pol")
    add_policy(sdk, configuration_id, "System", "AliyunECSFullAccess")
    add_policy(sdk, configuration_id, "Inline", "Custom", json.dumps(POLICY))
    assert policies(sdk, configuration_id) == [
        ("System", "AliyunECSFullAccess", None),
        ("Inline", "Custom", POLICY),
    ]
    again = api_error(lambda: add_policy(sdk, configuration_id, "System", "AliyunECSFullAccess"))
    assert again.code == "EntityAlreadyExists.PermissionPolicy"
    narrower = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "ecs:Describe*"}]}
    sdk.cloudsso.update_inline_policy_for_access_configuration(
        sso.UpdateInlinePolicyForAccessConfigurationRequest(
            directory_id=DIRECTORY,
            access_configuration_id=configuration_id,
            inline_policy_name="Custom",
            new_inline_policy_document=json.dumps(narrower),
        )
    )
    sdk.cloudsso.remove_permission_policy_from_access_configuration(
        sso.RemovePermissionPolicyFromAccessConfigurationRequest(
            directory_id=DIRECTORY,
            access_configuration_id=configuration_id,
            permission_policy_type="System",
            permission_policy_name="AliyunECSFullAccess",
        )
    )
    assert policies(sdk, configuration_id) == [("Inline", "Custom", narrower)]


def test_an_inline_policy_over_4096_characters_is_refused(sdk: Clients) -> None:
    configuration_id = create(sdk, "Big")
    statement = {
        "Effect": "Allow",
        "Action": [f"ecs:Action{i:04d}" for i in range(300)],
        "Resource": "*",
    }
    document = json.dumps({"Version": "1", "Statement": [statement]})
    assert len(document) > 4096
    error = api_error(lambda: add_policy(sdk, configuration_id, "Inline", "Big", document))
    assert error.code == "InvalidParameter.InlinePolicyDocument"
    assert policies(sdk, configuration_id) == []


def test_an_assignment_provisions_its_access_configuration_on_its_account(sdk: Clients) -> None:
    configuration_id = create(sdk, "Fresh")
    sdk.cloudsso.create_access_assignment(
        sso.CreateAccessAssignmentRequest(
            directory_id=DIRECTORY,
            access_configuration_id=configuration_id,
            target_id=DEV_TEST,
            principal_type="User",
            principal_id=SSO_ALICE,
            **TARGET,
        )
    )
    assert provisionings(sdk, access_configuration_id=configuration_id) == {
        (configuration_id, DEV_TEST): "Provisioned"
    }


def test_a_change_needs_reprovisioning_everywhere_until_provisioned_again(
    emu: Emulator, sdk: Clients
) -> None:
    add_policy(sdk, ECS_ADMIN, "System", "AliyunECSFullAccess")
    assert provisionings(sdk, access_configuration_id=ECS_ADMIN) == {
        (ECS_ADMIN, DEV_TEST): "ReprovisionRequired",
        (ECS_ADMIN, BUSY_ACCOUNT): "ReprovisionRequired",
    }
    assert get(sdk, ECS_ADMIN).status_notifications == ["ReprovisionRequired"]
    task = provision(sdk, ECS_ADMIN, DEV_TEST)
    assert (task.task_type, task.status, task.target_name) == (
        "ProvisionAccessConfiguration",
        "InProgress",
        "dev-test",
    )
    assert task_status(sdk, task.task_id).status == "Success"
    assert provisionings(sdk, provisioning_status="ReprovisionRequired") == {
        (ECS_ADMIN, BUSY_ACCOUNT): "ReprovisionRequired"
    }
    (write,) = [w for w in emu.writes if isinstance(w, ProvisioningWrite)]
    assert write.provisioning == ProvisioningKey(ECS_ADMIN, DEV_TEST)


def test_a_failed_provisioning_task_says_why_and_leaves_it_to_be_reprovisioned(
    emu: Emulator, sdk: Clients
) -> None:
    add_policy(sdk, ECS_ADMIN, "System", "AliyunECSFullAccess")
    emu.set_knobs(task_failure_rate=1.0)
    status = task_status(sdk, provision(sdk, ECS_ADMIN, DEV_TEST).task_id)
    assert status.status == "Failed"
    assert status.failure_reason
    assert provisionings(sdk, target_id=DEV_TEST, **TARGET)[(ECS_ADMIN, DEV_TEST)] == (
        "ReprovisionRequired"
    )


def test_an_access_configuration_in_use_cannot_be_deleted(sdk: Clients) -> None:
    def delete() -> object:
        return sdk.cloudsso.delete_access_configuration(
            sso.DeleteAccessConfigurationRequest(
                directory_id=DIRECTORY, access_configuration_id=ECS_ADMIN
            )
        )

    assert api_error(delete).code == "DeletionConflict.AccessConfiguration.AccessAssignment"
    for account, kind, principal in (
        (DEV_TEST, "User", SSO_ALICE),
        (DEV_TEST, "Group", PLATFORM),
        (BUSY_ACCOUNT, "Group", PLATFORM),
    ):
        sdk.cloudsso.delete_access_assignment(
            sso.DeleteAccessAssignmentRequest(
                directory_id=DIRECTORY,
                access_configuration_id=ECS_ADMIN,
                target_id=account,
                principal_type=kind,
                principal_id=principal,
                deprovision_strategy="None",
                **TARGET,
            )
        )
    assert api_error(delete).code == "DeletionConflict.AccessConfiguration.Provisioning"
    assert get(sdk, ECS_ADMIN).access_configuration_id == ECS_ADMIN


def test_deleting_the_last_assignment_deprovisions_and_frees_it_for_deletion(sdk: Clients) -> None:
    configuration_id = create(sdk, "Short-Lived")
    fields = {
        "directory_id": DIRECTORY,
        "access_configuration_id": configuration_id,
        "target_id": DEV_TEST,
        "principal_type": "User",
        "principal_id": SSO_ALICE,
        **TARGET,
    }
    sdk.cloudsso.create_access_assignment(sso.CreateAccessAssignmentRequest(**fields))
    sdk.cloudsso.delete_access_assignment(
        sso.DeleteAccessAssignmentRequest(
            **fields, deprovision_strategy="DeprovisionForLastAccessAssignmentOnAccount"
        )
    )
    assert provisionings(sdk, access_configuration_id=configuration_id) == {}
    sdk.cloudsso.delete_access_configuration(
        sso.DeleteAccessConfigurationRequest(
            directory_id=DIRECTORY, access_configuration_id=configuration_id
        )
    )
    assert (
        api_error(lambda: get(sdk, configuration_id)).code == "EntityNotExists.AccessConfiguration"
    )


def test_dump_keeps_policies_and_provisioning_status(emu: Emulator, sdk: Clients) -> None:
    add_policy(sdk, ECS_ADMIN, "Inline", "Custom", json.dumps(POLICY))
    (directory,) = emu.dump()["cloudsso"]["directories"]
    ecs = next(c for c in directory["access_configurations"] if c["id"] == ECS_ADMIN)
    assert json.loads(ecs["inline_policy"]) == POLICY
    with Emulator(emu.dump(), knobs=Knobs()) as again:
        assert (
            again.state.directories[DIRECTORY]
            .provisionings[ProvisioningKey(ECS_ADMIN, DEV_TEST)]
            .status
            == "ReprovisionRequired"
        )
