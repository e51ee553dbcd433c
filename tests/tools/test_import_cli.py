"""`permctl import` through the CLI against the emulator: the file it writes is valid, readable,
and declares exactly what is live, so plan and drift find nothing to do."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from permctl.cli import app
from permctl.model import ASM_ROLES

runner = CliRunner()

REPO = Path(__file__).parents[2]
RICH = REPO / "examples" / "live-state.yaml"
PROD, STAGING = "c57b848115458460583a4260cb713abc", "c4ec191f4e12145c09286ea3e2b8fabc"
DIRECTORY = "d-00fc2p61abcd"


def permctl(*args: str | Path) -> Any:
    return runner.invoke(app, [*map(str, args)])


def import_rich(out: Path, *extra: str) -> Any:
    return permctl(
        "import",
        "-q",
        "--emulator",
        RICH,
        "--mesh",
        f"{PROD}=prod",
        "--mesh",
        STAGING,
        "--directory",
        DIRECTORY,
        "--out",
        out,
        *extra,
    )


def assert_round_trip(out: Path, state: Path) -> None:
    validated = permctl("validate", out)
    assert validated.exit_code == 0, validated.output + out.read_text()
    plan = permctl("plan", "-q", "--detailed-exitcode", "--emulator", state, out)
    assert plan.exit_code == 0, plan.output + out.read_text()
    drift = permctl("drift", "-q", "--emulator", state, out)
    assert drift.exit_code == 0, drift.output + out.read_text()


def test_import_of_a_rich_organisation_plans_no_changes(tmp_path: Path) -> None:
    out = tmp_path / "permissions.yaml"
    result = import_rich(out)
    assert result.exit_code == 0, result.output
    assert_round_trip(out, RICH)


def test_imported_file_names_principals_and_collapses_assignments(tmp_path: Path) -> None:
    out = tmp_path / "permissions.yaml"
    import_rich(out)
    text = out.read_text()
    document = yaml.safe_load(text)
    assert document["asm"]["meshes"] == {"prod": PROD, "staging-mesh": STAGING}
    principals = {p["name"]: p for p in document["asm"]["principals"]}
    assert principals["carol"] == {
        "name": "carol",
        "ram_user": "278525736094809012",
        "roles": {"prod": "istio-readonly", "staging-mesh": "istio-ops"},
    }
    assert principals["ci-deployer"]["ram_role"] == "300000000000000001"
    assert "erin" not in principals  # her only role is on a mesh not imported
    sso = document["cloudsso"]
    assert (sso["directory"], sso["scope"]) == (DIRECTORY, "directory")
    # 16 live assignments; platform-admins' ECS-Admin on three accounts is one entry.
    assert len(sso["assignments"]) == 12
    assert {
        "access_configuration": "ECS-Admin",
        "accounts": ["dev-test", "prod-main", "prod-data"],
        "groups": ["platform-admins"],
    } in sso["assignments"]
    assert '      ram_user: "278525736094809012"\n      roles: {prod: istio-readonly, ' in text


def test_identical_principal_and_account_sets_share_one_entry(tmp_path: Path) -> None:
    state = yaml.safe_load(RICH.read_text())
    directory = state["cloudsso"]["directories"][0]
    both = [("User", "u-00bobq42wiltcrkabcd"), ("Group", "g-00finance00001abcd")]
    directory["assignments"] = [
        {
            "access_configuration": "ac-00billing000001abcd",
            "account": account,
            "principal_type": kind,
            "principal": who,
        }
        for account in ("184311716100abcd", "184311716101abcd", "192837465500abcd")
        for kind, who in both
    ]
    state_file = tmp_path / "state.yaml"
    state_file.write_text(yaml.safe_dump(state))
    out = tmp_path / "permissions.yaml"
    assert (
        permctl(
            "import", "-q", "--emulator", state_file, "--directory", DIRECTORY, "--out", out
        ).exit_code
        == 0
    )
    assert yaml.safe_load(out.read_text())["cloudsso"]["assignments"] == [
        {
            "access_configuration": "Billing",
            "accounts": ["prod-main", "prod-data", "logging"],
            "users": ["bob"],
            "groups": ["finance"],
        }
    ]
    assert "asm" not in yaml.safe_load(out.read_text())
    assert_round_trip(out, state_file)


def test_accounts_option_imports_only_those_accounts_with_scope_accounts(tmp_path: Path) -> None:
    out = tmp_path / "permissions.yaml"
    assert import_rich(out, "--accounts", "dev-test,184311716100abcd").exit_code == 0
    sso = yaml.safe_load(out.read_text())["cloudsso"]
    assert sso["scope"] == "accounts"
    accounts = {a for entry in sso["assignments"] for a in entry["accounts"]}
    assert accounts == {"dev-test", "prod-main"}
    assert_round_trip(out, RICH)


def test_an_existing_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "permissions.yaml"
    out.write_text("# hand-written\n")
    refused = import_rich(out)
    assert refused.exit_code == 1
    assert f"{out} already exists; use --force to overwrite it" in refused.stderr
    assert out.read_text() == "# hand-written\n"
    assert import_rich(out, "--force").exit_code == 0
    assert out.read_text().startswith("# Imported from live state")


def test_ids_that_cannot_be_named_are_written_with_a_comment(tmp_path: Path) -> None:
    state = yaml.safe_load(RICH.read_text())
    state["resource_directory"]["accounts"][1]["display_name"] = "dev-test"  # two dev-tests now
    state["resource_directory"]["accounts"][1]["name"] = "dev-test"
    state["cloudsso"]["directories"][0]["users"][1]["name"] = "u-looks-like-an-id"
    state_file = tmp_path / "state.yaml"
    state_file.write_text(yaml.safe_dump(state))
    out = tmp_path / "permissions.yaml"
    result = permctl(
        "import", "-q", "--emulator", state_file, "--directory", DIRECTORY, "--out", out
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert re.search(r'accounts: \["114240524784abcd"\]  # not named: 114240524784abcd', text)
    assert re.search(r"users: \[u-00bobq42wiltcrkabcd\]  # not named: u-00bobq42wiltcrkabcd", text)
    assert_round_trip(out, state_file)


def test_unknown_mesh_or_nothing_to_import_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "permissions.yaml"
    unknown = permctl("import", "--emulator", RICH, "--mesh", "c-nope", "--out", out)
    assert unknown.exit_code == 1
    assert "no Service Mesh instance in cn-shanghai named 'c-nope'" in unknown.stderr
    nothing = permctl("import", "--emulator", RICH, "--out", out)
    assert nothing.exit_code == 1
    assert "nothing to import: give --mesh, --directory or both" in nothing.stderr
    assert not out.exists()
    assert "Traceback" not in unknown.output + nothing.output


# -- generated organisations ---------------------------------------------------------------

NAMES = st.sampled_from(
    [
        "alice",
        "bob",
        "true",
        "123",
        "mary ann",
        'o"brien',
        "u-fake",
        "ops #1",
        "a: b",
        " pad ",
        "dev",
        "\u0430lice",  # Cyrillic a: the file refuses it, so import must not write it
        "tab\there",
    ]
)
ROLE = st.none() | st.sampled_from(ASM_ROLES)


@st.composite
def organisations(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """An emulator state and how many of its meshes to import (the others stay unmanaged)."""
    meshes = [{"id": f"c{i:032d}", "name": draw(NAMES)} for i in range(draw(st.integers(1, 3)))]

    def ram(prefix: str, most: int) -> list[dict[str, Any]]:
        names = draw(st.lists(NAMES, unique=True, max_size=most))
        return [
            {
                "id": f"{prefix}{i:015d}",
                "name": name,
                "grants": [
                    {"mesh": m["id"], "role": role}
                    for m in meshes
                    if (role := draw(ROLE)) is not None
                ],
            }
            for i, name in enumerate(names)
        ]

    accounts = [
        {"id": f"{i:016d}", "name": draw(NAMES), "display_name": draw(NAMES)}
        for i in range(1, draw(st.integers(1, 3)) + 1)
    ]
    users = [
        {"id": f"u-user{i:010d}", "name": n}
        for i, n in enumerate(draw(st.lists(NAMES, unique=True, max_size=3)))
    ]
    groups = [
        {"id": f"g-group{i:09d}", "name": n}
        for i, n in enumerate(draw(st.lists(NAMES, unique=True, max_size=2)))
    ]
    configurations = [
        {"id": f"ac-conf{i:09d}", "name": n}
        for i, n in enumerate(draw(st.lists(NAMES, unique=True, min_size=1, max_size=2)))
    ]
    possible = [
        {
            "access_configuration": c["id"],
            "account": a["id"],
            "principal_type": kind,
            "principal": p["id"],
        }
        for c in configurations
        for a in accounts
        for kind, principals in (("User", users), ("Group", groups))
        for p in principals
    ]
    chosen = draw(st.sets(st.sampled_from(range(len(possible))))) if possible else set()
    state = {
        "account_id": "1000000000000001",
        "meshes": meshes,
        "ram": {"users": ram("2", 4), "roles": ram("3", 2)},
        "resource_directory": {
            "id": "rd-gen",
            "root_folder_id": "r-gen",
            "folders": [],
            "accounts": accounts,
        },
        "cloudsso": {
            "directories": [
                {
                    "id": "d-generated001",
                    "name": "generated",
                    "users": users,
                    "groups": groups,
                    "access_configurations": configurations,
                    "assignments": [possible[i] for i in sorted(chosen)],
                }
            ]
        },
    }
    return state, draw(st.integers(1, len(meshes)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_any_imported_organisation_shows_no_drift(organisation: tuple[dict[str, Any], int]) -> None:
    state, imported = organisation
    with tempfile.TemporaryDirectory() as directory:
        state_file, out = Path(directory) / "state.yaml", Path(directory) / "permissions.yaml"
        state_file.write_text(yaml.safe_dump(state))
        meshes = [arg for m in state["meshes"][:imported] for arg in ("--mesh", m["id"])]
        result = permctl(
            "import",
            "-q",
            "--emulator",
            state_file,
            *meshes,
            "--directory",
            "d-generated001",
            "--out",
            out,
        )
        assert result.exit_code == 0, result.output
        drift = permctl("drift", "-q", "--emulator", state_file, out)
        assert drift.exit_code == 0, drift.output + out.read_text()
