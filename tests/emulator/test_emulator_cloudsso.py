"""CloudSSO through the real cloudsso SDK client: listings, filters, pagination, assignments
and the tasks that change them."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_cloudsso20210515 import models as sso
from emulator_support import (
    BILLING,
    BUSY_ACCOUNT,
    BUSY_ASSIGNMENTS,
    DEV_FOLDER,
    DEV_TEST,
    DEVELOPERS,
    DIRECTORY,
    ECS_ADMIN,
    PLATFORM,
    PLATFORM_FILLERS,
    RD,
    ROOT,
    SSO_ALICE,
    SSO_BOB,
    Clients,
    api_error,
    org_state,
)
from manual_clock import ManualClock

from permctl.emulator import AssignmentKey, AssignmentWrite, Emulator
from permctl.emulator.schema import StateFileError

TARGET = {"target_type": "RD-Account"}


def list_all(sdk: Clients, token: str | None = None, **filters: Any) -> tuple[list[Any], int]:
    """Every assignment matching `filters` (from `token` on), page by page of 20, the most."""
    entries: list[Any] = []
    pages = 0
    while True:
        request = sso.ListAccessAssignmentsRequest(
            directory_id=DIRECTORY, max_results=20, next_token=token, **filters
        )
        body = sdk.cloudsso.list_access_assignments(request).body
        entries += body.access_assignments
        pages += 1
        assert body.total_counts >= len(entries)
        if not body.is_truncated:
            return entries, pages
        token = body.next_token


def keys(entries: list[Any]) -> set[tuple[str, str, str, str]]:
    return {
        (e.access_configuration_id, e.target_id, e.principal_type, e.principal_id) for e in entries
    }


# -- directories, users, groups, access configurations ---------------------------------------


def test_directories_are_listed(shared_sdk: Clients) -> None:
    body = shared_sdk.cloudsso.list_directories().body
    assert [(d.directory_id, d.directory_name) for d in body.directories] == [
        (DIRECTORY, "example-directory")
    ]
    assert body.total_counts == 1


def test_users_are_listed_page_by_page(shared_sdk: Clients) -> None:
    names: list[str] = []
    token, pages = None, 0
    while True:
        request = sso.ListUsersRequest(directory_id=DIRECTORY, max_results=50, next_token=token)
        body = shared_sdk.cloudsso.list_users(request).body
        names += [u.user_name for u in body.users]
        pages += 1
        assert body.total_counts == 124
        if not body.is_truncated:
            break
        token = body.next_token
    assert (pages, len(names), len(set(names))) == (3, 124, 124)
    assert names[:4] == ["alice", "bob", 'o"brien the "admin"', "mary ann"]


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("UserName eq alice", ["alice"]),
        ('UserName eq "mary ann"', ["mary ann"]),
        ('UserName eq "o\\"brien the \\"admin\\""', ['o"brien the "admin"']),
        ("UserName eq nobody", []),
        ("UserName sw filler-11", [f"filler-11{i}" for i in range(10)]),
        ('UserName sw "ma"', ["mary ann"]),
        ("UserName eq 张伟 ~*'()&=+%", []),  # signed and read back as the SDK encodes them
    ],
)
def test_users_are_filtered_by_name(shared_sdk: Clients, expression: str, found: list[str]) -> None:
    request = sso.ListUsersRequest(directory_id=DIRECTORY, filter=expression, max_results=100)
    body = shared_sdk.cloudsso.list_users(request).body
    assert [u.user_name for u in body.users] == found
    assert body.total_counts == len(found)


@pytest.mark.parametrize(
    "expression", ["UserName", "UserName like alice", "Email eq a@b.c", 'UserName eq "open']
)
def test_a_malformed_filter_is_refused(shared_sdk: Clients, expression: str) -> None:
    request = sso.ListUsersRequest(directory_id=DIRECTORY, filter=expression)
    error = api_error(lambda: shared_sdk.cloudsso.list_users(request))
    assert (error.code, error.status_code) == ("InvalidParameter.Filter", 400)


def test_quoted_values_can_be_taken_literally_or_refused(emu: Emulator, sdk: Clients) -> None:
    def names(expression: str) -> list[str]:
        request = sso.ListUsersRequest(directory_id=DIRECTORY, filter=expression)
        return [u.user_name for u in sdk.cloudsso.list_users(request).body.users]

    emu.set_knobs(filter_quotes="literal")
    assert names('UserName eq "alice"') == []
    assert names("UserName eq mary ann") == ["mary ann"]
    emu.set_knobs(filter_quotes="reject")
    error = api_error(lambda: names('UserName eq "alice"'))
    assert (error.code, error.status_code) == ("InvalidParameter.Filter", 400)
    assert names("UserName eq alice") == ["alice"]


def test_groups_and_access_configurations_are_filtered_by_their_names(
    shared_sdk: Clients,
) -> None:
    groups = shared_sdk.cloudsso.list_groups(
        sso.ListGroupsRequest(directory_id=DIRECTORY, filter="GroupName sw platform")
    ).body.groups
    assert [g.group_name for g in groups] == ["platform-admins", "platform-ops"]
    configurations = shared_sdk.cloudsso.list_access_configurations(
        sso.ListAccessConfigurationsRequest(
            directory_id=DIRECTORY, filter="AccessConfigurationName eq ECS-Admin"
        )
    ).body.access_configurations
    assert [(c.access_configuration_id, c.access_configuration_name) for c in configurations] == [
        (ECS_ADMIN, "ECS-Admin")
    ]


def test_each_kind_is_got_by_id(shared_sdk: Clients) -> None:
    client = shared_sdk.cloudsso
    user = client.get_user(sso.GetUserRequest(directory_id=DIRECTORY, user_id=SSO_BOB)).body.user
    group = client.get_group(sso.GetGroupRequest(directory_id=DIRECTORY, group_id=PLATFORM))
    configuration = client.get_access_configuration(
        sso.GetAccessConfigurationRequest(directory_id=DIRECTORY, access_configuration_id=BILLING)
    )
    assert (user.user_id, user.user_name, user.status) == (SSO_BOB, "bob", "Enabled")
    assert group.body.group.group_name == "platform-admins"
    assert configuration.body.access_configuration.access_configuration_name == "Billing"


def test_what_does_not_exist_has_its_own_error_code(shared_sdk: Clients) -> None:
    client = shared_sdk.cloudsso
    missing = {
        "EntityNotExists.User": lambda: client.get_user(
            sso.GetUserRequest(directory_id=DIRECTORY, user_id="u-nobody")
        ),
        "EntityNotExists.Group": lambda: client.get_group(
            sso.GetGroupRequest(directory_id=DIRECTORY, group_id="g-nobody")
        ),
        "EntityNotExists.AccessConfiguration": lambda: client.get_access_configuration(
            sso.GetAccessConfigurationRequest(
                directory_id=DIRECTORY, access_configuration_id="ac-x"
            )
        ),
        "EntityNotExists.Directory": lambda: client.list_users(
            sso.ListUsersRequest(directory_id="d-nowhere")
        ),
        "EntityNotExists.Task": lambda: client.get_task_status(
            sso.GetTaskStatusRequest(directory_id=DIRECTORY, task_id="t-nothing")
        ),
    }
    for code, call in missing.items():
        error = api_error(call)
        assert (error.code, error.status_code) == (code, 404)


@pytest.mark.parametrize("max_results", [0, 101])
def test_directory_listings_take_1_to_100_results(shared_sdk: Clients, max_results: int) -> None:
    request = sso.ListGroupsRequest(directory_id=DIRECTORY, max_results=max_results)
    error = api_error(lambda: shared_sdk.cloudsso.list_groups(request))
    assert (error.code, error.status_code) == ("InvalidParameter.MaxResults", 400)


# -- access assignments --------------------------------------------------------------------


def test_assignments_of_a_busy_account_take_three_pages_of_20(
    shared: Emulator, shared_sdk: Clients
) -> None:
    shared.reset_log()
    entries, pages = list_all(shared_sdk, target_id=BUSY_ACCOUNT, **TARGET)
    assert (pages, len(entries), len(keys(entries))) == (
        3,
        BUSY_ASSIGNMENTS + 2,
        BUSY_ASSIGNMENTS + 2,
    )
    assert shared.count("ListAccessAssignments") == 3
    assert [c.params["MaxResults"] for c in shared.calls] == ["20"] * 3


def test_an_assignment_carries_every_name_and_path(shared_sdk: Clients) -> None:
    entries, _ = list_all(
        shared_sdk, target_id=DEV_TEST, principal_type="User", principal_id=SSO_ALICE, **TARGET
    )
    assert [e.to_map() for e in entries] == [
        {
            "AccessConfigurationId": ECS_ADMIN,
            "AccessConfigurationName": "ECS-Admin",
            "CreateTime": "2024-01-15T08:00:00Z",
            "PrincipalId": SSO_ALICE,
            "PrincipalName": "alice",
            "PrincipalType": "User",
            "TargetId": DEV_TEST,
            "TargetName": "dev-test",
            "TargetPath": f"{RD}/{ROOT}/{DEV_FOLDER}/{DEV_TEST}",
            "TargetPathName": f"{RD}/root/dev/dev-test",
            "TargetType": "RD-Account",
        }
    ]


def test_the_default_page_is_10_and_the_whole_directory_is_listed_without_filters(
    shared_sdk: Clients,
) -> None:
    request = sso.ListAccessAssignmentsRequest(directory_id=DIRECTORY)
    body = shared_sdk.cloudsso.list_access_assignments(request).body
    assert (len(body.access_assignments), body.max_results, body.is_truncated) == (10, 10, True)
    assert body.total_counts == BUSY_ASSIGNMENTS + 5


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"target_type": "RD-Account", "target_id": DEV_TEST}, 3),
        ({"target_id": DEV_TEST}, BUSY_ASSIGNMENTS + 5),  # half a filter is no filter
        ({"target_type": "RD-Account"}, BUSY_ASSIGNMENTS + 5),
        ({"principal_type": "Group", "principal_id": PLATFORM}, 2),
        ({"principal_id": PLATFORM}, BUSY_ASSIGNMENTS + 5),
        ({"principal_type": "Group"}, BUSY_ASSIGNMENTS + 5),
        ({"access_configuration_id": ECS_ADMIN}, 3),
        ({"access_configuration_id": ECS_ADMIN, "target_type": "RD-Account", "target_id": DEV_TEST,
          "principal_type": "Group", "principal_id": PLATFORM}, 1),
        ({"target_type": "RD-Account", "target_id": "000000000000"}, 0),
    ],
)  # fmt: skip
def test_each_filter_applies_only_when_both_halves_are_given(
    shared_sdk: Clients, filters: dict[str, str], expected: int
) -> None:
    entries, _ = list_all(shared_sdk, **filters)
    assert len(entries) == expected


@pytest.mark.parametrize("max_results", [0, 21])
def test_assignments_take_1_to_20_results_a_page(shared_sdk: Clients, max_results: int) -> None:
    request = sso.ListAccessAssignmentsRequest(directory_id=DIRECTORY, max_results=max_results)
    error = api_error(lambda: shared_sdk.cloudsso.list_access_assignments(request))
    assert (error.code, error.status_code) == ("InvalidParameter.MaxResults", 400)


def test_the_last_page_token_leads_nowhere_and_native_shapes_leave_it_out(
    emu: Emulator, sdk: Clients
) -> None:
    request = sso.ListAccessAssignmentsRequest(
        directory_id=DIRECTORY, max_results=20, target_id=DEV_TEST, **TARGET
    )
    last = sdk.cloudsso.list_access_assignments(request).body
    assert (last.is_truncated, bool(last.next_token)) == (False, True)
    request.next_token = last.next_token
    after = sdk.cloudsso.list_access_assignments(request).body
    assert (after.access_assignments, after.is_truncated) == ([], False)
    emu.set_knobs(native_shapes=True)
    request.next_token = None
    assert sdk.cloudsso.list_access_assignments(request).body.next_token is None


def test_a_forged_next_token_is_refused(shared_sdk: Clients) -> None:
    request = sso.ListAccessAssignmentsRequest(directory_id=DIRECTORY, next_token="page-2")
    error = api_error(lambda: shared_sdk.cloudsso.list_access_assignments(request))
    assert (error.code, error.status_code) == ("InvalidParameter.NextToken", 400)


def test_paging_survives_deletions_between_pages(emu: Emulator, sdk: Clients) -> None:
    """Tokens are cursors, not offsets: removing what was already read skips nothing."""
    everything = keys(list_all(sdk, target_id=BUSY_ACCOUNT, **TARGET)[0])
    request = sso.ListAccessAssignmentsRequest(
        directory_id=DIRECTORY, target_id=BUSY_ACCOUNT, max_results=20, **TARGET
    )
    first = sdk.cloudsso.list_access_assignments(request).body
    emu.set_knobs(task_delay_s=60)
    for entry in first.access_assignments[:5]:
        sdk.cloudsso.delete_access_assignment(delete_request(entry))
    assert emu.complete_pending_tasks() == 5
    rest, _ = list_all(sdk, first.next_token, target_id=BUSY_ACCOUNT, **TARGET)
    assert keys(first.access_assignments) | keys(rest) == everything
    assert len(rest) == len(everything) - 20


def delete_request(entry: Any) -> sso.DeleteAccessAssignmentRequest:
    return sso.DeleteAccessAssignmentRequest(
        directory_id=DIRECTORY,
        access_configuration_id=entry.access_configuration_id,
        target_type="RD-Account",
        target_id=entry.target_id,
        principal_type=entry.principal_type,
        principal_id=entry.principal_id,
    )


# -- tasks ---------------------------------------------------------------------------------

NEW = {
    "access_configuration_id": BILLING,
    "target_id": DEV_TEST,
    "principal_type": "Group",
    "principal_id": DEVELOPERS,
}


def create(sdk: Clients, **overrides: str) -> Any:
    request = sso.CreateAccessAssignmentRequest(
        directory_id=DIRECTORY, **{**TARGET, **NEW, **overrides}
    )
    return sdk.cloudsso.create_access_assignment(request).body.task


def delete(sdk: Clients, strategy: str | None = None, **fields: str) -> Any:
    request = sso.DeleteAccessAssignmentRequest(
        directory_id=DIRECTORY, deprovision_strategy=strategy, **{**TARGET, **fields}
    )
    return sdk.cloudsso.delete_access_assignment(request).body.task


def task_status(sdk: Clients, task_id: str) -> Any:
    request = sso.GetTaskStatusRequest(directory_id=DIRECTORY, task_id=task_id)
    return sdk.cloudsso.get_task_status(request).body.task_status


def on_dev_test(sdk: Clients) -> set[tuple[str, str, str, str]]:
    return keys(list_all(sdk, target_id=DEV_TEST, **TARGET)[0])


NEW_KEY = (BILLING, DEV_TEST, "Group", DEVELOPERS)


def test_a_created_assignment_is_visible_only_once_its_task_succeeds(
    frozen: Emulator, frozen_sdk: Clients, clock: ManualClock
) -> None:
    emu, sdk = frozen, frozen_sdk
    emu.set_knobs(task_delay_s=0.5)
    task = create(sdk)
    assert (task.status, task.task_type) == ("InProgress", "CreateAccessAssignment")
    assert (task.access_configuration_name, task.target_name, task.principal_name) == (
        "Billing",
        "dev-test",
        "developers",
    )
    assert task_status(sdk, task.task_id).status == "InProgress"
    assert NEW_KEY not in on_dev_test(sdk)
    clock.advance(0.25)
    assert task_status(sdk, task.task_id).status == "InProgress"
    clock.advance(0.25)
    status = task_status(sdk, task.task_id)
    assert (status.status, status.task_type, status.failure_reason) == (
        "Success",
        "CreateAccessAssignment",
        None,
    )
    assert NEW_KEY in on_dev_test(sdk)
    (write,) = emu.writes
    assert write == AssignmentWrite(
        task.task_id,
        emu.calls[0].request_id,
        "CreateAccessAssignment",
        DIRECTORY,
        AssignmentKey(*NEW_KEY),
        "Success",
        None,
        None,
    )


def test_with_no_delay_a_task_completes_by_the_next_call(sdk: Clients) -> None:
    task = create(sdk)
    assert task.status == "InProgress"
    assert task_status(sdk, task.task_id).status == "Success"


def test_a_deleted_assignment_is_gone_once_its_task_succeeds(emu: Emulator, sdk: Clients) -> None:
    existing = dict(zip(NEW, (ECS_ADMIN, DEV_TEST, "User", SSO_ALICE), strict=True))
    task = delete(sdk, "DeprovisionForLastAccessAssignmentOnAccount", **existing)
    assert task_status(sdk, task.task_id).status == "Success"
    assert (ECS_ADMIN, DEV_TEST, "User", SSO_ALICE) not in on_dev_test(sdk)
    (write,) = emu.writes
    assert isinstance(write, AssignmentWrite)
    assert write.deprovision_strategy == "DeprovisionForLastAccessAssignmentOnAccount"


def test_a_failed_task_changes_nothing_and_says_why(emu: Emulator, sdk: Clients) -> None:
    emu.set_knobs(task_failure_rate=1.0)
    task = create(sdk)
    status = task_status(sdk, task.task_id)
    assert status.status == "Failed"
    assert status.failure_reason
    assert NEW_KEY not in on_dev_test(sdk)
    assert [w.status for w in emu.writes if isinstance(w, AssignmentWrite)] == ["Failed"]


def test_a_second_change_while_a_task_runs_is_a_conflict(emu: Emulator, sdk: Clients) -> None:
    emu.set_knobs(task_delay_s=60)
    create(sdk)
    error = api_error(lambda: create(sdk))
    assert (error.code, error.status_code) == ("OperationConflict.Task", 409)
    assert emu.complete_pending_tasks() == 1
    assert NEW_KEY in on_dev_test(sdk)


def test_creating_what_exists_and_deleting_what_does_not_are_refused(sdk: Clients) -> None:
    duplicate = api_error(
        lambda: create(sdk, access_configuration_id=ECS_ADMIN, principal_id=PLATFORM)
    )
    absent = api_error(lambda: delete(sdk, **NEW))
    assert (duplicate.code, duplicate.status_code) == ("EntityAlreadyExists.AccessAssignment", 409)
    assert (absent.code, absent.status_code) == ("EntityNotExists.AccessAssignment", 404)


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"access_configuration_id": "ac-missing"}, "EntityNotExists.AccessConfiguration", 404),
        ({"target_id": "999999999999"}, "EntityNotExists.Account", 404),
        ({"principal_id": "g-missing"}, "EntityNotExists.Group", 404),
        ({"principal_type": "User", "principal_id": "u-missing"}, "EntityNotExists.User", 404),
        ({"principal_type": "Robot"}, "InvalidParameter.PrincipalType", 400),
        ({"target_type": "RD-Folder"}, "InvalidParameter.TargetType", 400),
    ],
)
def test_a_change_naming_what_does_not_exist_is_refused(
    emu: Emulator, sdk: Clients, overrides: dict[str, str], code: str, status: int
) -> None:
    error = api_error(lambda: create(sdk, **overrides))
    assert (error.code, error.status_code) == (code, status)
    assert emu.complete_pending_tasks() == 0


def test_an_unknown_deprovision_strategy_is_refused(sdk: Clients) -> None:
    error = api_error(lambda: delete(sdk, "Everything", **NEW))
    assert (error.code, error.status_code) == ("InvalidParameter.DeprovisionStrategy", 400)


# -- group memberships ---------------------------------------------------------------------


def test_group_members_are_listed_page_by_page_as_the_sdk_models_them(
    shared_sdk: Clients,
) -> None:
    members: list[Any] = []
    token, pages = None, 0
    while True:
        request = sso.ListGroupMembersRequest(
            directory_id=DIRECTORY, group_id=PLATFORM, next_token=token
        )
        body = shared_sdk.cloudsso.list_group_members(request).body
        members += body.group_members
        pages += 1
        assert (body.total_counts, body.max_results) == (PLATFORM_FILLERS + 1, 10)
        if not body.is_truncated:
            break
        token = body.next_token
    assert pages == 3
    assert [m.user_id for m in members][:2] == [SSO_ALICE, "u-filler000000"]
    assert len({m.user_id for m in members}) == PLATFORM_FILLERS + 1
    first = members[0].to_map()
    assert first == {
        "Description": "",
        "DisplayName": "alice",
        "Email": "",
        "GroupId": PLATFORM,
        "JoinTime": "2024-01-15T08:00:00Z",
        "ProvisionType": "Manual",
        "Status": "Enabled",
        "UserId": SSO_ALICE,
        "UserName": "alice",
    }


def test_a_users_joined_groups_are_listed_with_their_names(shared_sdk: Clients) -> None:
    request = sso.ListJoinedGroupsForUserRequest(
        directory_id=DIRECTORY, user_id=SSO_ALICE, max_results=1
    )
    first = shared_sdk.cloudsso.list_joined_groups_for_user(request).body
    assert (first.total_counts, first.is_truncated) == (2, True)
    request.next_token = first.next_token
    second = shared_sdk.cloudsso.list_joined_groups_for_user(request).body
    assert second.is_truncated is False
    assert [
        (g.group_id, g.group_name, g.user_id) for g in [*first.joined_groups, *second.joined_groups]
    ] == [
        (PLATFORM, "platform-admins", SSO_ALICE),
        (DEVELOPERS, "developers", SSO_ALICE),
    ]


def test_memberships_of_what_does_not_exist_are_refused(shared_sdk: Clients) -> None:
    client = shared_sdk.cloudsso
    group = api_error(
        lambda: client.list_group_members(
            sso.ListGroupMembersRequest(directory_id=DIRECTORY, group_id="g-nobody")
        )
    )
    user = api_error(
        lambda: client.list_joined_groups_for_user(
            sso.ListJoinedGroupsForUserRequest(directory_id=DIRECTORY, user_id="u-nobody")
        )
    )
    assert (group.code, group.status_code) == ("EntityNotExists.Group", 404)
    assert (user.code, user.status_code) == ("EntityNotExists.User", 404)


def test_a_group_member_must_be_a_user_of_the_directory() -> None:
    state = org_state()
    state["cloudsso"]["directories"][0]["groups"][1]["members"].append("u-ghost")
    with pytest.raises(StateFileError, match="group 'g-developers01' has unknown member 'u-ghost'"):
        Emulator(state)
