"""Resolving a file against the emulated organisation: every name to its id, or every problem."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from emulated_org import (
    ALICE,
    CI,
    DEV_ACCOUNT,
    DIRECTORY,
    ECS_ADMIN,
    PLATFORM,
    PROD,
    PROD_ACCOUNT,
    READ_ONLY,
    SSO_ALICE,
    STAGING,
    TEAM_ACCOUNT,
    TEAM_FOLDER,
    base_state,
    settings_for,
)

from permctl.config import load_files
from permctl.emulator import Emulator
from permctl.errors import ConfigError
from permctl.model import Assignment, PrincipalKind
from permctl.providers import Providers, Session, open_providers
from permctl.resolve import resolve

GOOD = f"""\
version: 1
settings:
  safety:
    max_delete_percent: 20
    protected_principals: [alice]
asm:
  meshes:
    prod: {PROD}
    staging: {{id: {STAGING}}}
  teams:
    platform: {{prod: istio-admin}}
  principals:
    - name: alice
      ram_user: alice
      teams: [platform]
    - name: ci
      ram_role: ci-deployer
      roles: {{staging: istio-ops}}
    - name: bob-by-id
      ram_user: 278525736094805678
      roles: {{prod: istio-readonly}}
cloudsso:
  directory: {DIRECTORY}
  assignments:
    - access_configuration: ECS-Admin
      accounts: [prod]
      folders: [dev]
      users: [alice]
      groups: [platform-admins]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "permissions.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_name_in_the_file_becomes_an_id(tmp_path: Path, providers: Providers) -> None:
    desired = resolve(load_files([write(tmp_path, GOOD)]), Session.of(providers))
    assert desired.asm is not None and desired.cloudsso is not None
    by_label = {p.label: p for p in desired.asm.principals}
    assert (by_label["alice"].principal_id, by_label["alice"].kind) == (
        ALICE,
        PrincipalKind.RAM_USER,
    )
    assert dict(by_label["alice"].roles) == {PROD: "istio-admin"}
    assert (by_label["ci"].principal_id, by_label["ci"].kind) == (CI, PrincipalKind.RAM_ROLE)
    assert dict(by_label["ci"].roles) == {STAGING: "istio-ops"}
    assert by_label["bob-by-id"].principal_id == "278525736094805678"
    assert desired.asm.managed_mesh_ids == {PROD, STAGING}
    # The dev folder holds dev-test and, through its team sub-folder, team.
    assert desired.cloudsso.managed_account_ids == {PROD_ACCOUNT, DEV_ACCOUNT, TEAM_ACCOUNT}
    assert {d.assignment for d in desired.cloudsso.assignments} == {
        Assignment(ECS_ADMIN, account, kind, principal)
        for account in (PROD_ACCOUNT, DEV_ACCOUNT, TEAM_ACCOUNT)
        for kind, principal in (("User", SSO_ALICE), ("Group", PLATFORM))
    }
    assert desired.safety.max_delete_percent == 20
    assert desired.safety.protected_principals == {"alice"}


def test_every_id_gets_a_readable_name(tmp_path: Path, providers: Providers) -> None:
    names = resolve(load_files([write(tmp_path, GOOD)]), Session.of(providers)).names
    assert names[ALICE] == "alice"
    assert names[PROD] == "prod"
    assert names[ECS_ADMIN] == "ECS-Admin"
    assert names[SSO_ALICE] == "alice"
    assert names[PLATFORM] == "platform-admins"
    assert names[DEV_ACCOUNT] == "dev-test"


def test_resolving_writes_nothing(tmp_path: Path, emu: Emulator, providers: Providers) -> None:
    resolve(load_files([write(tmp_path, GOOD)]), Session.of(providers))
    assert not emu.writes


def test_scope_directory_manages_every_account(tmp_path: Path, providers: Providers) -> None:
    text = f"""\
        version: 1
        cloudsso:
          directory: {DIRECTORY}
          scope: directory
          assignments:
            - access_configuration: ECS-Admin
              accounts: [dev-test]
              users: [alice]
        """
    desired = resolve(load_files([write(tmp_path, text)]), Session.of(providers))
    assert desired.cloudsso is not None
    assert desired.cloudsso.managed_account_ids == {DEV_ACCOUNT, PROD_ACCOUNT, TEAM_ACCOUNT}


TYPOS = f"""\
version: 1
asm:
  meshes:
    prod: {PROD}
  principals:
    - name: alice
      ram_user: alcie
      roles: {{prod: istio-admin}}
    - name: ci
      ram_role: ci-deployr
      roles: {{prod: istio-ops}}
cloudsso:
  directory: {DIRECTORY}
  assignments:
    - access_configuration: ECS-Admn
      accounts: [dev-tset]
      folders: [dve]
      users: [alise]
      groups: [platform-admin]
"""


