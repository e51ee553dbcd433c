"""Every rule of the file, each with a broken file under broken/ and the exact message users see."""

from __future__ import annotations

from pathlib import Path

from config_cases import problems_of


def test_a_role_that_does_not_exist_is_named_with_the_roles_that_do() -> None:
    assert problems_of("broken/role_not_a_role.yaml") == [
        "broken/role_not_a_role.yaml:9:15 asm.principals[0].roles.prod: 'istio-root' is not a "
        "role; expected istio-admin, istio-ops or istio-readonly"
    ]


def test_explicit_role_disagreeing_with_a_team_names_both_places() -> None:
    assert problems_of("broken/team_and_explicit_role_disagree.yaml") == [
        "broken/team_and_explicit_role_disagree.yaml:12:24 asm.principals[0].roles.staging: "
        "istio-ops disagrees with istio-admin from team 'mesh-admins' "
        "(broken/team_and_explicit_role_disagree.yaml:7:47); a principal holds one role per "
        "mesh: drop the explicit role or the team"
    ]


def test_two_teams_disagreeing_on_a_mesh_name_both_places() -> None:
    assert problems_of("broken/teams_disagree.yaml") == [
        "broken/teams_disagree.yaml:13:28 asm.principals[0].teams[1]: on mesh 'prod' "
        "istio-readonly from team 'auditors' (broken/teams_disagree.yaml:9:13) disagrees with "
        "istio-admin from team 'mesh-admins' (broken/teams_disagree.yaml:7:13); a principal "
        "holds one role per mesh"
    ]


def test_a_mesh_given_twice_the_same_role_is_a_duplicate_key() -> None:
    assert problems_of("broken/duplicate_key.yaml") == [
        "broken/duplicate_key.yaml:10:9 asm.principals[0].roles.prod: duplicate key 'prod' "
        "(first at broken/duplicate_key.yaml:9:9); keep one"
    ]


def test_unknown_mesh_aliases_in_teams_and_roles_suggest_the_declared_ones() -> None:
    assert problems_of("broken/unknown_mesh_alias.yaml") == [
        "broken/unknown_mesh_alias.yaml:7:17 asm.teams.operators.prd: unknown mesh alias 'prd'; "
        "did you mean 'prod'?",
        "broken/unknown_mesh_alias.yaml:11:15 asm.principals[0].roles.stagng: unknown mesh alias "
        "'stagng'; did you mean 'staging'?",
        "broken/unknown_mesh_alias.yaml:11:34 asm.principals[0].roles.dev: unknown mesh alias "
        "'dev'; declared: prod, staging",
    ]


def test_unknown_teams_suggest_the_declared_ones() -> None:
    assert problems_of("broken/unknown_team.yaml") == [
        "broken/unknown_team.yaml:10:15 asm.principals[0].teams[0]: unknown team 'mesh-admin'; "
        "did you mean 'mesh-admins'?",
        "broken/unknown_team.yaml:10:27 asm.principals[0].teams[1]: unknown team 'platform'; "
        "declared: mesh-admins",
    ]


def test_a_principal_listed_twice_by_name_or_by_reference_points_at_the_first() -> None:
    assert problems_of("broken/duplicate_principal.yaml") == [
        "broken/duplicate_principal.yaml:9:13 asm.principals[1].name: principal 'alice' is "
        "already declared at broken/duplicate_principal.yaml:6:7",
        "broken/duplicate_principal.yaml:13:17 asm.principals[2].ram_user: RAM user "
        "'278525736094801234' is already declared by principal 'alice' at "
        "broken/duplicate_principal.yaml:7:17",
        "broken/duplicate_principal.yaml:17:17 asm.principals[4].ram_role: RAM role 'ci-deployer' "
        "is already declared by principal 'deployer' at broken/duplicate_principal.yaml:15:17",
    ]


def test_a_principal_is_exactly_one_of_ram_user_and_ram_role() -> None:
    assert problems_of("broken/ram_user_or_ram_role.yaml") == [
        "broken/ram_user_or_ram_role.yaml:6:7 asm.principals[0]: give exactly one of ram_user "
        "or ram_role (found both)",
        "broken/ram_user_or_ram_role.yaml:9:7 asm.principals[1]: give exactly one of ram_user "
        "or ram_role (found neither)",
    ]


