"""Resource directory, RAM and STS through their real SDK clients."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_resourcedirectorymaster20220419 import models as rdm
from emulator_support import (
    ALICE,
    CI_ROLE,
    DEV_FOLDER,
    FILLER_ACCOUNTS,
    PROD_FOLDER,
    RD,
    ROOT,
    STS_KEY_ID,
    STS_KEY_SECRET,
    STS_TOKEN,
    TEAM_FOLDER,
    Clients,
    api_error,
    clients,
    org_state,
)

from permctl.emulator import Emulator

ACCOUNTS = FILLER_ACCOUNTS + 3


def all_accounts(sdk: Clients, action: str, page_size: int) -> tuple[list[Any], int]:
    send = getattr(sdk.rd, action)
    request_type = (
        rdm.ListAccountsRequest if action == "list_accounts" else rdm.ListAuthorizedAccountsRequest
    )
    accounts: list[Any] = []
    pages = 0
    while True:
        body = send(request_type(page_number=pages + 1, page_size=page_size)).body
        pages += 1
        assert (body.page_number, body.page_size, body.total_count) == (pages, page_size, ACCOUNTS)
        accounts += body.accounts.account
        if len(accounts) >= body.total_count:
            return accounts, pages


@pytest.mark.parametrize("action", ["list_accounts", "list_authorized_accounts"])
def test_accounts_are_listed_page_by_page(shared_sdk: Clients, action: str) -> None:
    accounts, pages = all_accounts(shared_sdk, action, page_size=5)
    assert pages == 5
    assert len({a.account_id for a in accounts}) == ACCOUNTS


def test_an_account_carries_its_full_folder_path(shared_sdk: Clients) -> None:
    accounts, _ = all_accounts(shared_sdk, "list_accounts", page_size=100)
    team = next(a for a in accounts if a.account_name == "team-app")
    assert team.to_map() == {
        "AccountId": "555500000000abcd",
        "AccountName": "team-app",
        "DisplayName": "team-app",
        "FolderId": TEAM_FOLDER,
        "ResourceDirectoryId": RD,
        "ResourceDirectoryPath": f"{RD}/{ROOT}/{DEV_FOLDER}/{TEAM_FOLDER}/555500000000abcd",
        "Type": "ResourceAccount",
        "Status": "CreateSuccess",
        "JoinMethod": "created",
        "JoinTime": "2024-01-15T08:00:00Z",
        "ModifyTime": "2024-01-15T08:00:00Z",
    }
    filler = next(a for a in accounts if a.account_name == "filler-account-00")
    assert (filler.folder_id, filler.resource_directory_path) == (ROOT, f"{RD}/{ROOT}/900000000000")


@pytest.mark.parametrize(("page_number", "page_size"), [(1, 0), (1, 101), (0, 10)])
def test_pages_are_1_to_100_accounts_from_page_1(
    shared_sdk: Clients, page_number: int, page_size: int
) -> None:
    request = rdm.ListAccountsRequest(page_number=page_number, page_size=page_size)
    error = api_error(lambda: shared_sdk.rd.list_accounts(request))
    assert error.status_code == 400
    assert error.code in ("InvalidParameter.PageSize", "InvalidParameter.PageNumber")


def test_folders_are_listed_and_got_with_their_paths(shared_sdk: Clients) -> None:
    body = shared_sdk.rd.list_authorized_folders(rdm.ListAuthorizedFoldersRequest(page_size=100))
    folders = {f.folder_name: f.resource_directory_path for f in body.body.folders.folder}
    assert folders == {
        "dev": f"{RD}/{ROOT}/{DEV_FOLDER}",
        "team": f"{RD}/{ROOT}/{DEV_FOLDER}/{TEAM_FOLDER}",
        "production": f"{RD}/{ROOT}/{PROD_FOLDER}",
    }
    children = shared_sdk.rd.list_folders_for_parent(
        rdm.ListFoldersForParentRequest(parent_folder_id=ROOT)
    ).body.folders.folder
    assert [f.folder_id for f in children] == [DEV_FOLDER, PROD_FOLDER]
    team = shared_sdk.rd.get_folder(rdm.GetFolderRequest(folder_id=TEAM_FOLDER)).body.folder
    assert (team.folder_name, team.parent_folder_id) == ("team", DEV_FOLDER)
    error = api_error(lambda: shared_sdk.rd.get_folder(rdm.GetFolderRequest(folder_id="fd-x")))
    assert (error.code, error.status_code) == ("EntityNotExists.Folder", 404)


def test_without_a_resource_directory_its_listings_say_so() -> None:
    state = org_state()
    del state["resource_directory"]
    del state["cloudsso"]
    with Emulator(state) as emu:
        sdk = clients(emu)
        error = api_error(lambda: sdk.rd.list_accounts(rdm.ListAccountsRequest()))
    assert (error.code, error.status_code) == ("EntityNotExists.ResourceDirectory", 404)


def test_ram_users_and_roles_are_got_by_name(shared_sdk: Clients) -> None:
    user = shared_sdk.ram.get_user(ram.GetUserRequest(user_name="alice")).body.user
    role = shared_sdk.ram.get_role(ram.GetRoleRequest(role_name="ci-deployer")).body.role
    assert (user.user_id, user.user_name, user.display_name) == (ALICE, "alice", "Alice Chen")
    assert (role.role_id, role.role_name) == (CI_ROLE, "ci-deployer")
    assert role.arn == "acs:ram::1000000000000001:role/ci-deployer"


def test_missing_ram_principals_are_404(shared_sdk: Clients) -> None:
    user = api_error(lambda: shared_sdk.ram.get_user(ram.GetUserRequest(user_name="nobody")))
    role = api_error(lambda: shared_sdk.ram.get_role(ram.GetRoleRequest(role_name="nobody")))
    assert (user.code, user.status_code) == ("EntityNotExist.User", 404)
    assert (role.code, role.status_code) == ("EntityNotExist.Role", 404)


def test_ram_users_are_listed_by_marker(shared_sdk: Clients) -> None:
    names: list[str] = []
    marker = None
    while True:
        request = ram.ListUsersRequest(marker=marker, max_items=30)
        body = shared_sdk.ram.list_users(request).body
        names += [u.user_name for u in body.users.user]
        if not body.is_truncated:
            break
        marker = body.marker
    assert names[:3] == ["alice", "bob", "carol"]
    assert len(names) == len(set(names)) == 67


def test_the_caller_identity_follows_the_access_key(shared: Emulator, shared_sdk: Clients) -> None:
    account = shared_sdk.sts.get_caller_identity().body
    assert (account.identity_type, account.account_id) == ("Account", "1000000000000001")
    alice = clients(shared, "permctl-alice-key", "alice-secret-not-real").sts.get_caller_identity()
    assert (alice.body.identity_type, alice.body.user_id) == ("RAMUser", ALICE)
    role = clients(shared, STS_KEY_ID, STS_KEY_SECRET, STS_TOKEN).sts.get_caller_identity().body
    assert (role.identity_type, role.role_id) == ("AssumedRoleUser", CI_ROLE)
    assert role.arn == "acs:ram::1000000000000001:assumed-role/ci-deployer/permctl"
