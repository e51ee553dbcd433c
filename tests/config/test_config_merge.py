"""Several files (or a directory) merge into one desired state."""

from __future__ import annotations

from pathlib import Path

from config_cases import problems_of

from permctl.config import expand_paths, load_files


def test_a_directory_merges_its_yaml_files_sharing_meshes_teams_and_the_directory() -> None:
    config = load_files(expand_paths([Path("merge/split_ok")]))
    assert config.asm is not None and config.cloudsso is not None
    assert list(config.asm.meshes) == ["prod", "staging"]
    assert [p.name for p in config.asm.principals] == ["alice", "ci-deployer"]
    alice = config.asm.principals[0]
    assert config.asm.effective_roles(alice) == {"prod": "istio-admin", "staging": "istio-admin"}
    assert config.cloudsso.directory == "d-00fc2p61abcd"
    assert config.settings.safety.protected_principals == ["break-glass"]
    assert str(alice.source) == "merge/split_ok/20-platform.yaml:7:7"
    assert str(config.cloudsso.assignments[0].field_source("groups", 0)).startswith(
        "merge/split_ok/20-platform.yaml:11:"
    )


def test_one_alias_declared_with_two_ids_names_both_files() -> None:
    assert problems_of("merge/mesh_alias_conflict") == [
        "merge/mesh_alias_conflict/b.yaml:4:11 asm.meshes.prod: mesh alias 'prod' is declared "
        "differently at merge/mesh_alias_conflict/a.yaml:4:11; declare it once or make the "
        "declarations agree",
        "merge/mesh_alias_conflict/b.yaml:6:13 asm.teams.admins: team 'admins' is declared "
        "differently at merge/mesh_alias_conflict/a.yaml:6:13; declare it once or make the "
        "declarations agree",
    ]


def test_settings_directory_and_scope_given_twice_must_agree() -> None:
    assert problems_of("merge/settings_conflict") == [
        "merge/settings_conflict/b.yaml:3:3 settings: differs from "
        "merge/settings_conflict/a.yaml:3:3; give it in one file or make the files agree",
        "merge/settings_conflict/b.yaml:5:14 cloudsso.directory: differs from "
        "merge/settings_conflict/a.yaml:5:14; give it in one file or make the files agree",
        "merge/settings_conflict/b.yaml:6:10 cloudsso.scope: differs from "
        "merge/settings_conflict/a.yaml:6:10; give it in one file or make the files agree",
    ]


def test_a_principal_in_two_files_is_reported_with_both_locations() -> None:
    assert problems_of("merge/duplicate_principal") == [
        "merge/duplicate_principal/b.yaml:4:13 asm.principals[0].name: principal 'alice' is "
        "already declared at merge/duplicate_principal/a.yaml:6:7",
        "merge/duplicate_principal/b.yaml:7:17 asm.principals[1].ram_user: RAM user "
        "'278525736094801234' is already declared by principal 'alice' at "
        "merge/duplicate_principal/a.yaml:7:17",
    ]


def test_the_cloudsso_directory_must_be_given_in_one_of_the_files() -> None:
    assert problems_of("merge/directory_missing") == [
        "merge/directory_missing/a.yaml:3:3 cloudsso.directory: missing required key 'directory' "
        "(the CloudSSO directory id, d-...)"
    ]


def test_a_team_declared_in_one_file_may_be_used_in_another(tmp_path: Path) -> None:
    (tmp_path / "teams.yaml").write_text(
        "version: 1\nasm:\n  meshes: {prod: c57b848115458460583a4260cb713abc}\n"
        "  teams:\n    ops: {prod: istio-ops}\n"
    )
    (tmp_path / "people.yaml").write_text(
        "version: 1\nasm:\n  principals:\n    - {name: bob, ram_user: bob, teams: [ops]}\n"
    )
    config = load_files(expand_paths([tmp_path]))
    assert config.asm is not None
    assert config.asm.effective_roles(config.asm.principals[0]) == {"prod": "istio-ops"}


def test_the_same_file_given_twice_is_read_once() -> None:
    paths = expand_paths([Path("merge/split_ok"), Path("merge/split_ok/10-base.yaml")])
    assert [p.name for p in paths] == ["10-base.yaml", "20-platform.yaml"]


def test_a_directory_reads_as_its_files_given_in_name_order() -> None:
    from_directory = load_files(expand_paths([Path("merge/split_ok")]))
    files = [Path("merge/split_ok/10-base.yaml"), Path("merge/split_ok/20-platform.yaml")]
    assert from_directory.digest() == load_files(files).digest()