def test_an_assignment_needs_a_configuration_targets_and_principals_even_with_scope_directory() -> (
    None
):
    assert problems_of("broken/assignment_incomplete.yaml") == [
        "broken/assignment_incomplete.yaml:6:7 cloudsso.assignments[0].access_configuration: "
        "missing required key 'access_configuration'",
        "broken/assignment_incomplete.yaml:8:7 cloudsso.assignments[1]: an assignment needs at "
        "least one of accounts or folders",
        "broken/assignment_incomplete.yaml:10:7 cloudsso.assignments[2]: an assignment needs at "
        "least one of users or groups",
        "broken/assignment_incomplete.yaml:12:7 cloudsso.assignments[3]: an assignment needs at "
        "least one of accounts or folders and one of users or groups",
    ]


def test_unknown_keys_anywhere_are_refused_with_a_close_match_or_the_allowed_keys() -> None:
    assert problems_of("broken/unknown_keys.yaml") == [
        "broken/unknown_keys.yaml:2:1 setings: unknown key 'setings'; did you mean 'settings'?",
        "broken/unknown_keys.yaml:6:50 asm.meshes.prod.acount: unknown key 'acount'; did you "
        "mean 'account'?",
        "broken/unknown_keys.yaml:10:7 asm.principals[0].rols: unknown key 'rols'; did you mean "
        "'roles'?",
        "broken/unknown_keys.yaml:11:7 asm.principals[0].color: unknown key 'color'; expected "
        "name, ram_user, ram_role, teams, roles or expires",
        "broken/unknown_keys.yaml:15:3 cloudsso.prune: unknown key 'prune'; expected directory, "
        "scope, access_configurations, assignments, prune_unlisted, prune_access_configurations, "
        "deprovision_strategy or account",
    ]


def test_unknown_keys_and_unknown_references_are_reported_in_one_run() -> None:
    file = "broken/every_problem_at_once.yaml"
    assert problems_of(file) == [
        f"{file}:2:1 surprise: unknown key 'surprise'; expected version, settings, asm, "
        "cloudsso or drift",
        f"{file}:7:17 asm.teams.operators.prd: unknown mesh alias 'prd'; did you mean 'prod'?",
        f"{file}:11:21 asm.principals[0].roles.prod: 'istio-root' is not a role; expected "
        "istio-admin, istio-ops or istio-readonly",
        f"{file}:12:7 asm.principals[0].colour: unknown key 'colour'; expected name, ram_user, "
        "ram_role, teams, roles or expires",
        f"{file}:15:15 asm.principals[1].teams[0]: unknown team 'operatorz'; did you mean "
        "'operators'?",
        f"{file}:16:15 asm.principals[1].roles.prd: unknown mesh alias 'prd'; did you mean 'prod'?",
    ]


def test_meshes_of_the_wrong_shape_are_reported_once_not_as_every_alias_unknown(
    tmp_path: Path,
) -> None:
    file = tmp_path / "permissions.yaml"
    file.write_text(
        "version: 1\nsurprise: true\nasm:\n  meshes: [prod]\n  principals:\n"
        "    - {name: alice, ram_user: alice, roles: {prod: istio-ops}}\n",
        encoding="utf-8",
    )
    assert [p.split(" ", 1)[1] for p in problems_of(file)] == [
        "surprise: unknown key 'surprise'; expected version, settings, asm, cloudsso or drift",
        "asm.meshes: expected a mapping, got a list",
    ]