def test_every_unknown_name_is_reported_where_it_was_written_with_a_suggestion(
    tmp_path: Path, providers: Providers
) -> None:
    path = write(tmp_path, TYPOS)
    with pytest.raises(ConfigError) as raised:
        resolve(load_files([path]), Session.of(providers))
    problems = {p.path: p for p in raised.value.problems}
    expected = {
        "asm.principals[0].ram_user": (7, "'alcie'", "'alice'"),
        "asm.principals[1].ram_role": (10, "'ci-deployr'", "'ci-deployer'"),
        "cloudsso.assignments[0].access_configuration": (15, "'ECS-Admn'", "'ECS-Admin'"),
        "cloudsso.assignments[0].accounts[0]": (16, "'dev-tset'", "'dev-test'"),
        "cloudsso.assignments[0].folders[0]": (17, "'dve'", "'dev'"),
        "cloudsso.assignments[0].users[0]": (18, "'alise'", "'alice'"),
        "cloudsso.assignments[0].groups[0]": (19, "'platform-admin'", "'platform-admins'"),
    }
    assert set(problems) == set(expected)
    for field_path, (line, wrong, suggestion) in expected.items():
        problem = problems[field_path]
        assert (problem.file, problem.line) == (str(path), line), field_path
        assert wrong in problem.message and f"did you mean {suggestion}" in problem.message


def test_a_principal_named_twice_is_reported(tmp_path: Path, providers: Providers) -> None:
    text = f"""\
        version: 1
        asm:
          meshes:
            prod: {PROD}
          principals:
            - name: alice
              ram_user: alice
              roles: {{prod: istio-admin}}
            - name: alice-again
              ram_user: "{ALICE}"
              roles: {{prod: istio-readonly}}
        """
    with pytest.raises(ConfigError, match="same principal as 'alice'"):
        resolve(load_files([write(tmp_path, text)]), Session.of(providers))


def test_an_account_name_two_accounts_share_asks_for_the_id(tmp_path: Path) -> None:
    state = base_state()
    state["resource_directory"]["accounts"].append(
        {"id": "777700000000abcd", "name": "other@example.com", "display_name": "dev-test"}
    )
    text = f"""\
        version: 1
        cloudsso:
          directory: {DIRECTORY}
          assignments:
            - access_configuration: ECS-Admin
              accounts: [dev-test]
              users: [alice]
        """
    config = load_files([write(tmp_path, text)])
    with (
        Emulator(state) as emu,
        open_providers(settings_for(emu)) as providers,
        pytest.raises(ConfigError) as raised,
    ):
        resolve(config, Session.of(providers))
    (problem,) = raised.value.problems
    assert problem.path == "cloudsso.assignments[0].accounts[0]"
    assert "777700000000abcd" in problem.message and DEV_ACCOUNT in problem.message


def test_a_mesh_id_the_region_does_not_have_is_reported_at_its_line(
    tmp_path: Path, providers: Providers
) -> None:
    missing = "c0000000000000000000000000000404"
    text = f"""\
        version: 1
        asm:
          meshes:
            prod: {PROD}
            gone: {missing}
          principals:
            - name: alice
              ram_user: alice
              roles: {{prod: istio-admin}}
        """
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        resolve(load_files([path]), Session.of(providers))
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (str(path), 5)
    assert f"no Service Mesh instance in cn-shanghai named '{missing}'" in problem.message


def test_expiry_pruning_and_deprovision_strategy_are_carried_over(
    tmp_path: Path, providers: Providers
) -> None:
    text = f"""\
        version: 1
        asm:
          meshes: {{prod: {PROD}}}
          prune_unlisted: true
          principals:
            - name: alice
              ram_user: alice
              roles: {{prod: istio-admin}}
              expires: 2030-01-31
        cloudsso:
          directory: {DIRECTORY}
          prune_unlisted: true
          deprovision_strategy: "None"
          assignments:
            - access_configuration: ReadOnly
              accounts: [{PROD_ACCOUNT}]
              users: [alice]
              expires: 2030-02-28
        """
    desired = resolve(load_files([write(tmp_path, text)]), Session.of(providers))
    assert desired.asm is not None and desired.cloudsso is not None
    assert desired.asm.prune_unlisted and desired.cloudsso.prune_unlisted
    (alice,) = desired.asm.principals
    assert alice.expires == date(2030, 1, 31)
    (wanted,) = desired.cloudsso.assignments
    assert wanted.expires == date(2030, 2, 28)
    assert wanted.assignment == Assignment(READ_ONLY, PROD_ACCOUNT, "User", SSO_ALICE)
    assert desired.cloudsso.deprovision_strategy == "None"


def test_a_folder_named_by_id_manages_every_account_below_it(
    tmp_path: Path, providers: Providers
) -> None:
    text = f"""\
        version: 1
        cloudsso:
          directory: {DIRECTORY}
          assignments:
            - access_configuration: {READ_ONLY}
              folders: [{TEAM_FOLDER}]
              groups: [{PLATFORM}]
        """
    desired = resolve(load_files([write(tmp_path, text)]), Session.of(providers))
    assert desired.cloudsso is not None
    assert desired.cloudsso.managed_account_ids == {TEAM_ACCOUNT}
    (wanted,) = desired.cloudsso.assignments
    assert wanted.assignment == Assignment(READ_ONLY, TEAM_ACCOUNT, "Group", PLATFORM)
