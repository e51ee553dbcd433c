"""The providers over HTTP against the emulator, with the real SDK and no mocks."""

from __future__ import annotations

import json
import logging

import pytest
from emulated_org import (
    ALICE,
    BOB,
    BUSY_ACCOUNT_ASSIGNMENTS,
    CI,
    DEV_ACCOUNT,
    DEV_FOLDER,
    DIRECTORY,
    ECS_ADMIN,
    ELSEWHERE,
    FAST_POLLING,
    HOSTILE_NAME,
    PLATFORM,
    PROD,
    PROD_ACCOUNT,
    READ_ONLY,
    ROOT,
    SSO_ALICE,
    STAGING,
    TEAM_ACCOUNT,
    TEAM_FOLDER,
    base_state,
    settings_for,
)

from permctl.emulator import Emulator, Knobs
from permctl.emulator.faults import FILTER_QUOTES, DenyRule
from permctl.errors import ApiError
from permctl.model import Assignment, MeshRole, PrincipalKind
from permctl.providers import Providers, open_providers
from permctl.providers.cloudsso import ACCESS_CONFIGURATION, GROUP, USER

# -- Service Mesh ---------------------------------------------------------------------------


def test_documented_and_native_shapes_read_the_same() -> None:
    refs = [
        (ALICE, PrincipalKind.RAM_USER),
        (BOB, PrincipalKind.RAM_USER),
        (CI, PrincipalKind.RAM_ROLE),
    ]
    read = {}
    for typed in (False, True):
        knobs = Knobs(seed=1, native_shapes=typed)
        with Emulator(base_state(), knobs=knobs) as emu, open_providers(settings_for(emu)) as p:
            read[typed] = p.servicemesh.read_principals(refs)
    assert read[True] == read[False]
    assert read[True][CI].kind is PrincipalKind.RAM_ROLE
    assert read[True][ALICE].permissions == {MeshRole(PROD, "istio-admin")}


def test_is_ram_role_never_changes_the_kind_a_principal_is_read_as() -> None:
    refs = [(ALICE, PrincipalKind.RAM_USER), (CI, PrincipalKind.RAM_ROLE)]
    knobs = Knobs(seed=1, is_ram_role_means_user=True)
    with Emulator(base_state(), knobs=knobs) as emu, open_providers(settings_for(emu)) as p:
        live = p.servicemesh.read_principals(refs)
    assert [(live[i].kind, live[i].wire_kind) for i in (ALICE, CI)] == [
        (PrincipalKind.RAM_USER, PrincipalKind.RAM_ROLE),
        (PrincipalKind.RAM_ROLE, PrincipalKind.RAM_USER),
    ]


def test_a_principal_asked_as_a_user_stays_one_and_the_wire_claim_is_kept(
    providers: Providers,
) -> None:
    live = providers.servicemesh.read_principals([(CI, PrincipalKind.RAM_USER)])
    assert (live[CI].kind, live[CI].wire_kind) == (PrincipalKind.RAM_USER, PrincipalKind.RAM_ROLE)


def test_grants_on_meshes_nobody_manages_are_read_too(providers: Providers) -> None:
    live = providers.servicemesh.read_principals([(BOB, PrincipalKind.RAM_USER)])
    assert live[BOB].permissions == {
        MeshRole(STAGING, "istio-ops"),
        MeshRole(ELSEWHERE, "istio-readonly"),
    }


def test_one_describe_call_per_principal(emu: Emulator, providers: Providers) -> None:
    providers.servicemesh.read_principals(
        [
            (ALICE, PrincipalKind.RAM_USER),
            (BOB, PrincipalKind.RAM_USER),
            (ALICE, PrincipalKind.RAM_USER),
        ]
    )
    assert emu.count("DescribeUserPermissions") == 2


def test_principals_holding_any_permission_are_listed_by_kind(providers: Providers) -> None:
    assert providers.servicemesh.list_principal_ids() == ({ALICE, BOB}, {CI})


def test_grant_sends_the_full_list_and_it_replaces_what_was_held(
    emu: Emulator, providers: Providers
) -> None:
    full = [MeshRole(STAGING, "istio-admin"), MeshRole(ELSEWHERE, "istio-readonly")]
    request_id = providers.servicemesh.grant([BOB], PrincipalKind.RAM_USER, full)
    sent = next(call for call in emu.calls if call.action == "GrantUserPermissions")
    assert sent.request_id == request_id
    assert sent.params["SubAccountUserId"] == BOB
    assert sorted(json.loads(sent.params["Permissions"]), key=lambda p: p["Cluster"]) == [
        {
            "IsCustom": True,
            "Cluster": ELSEWHERE,
            "RoleName": "istio-readonly",
            "RoleType": "custom",
            "IsRamRole": False,
        },
        {
            "IsCustom": True,
            "Cluster": STAGING,
            "RoleName": "istio-admin",
            "RoleType": "custom",
            "IsRamRole": False,
        },
    ]
    assert providers.servicemesh.read_principals([(BOB, PrincipalKind.RAM_USER)])[
        BOB
    ].permissions == set(full)


