"""Reading the live state a plan needs: what is read, what is left alone, who is calling."""

from __future__ import annotations

from types import MappingProxyType

from emulated_org import (
    ALICE,
    BOB,
    CI,
    DEV_ACCOUNT,
    DIRECTORY,
    ECS_ADMIN,
    PLATFORM,
    PROD,
    PROD_ACCOUNT,
    SSO_ALICE,
    STAGING,
    TEAM_ACCOUNT,
    base_state,
    settings_for,
)

from permctl.emulator import Emulator
from permctl.model import (
    Assignment,
    CloudSsoScope,
    DesiredAsm,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    Mesh,
    PrincipalKind,
    SourceRef,
)
from permctl.providers import AccessKey, Providers, Session, open_providers
from permctl.providers.live import read_live_state

HERE = SourceRef("permissions.yaml", 1)


def desired(scope: CloudSsoScope = "accounts") -> DesiredState:
    """The file lists alice only and manages the dev-test account only."""
    alice = DesiredPrincipal(
        "alice", ALICE, PrincipalKind.RAM_USER, MappingProxyType({PROD: "istio-admin"}), HERE
    )
    return DesiredState(
        asm=DesiredAsm((Mesh("prod", PROD), Mesh("staging", STAGING)), (alice,)),
        cloudsso=DesiredCloudSso(DIRECTORY, scope, frozenset({DEV_ACCOUNT}), ()),
    )


def test_only_listed_principals_and_managed_accounts_are_read(
    emu: Emulator, providers: Providers
) -> None:
    live = read_live_state(desired(), Session.of(providers), include_unlisted=False)
    assert set(live.asm) == {ALICE}
    assert live.assignments == {Assignment(ECS_ADMIN, DEV_ACCOUNT, "User", SSO_ALICE)}
    assert emu.count("DescribeUsersWithPermissions") == 0
    assert live.names[SSO_ALICE] == "alice"


def test_unlisted_principals_are_read_for_pruning_and_drift(providers: Providers) -> None:
    live = read_live_state(desired(), Session.of(providers), include_unlisted=True)
    assert set(live.asm) == {ALICE, BOB, CI}
    assert live.asm[CI].kind is PrincipalKind.RAM_ROLE


def test_scope_directory_reads_every_assignment_of_the_directory(providers: Providers) -> None:
    live = read_live_state(desired("directory"), Session.of(providers), include_unlisted=False)
    accounts = {a.account_id for a in live.assignments}
    assert accounts == {DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT}
    assert Assignment(ECS_ADMIN, TEAM_ACCOUNT, "Group", PLATFORM) in live.assignments


def test_the_caller_is_identified_for_the_lockout_guard() -> None:
    state = {
        **base_state(),
        "access_keys": [
            {"id": "alice-key", "secret": "alice-secret", "principal": "alice"},
            {"id": "ci-key", "secret": "ci-secret", "principal": "ci-deployer"},
        ],
    }
    with Emulator(state) as emu:
        for key, expected in (("alice-key", ALICE), ("ci-key", CI)):
            secret = key.replace("key", "secret")
            with open_providers(settings_for(emu, access_key=AccessKey(key, secret))) as providers:
                assert read_live_state(
                    desired(), Session.of(providers), include_unlisted=False
                ).caller_principal_ids == {expected}


def test_the_account_itself_as_caller_cannot_be_locked_out(providers: Providers) -> None:
    assert (
        read_live_state(
            desired(), Session.of(providers), include_unlisted=False
        ).caller_principal_ids
        == frozenset()
    )