def test_wrong_types_say_what_was_found_and_what_is_expected() -> None:
    assert problems_of("broken/wrong_types.yaml") == [
        "broken/wrong_types.yaml:3:11 settings.region: expected text, got a list",
        "broken/wrong_types.yaml:5:18 settings.endpoints.servicemesh: "
        "'http://127.0.0.1:8080/some path' is not a host such as servicemesh.aliyuncs.com or a "
        "URL such as http://127.0.0.1:8080",
        "broken/wrong_types.yaml:6:5 settings.endpoints.iam: unknown key 'iam'; expected "
        "servicemesh, cloudsso, resourcedirectory, ram, sts or openapiexplorer",
        "broken/wrong_types.yaml:8:33 settings.safety.min_existing_for_threshold: expected a "
        "whole number, got the text 'ten'",
        "broken/wrong_types.yaml:9:27 settings.safety.protected_principals: expected a list, got "
        "the text 'break-glass'",
        "broken/wrong_types.yaml:11:11 asm.meshes: expected a mapping, got a list",
        "broken/wrong_types.yaml:13:13 asm.principals[0].name: expected text, got the boolean "
        "false; put it in quotes if it is meant as text",
        "broken/wrong_types.yaml:14:17 asm.principals[0].ram_user: expected text, got the "
        "number 1.5; put it in quotes if it is meant as text",
        "broken/wrong_types.yaml:15:14 asm.principals[0].teams: expected a list, got the text "
        "'mesh-admins'",
        "broken/wrong_types.yaml:16:19 asm.prune_unlisted: expected true or false, got the text "
        "'yes'",
        "broken/wrong_types.yaml:19:10 cloudsso.scope: expected accounts or directory, got a list",
        "broken/wrong_types.yaml:21:18 cloudsso.account.assume_role: 'arn:aws:iam::123:role/x' "
        "is not a RAM role ARN such as acs:ram::1234567890123456:role/permctl (an account id has "
        "16 digits)",
        "broken/wrong_types.yaml:22:19 cloudsso.account.session_name: 'a b' is not 2 to 64 "
        "letters, digits or . _ @ -",
    ]


def test_dates_must_be_real_calendar_dates() -> None:
    assert problems_of("broken/bad_dates.yaml") == [
        "broken/bad_dates.yaml:6:39 asm.principals[0].expires: '2027-02-30' is not a real day: "
        "February 2027 has 28 days",
        "broken/bad_dates.yaml:7:39 asm.principals[1].expires: 'next friday' is not a date; "
        "write it as YYYY-MM-DD",
        "broken/bad_dates.yaml:8:39 asm.principals[2].expires: expected a date written as "
        "YYYY-MM-DD",
        "broken/bad_dates.yaml:9:39 asm.principals[3].expires: 2027-01-31 10:30:00 has a time "
        "of day; write the date only, YYYY-MM-DD",
    ]


def test_only_version_1_is_read() -> None:
    assert problems_of("broken/version_two.yaml") == [
        "broken/version_two.yaml:1:10 version: 2 is not a supported version; expected 1"
    ]
    assert problems_of("broken/version_true.yaml") == [
        "broken/version_true.yaml:1:10 version: expected the number 1"
    ]
    assert problems_of("broken/version_missing.yaml") == [
        "broken/version_missing.yaml:1:1 version: missing required key 'version'"
    ]


def test_max_delete_percent_is_a_finite_percentage() -> None:
    assert problems_of("broken/safety_out_of_range.yaml") == [
        "broken/safety_out_of_range.yaml:4:25 settings.safety.max_delete_percent: 101 is out of "
        "range; expected at most 100",
        "broken/safety_out_of_range.yaml:5:33 settings.safety.min_existing_for_threshold: -1 is "
        "out of range; expected at least 0",
    ]
    assert problems_of("broken/safety_not_a_number.yaml") == [
        "broken/safety_not_a_number.yaml:4:25 settings.safety.max_delete_percent: expected a "
        "finite number, got the number nan"
    ]


def test_one_mesh_under_two_aliases_is_refused() -> None:
    assert problems_of("broken/duplicate_mesh_id.yaml") == [
        "broken/duplicate_mesh_id.yaml:5:17 asm.meshes.production: mesh "
        "c57b848115458460583a4260cb713abc is already declared as 'prod' at "
        "broken/duplicate_mesh_id.yaml:4:11; give each mesh one alias"
    ]


def test_every_problem_of_every_file_is_reported_at_once() -> None:
    found = problems_of("broken/wrong_types.yaml", "broken/unknown_keys.yaml")
    assert len(found) == 13 + 5