def test_one_grant_call_serves_several_principals(emu: Emulator, providers: Providers) -> None:
    providers.servicemesh.grant(
        [ALICE, BOB], PrincipalKind.RAM_USER, [MeshRole(PROD, "istio-readonly")]
    )
    sent = next(call for call in emu.calls if call.action == "GrantUserPermissions")
    assert json.loads(sent.params["SubAccountUserIds"]) == [ALICE, BOB]
    live = providers.servicemesh.read_principals(
        [(ALICE, PrincipalKind.RAM_USER), (BOB, PrincipalKind.RAM_USER)]
    )
    assert {p.permissions for p in live.values()} == {frozenset({MeshRole(PROD, "istio-readonly")})}


# -- CloudSSO assignments -------------------------------------------------------------------


def test_an_account_with_many_assignments_is_read_page_by_page(
    emu: Emulator, providers: Providers
) -> None:
    found = providers.cloudsso.list_assignments(DIRECTORY, [PROD_ACCOUNT])
    assert len(found) == BUSY_ACCOUNT_ASSIGNMENTS
    assert emu.count("ListAccessAssignments") == 3


def test_per_account_reads_add_up_to_the_directory_wide_listing(providers: Providers) -> None:
    per_account = providers.cloudsso.list_assignments(
        DIRECTORY, [DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT]
    )
    assert per_account == providers.cloudsso.list_all_assignments(DIRECTORY)
    assert Assignment(ECS_ADMIN, TEAM_ACCOUNT, "Group", PLATFORM) in per_account


def test_assignment_listings_carry_display_names(providers: Providers) -> None:
    listing = providers.cloudsso.read_assignments(DIRECTORY, [DEV_ACCOUNT])
    assert listing.names[SSO_ALICE] == "alice"
    assert listing.names[ECS_ADMIN] == "ECS-Admin"


def test_a_rejected_call_surfaces_its_request_id(emu: Emulator, providers: Providers) -> None:
    with pytest.raises(ApiError) as raised:
        providers.cloudsso.list_assignments("d-doesnotexist", [DEV_ACCOUNT])
    failed = [call for call in emu.calls if call.status >= 400]
    assert raised.value.request_id == failed[-1].request_id
    assert raised.value.code == failed[-1].code
    assert emu.count("ListAccessAssignments") == 1  # final errors are not retried


def test_reads_under_heavy_throttling_are_complete_and_correct(emu: Emulator) -> None:
    refs = [
        (ALICE, PrincipalKind.RAM_USER),
        (BOB, PrincipalKind.RAM_USER),
        (CI, PrincipalKind.RAM_ROLE),
    ]
    accounts = [DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT]
    with open_providers(settings_for(emu)) as calm:
        expected = (
            calm.servicemesh.read_principals(refs),
            calm.cloudsso.list_assignments(DIRECTORY, accounts),
        )
    emu.set_knobs(Knobs(seed=30, throttle_rate=0.3))
    emu.reset_log()
    with open_providers(settings_for(emu)) as throttled:
        got = (
            throttled.servicemesh.read_principals(refs),
            throttled.cloudsso.list_assignments(DIRECTORY, accounts),
        )
    assert got == expected
    assert any(call.code == "Throttling.User" for call in emu.calls)


# -- CloudSSO names -------------------------------------------------------------------------


def test_names_and_ids_of_every_kind_resolve(providers: Providers) -> None:
    sso = providers.cloudsso
    assert sso.resolve(DIRECTORY, USER, ["alice", SSO_ALICE, "nobody"]) == {
        "alice": SSO_ALICE,
        SSO_ALICE: SSO_ALICE,
        "nobody": None,
    }
    assert sso.resolve(DIRECTORY, GROUP, ["platform-admins", "g-missing"]) == {
        "platform-admins": PLATFORM,
        "g-missing": None,
    }
    assert sso.resolve(DIRECTORY, ACCESS_CONFIGURATION, ["ECS-Admin", READ_ONLY]) == {
        "ECS-Admin": ECS_ADMIN,
        READ_ONLY: READ_ONLY,
    }


def test_a_small_directory_is_resolved_with_one_listing_call(
    emu: Emulator, providers: Providers
) -> None:
    providers.cloudsso.resolve(DIRECTORY, GROUP, ["platform-admins", PLATFORM])
    assert emu.count("ListGroups") == 1


def test_a_few_names_in_a_large_directory_are_looked_up_by_filter(
    emu: Emulator, providers: Providers
) -> None:
    resolved = providers.cloudsso.resolve(DIRECTORY, USER, [HOSTILE_NAME, "mary ann", "filler-149"])
    assert resolved == {
        HOSTILE_NAME: "u-hostile000001",
        "mary ann": "u-spaces0000001",
        "filler-149": "u-filler0000149",
    }
    # The first page (100 of 153) holds two; only the third costs a filtered call.
    assert emu.count("ListUsers") == 2


def large_directory(quotes: str) -> Emulator:
    """400 users, then two whose names no unquoted filter can carry."""
    state = base_state()
    (directory,) = state["cloudsso"]["directories"]
    fillers = [{"id": f"u-big{i:07d}", "name": f"big-{i}"} for i in range(400)]
    odd = [u for u in directory["users"] if u["name"] in (HOSTILE_NAME, "mary ann")]
    directory["users"] = fillers + odd + [u for u in directory["users"] if u not in odd]
    return Emulator(state, knobs=Knobs(seed=1, filter_quotes=quotes))


@pytest.mark.parametrize("quotes", FILTER_QUOTES)
def test_a_name_far_down_a_large_directory_costs_one_filtered_call(quotes: str) -> None:
    with large_directory(quotes) as emu, open_providers(settings_for(emu)) as providers:
        resolved = providers.cloudsso.resolve(DIRECTORY, USER, ["big-399"])
        filters = [c.params.get("Filter") for c in emu.calls if c.action == "ListUsers"]
    assert resolved == {"big-399": "u-big0000399"}
    assert filters == [None, "UserName eq big-399"]


@pytest.mark.parametrize("quotes", FILTER_QUOTES)
def test_names_no_filter_carries_or_finds_fall_back_to_one_full_listing(quotes: str) -> None:
    refs = [HOSTILE_NAME, "mary ann", "nobody-here"]
    with large_directory(quotes) as emu, open_providers(settings_for(emu)) as providers:
        resolved = providers.cloudsso.resolve(DIRECTORY, USER, refs)
        listed = emu.count("ListUsers")
    assert resolved == {
        HOSTILE_NAME: "u-hostile000001",
        "mary ann": "u-spaces0000001",
        "nobody-here": None,
    }
    # The first page of 553 users, one filtered call for the name a filter can carry, and the
    # five other pages of the full listing once, however many names needed it.
    assert listed == 1 + 1 + 5


def test_every_name_of_a_kind_is_listed_for_suggestions(providers: Providers) -> None:
    names = providers.cloudsso.all_names(DIRECTORY, USER)
    assert len(names) == 153
    assert HOSTILE_NAME in names


# -- CloudSSO tasks -------------------------------------------------------------------------

NEW = Assignment(READ_ONLY, DEV_ACCOUNT, "Group", PLATFORM)


def test_a_created_assignment_is_visible_once_its_task_succeeds(
    emu: Emulator, providers: Providers
) -> None:
    emu.set_knobs(Knobs(seed=1, task_delay_s=0.3))
    task = providers.cloudsso.create_assignment(DIRECTORY, NEW)
    result = providers.cloudsso.wait_for_task(DIRECTORY, task)
    assert result.succeeded and not result.already_done
    assert emu.count("GetTaskStatus") >= 2  # it was still running at the first poll
    assert NEW in providers.cloudsso.list_assignments(DIRECTORY, [DEV_ACCOUNT])


def test_a_failed_task_is_reported_at_once_with_its_reason(
    emu: Emulator, providers: Providers
) -> None:
    emu.set_knobs(Knobs(seed=1, task_failure_rate=1.0))
    task = providers.cloudsso.create_assignment(DIRECTORY, NEW)
    result = providers.cloudsso.wait_for_task(DIRECTORY, task)
    assert not result.succeeded
    assert result.failure_reason
    assert emu.count("GetTaskStatus") <= 2


def test_creating_what_exists_and_deleting_what_is_gone_count_as_done(providers: Providers) -> None:
    existing = Assignment(ECS_ADMIN, DEV_ACCOUNT, "User", SSO_ALICE)
    created = providers.cloudsso.create_assignment(DIRECTORY, existing)
    deleted = providers.cloudsso.delete_assignment(DIRECTORY, NEW, "None")
    for task in (created, deleted):
        result = providers.cloudsso.wait_for_task(DIRECTORY, task)
        assert result.succeeded and result.already_done


def test_a_deleted_assignment_is_gone_once_its_task_succeeds(providers: Providers) -> None:
    existing = Assignment(ECS_ADMIN, TEAM_ACCOUNT, "Group", PLATFORM)
    task = providers.cloudsso.delete_assignment(
        DIRECTORY, existing, "DeprovisionForLastAccessAssignmentOnAccount"
    )
    assert providers.cloudsso.wait_for_task(DIRECTORY, task).succeeded
    assert existing not in providers.cloudsso.list_assignments(DIRECTORY, [TEAM_ACCOUNT])


# -- resource directory, RAM, STS, endpoints ------------------------------------------------


def test_accounts_are_listed_once_with_their_folder_paths(
    emu: Emulator, providers: Providers
) -> None:
    rd = providers.resourcedirectory
    assert {a.account_id for a in rd.accounts} == {DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT}
    assert rd.accounts_in(DEV_FOLDER) == {DEV_ACCOUNT, TEAM_ACCOUNT}
    assert rd.accounts_in(TEAM_FOLDER) == {TEAM_ACCOUNT}
    assert rd.accounts_in(ROOT) == {DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT}
    assert emu.count("ListAuthorizedAccounts") + emu.count("ListAccounts") == 1


def test_folders_are_listed_with_their_names(providers: Providers) -> None:
    folders = {f.name: f.folder_id for f in providers.resourcedirectory.folders}
    assert folders == {"dev": DEV_FOLDER, "team": TEAM_FOLDER}


def test_ram_names_resolve_to_ids_and_ids_pass_through(emu: Emulator, providers: Providers) -> None:
    assert providers.ram.resolve_user("alice") == ALICE
    assert providers.ram.resolve_role("ci-deployer") == CI
    assert providers.ram.resolve_user("nobody") is None
    assert providers.ram.resolve_user(BOB) == BOB
    assert emu.count("GetUser") == 2
    assert providers.ram.user_names() == ["alice", "bob"]
    assert providers.ram.role_names() == ["ci-deployer"]


def test_the_environment_endpoint_wins_over_the_file(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMCTL_ENDPOINT_RAM", emu.url)
    settings = settings_for(emu, endpoints={"ram": "http://127.0.0.1:9"})
    with open_providers(settings) as providers:
        assert providers.ram.resolve_user("alice") == ALICE


def test_an_unreachable_endpoint_is_retried_then_reported() -> None:
    with Emulator(base_state()) as emu:
        settings = settings_for(
            emu, endpoints={"ram": "http://127.0.0.1:9"}, connect_timeout_ms=200
        )
    with open_providers(settings, FAST_POLLING) as providers, pytest.raises(ApiError) as raised:
        providers.ram.resolve_user("alice")
    assert raised.value.code == "NetworkError"


@pytest.mark.parametrize(
    "knobs",
    [
        Knobs(seed=5, error_5xx_rate=0.3),
        Knobs(seed=11, throttle_rate=0.3, retry_after_ms=20),  # ThrottlingException, retry-after
    ],
    ids=["server-errors", "retry-after"],
)
def test_transient_failures_are_retried_to_a_correct_result(emu: Emulator, knobs: Knobs) -> None:
    refs = [
        (ALICE, PrincipalKind.RAM_USER),
        (BOB, PrincipalKind.RAM_USER),
        (CI, PrincipalKind.RAM_ROLE),
    ]
    with open_providers(settings_for(emu)) as calm:
        expected = calm.servicemesh.read_principals(refs)
    emu.set_knobs(knobs)
    emu.reset_log()
    with open_providers(settings_for(emu)) as troubled:
        assert troubled.servicemesh.read_principals(refs) == expected
    assert any(call.status != 200 for call in emu.calls)


def test_accounts_are_listed_without_list_authorized_accounts_where_it_is_denied(
    emu: Emulator, providers: Providers
) -> None:
    emu.set_knobs(Knobs(seed=1, deny=(DenyRule("ListAuthorizedAccounts"),)))
    assert {a.account_id for a in providers.resourcedirectory.accounts} == {
        DEV_ACCOUNT,
        PROD_ACCOUNT,
        TEAM_ACCOUNT,
    }
    assert emu.count("ListAccounts") == 1


def test_every_call_is_logged_with_its_outcome_and_request_id_but_no_secret(
    emu: Emulator, providers: Providers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="permctl.api")
    providers.ram.resolve_user("alice")
    providers.ram.resolve_user("nobody")
    found, missing = emu.calls
    assert "GetUser ok in" in caplog.text and f"RequestId={found.request_id}" in caplog.text
    assert f"GetUser failed {missing.code} in" in caplog.text
    assert f"RequestId={missing.request_id}" in caplog.text
    assert emu.access_key_secret not in caplog.text


def test_nothing_to_resolve_costs_no_call(emu: Emulator, providers: Providers) -> None:
    assert providers.cloudsso.resolve(DIRECTORY, GROUP, []) == {}
    assert not emu.calls


def test_who_the_caller_is_is_asked_once_per_identity(emu: Emulator, providers: Providers) -> None:
    """A plan's lockout check and the audit log of the apply that follows both need it."""
    caller = providers.sts.caller_identity()
    assert caller is not None and caller.arn
    assert providers.sts.caller_principal_id() == caller.principal_id
    assert providers.sts.caller_identity() == caller
    assert emu.count("GetCallerIdentity") == 1
