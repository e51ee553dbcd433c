"""`permctl access` as an auditor runs it: who holds what, directly, through a group or through a
team, filtered, in every format, from live state (the emulator over HTTP, driven by the real
SDK) or offline from the files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from access_org import (
    BOB,
    CI_ROLE,
    DEV_TEST,
    EMPTY,
    EVERYONE,
    EVERYONE_SIZE,
    LATER,
    MALLORY,
    PAST,
    PLATFORM,
    PROD,
    SRE,
    STAGING,
    permissions,
)
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator
from permctl.emulator.faults import DenyRule

HEADER = "service,principal_type,principal,principal_id,target,target_id,role,via,expires,in_file"

runner = CliRunner()


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(permissions()), encoding="utf-8")
    return path


def access(*args: str, verbose: bool = False) -> tuple[int, str, str]:
    result = runner.invoke(app, [*(["-v"] if verbose else []), "access", "--quiet", *args])
    return result.exit_code, result.stdout, result.stderr


def csv_rows(conf: Path, *args: str) -> list[dict[str, str]]:
    code, out, err = access(str(conf), "--format", "csv", *args)
    assert code == 0, err
    assert out.splitlines()[0] == HEADER
    return list(csv.DictReader(io.StringIO(out)))


def brief(rows: list[dict[str, str]]) -> set[tuple[str, ...]]:
    return {(r["principal"], r["target"], r["role"], r["via"]) for r in rows}


# -- who, and through what -----------------------------------------------------------------


def test_a_user_in_two_groups_holding_the_same_access_appears_once_per_group(
    emu: Emulator, conf: Path
) -> None:
    rows = csv_rows(conf, "--principal", "carol")
    assert [(r["target"], r["role"], r["via"], r["principal_type"]) for r in rows] == [
        ("prod-main", "Admin", "group:platform-admins", "user"),
        ("prod-main", "Admin", "group:sre", "user"),
    ]
    assert all(r["principal_id"] == "u-carol" and r["in_file"] == "true" for r in rows)


def test_direct_and_group_access_are_both_shown(emu: Emulator, conf: Path) -> None:
    rows = csv_rows(conf, "--principal", "alice", "--account", "prod-main")
    assert [(r["via"], r["expires"]) for r in rows] == [
        ("direct", LATER.isoformat()),
        ("group:platform-admins", LATER.isoformat()),
    ]


def test_service_mesh_roles_show_each_team_they_come_through(emu: Emulator, conf: Path) -> None:
    rows = csv_rows(conf, "--mesh", "prod")
    assert brief(rows) == {
        ("alice", "prod", "istio-admin", "team:admins"),
        ("alice", "prod", "istio-admin", "team:oncall"),
        ("ci", "prod", "istio-ops", "direct"),
        ("mallory", "prod", "istio-admin", "direct"),
    }
    mallory = next(r for r in rows if r["principal"] == "mallory")
    assert (mallory["in_file"], mallory["principal_id"], mallory["target_id"]) == (
        "false",
        MALLORY,
        PROD,
    )


def test_a_group_without_members_keeps_its_own_row(emu: Emulator, conf: Path) -> None:
    rows = csv_rows(conf, "--access-configuration", "ReadOnly")
    empty = [r for r in rows if r["principal_type"] == "group"]
    assert [(r["principal"], r["principal_id"], r["via"]) for r in empty] == [
        ("empty", EMPTY, "direct")
    ]
    assert len(rows) == EVERYONE_SIZE + 1


def test_a_group_whose_members_may_not_be_read_keeps_its_own_row(emu: Emulator, conf: Path) -> None:
    emu.set_knobs(deny=(DenyRule("ListGroupMembers", frozenset({SRE})),))
    rows = csv_rows(conf, "--account", "prod-main")
    assert {(r["principal"], r["principal_type"], r["via"]) for r in rows} == {
        ("alice", "user", "direct"),
        ("alice", "user", "group:platform-admins"),
        ("carol", "user", "group:platform-admins"),
        ("sre", "group", "direct"),
    }


def test_only_managed_accounts_are_reported(emu: Emulator, conf: Path) -> None:
    targets = {r["target"] for r in csv_rows(conf) if r["service"] == "cloudsso"}
    assert targets == {"prod-main", "dev-test"}


# -- reads ------------------------------------------------------------------------------------


def test_members_are_read_once_per_group_every_page_and_verbose_shows_the_calls(
    emu: Emulator, conf: Path
) -> None:
    code, _, err = access(str(conf), verbose=True)
    assert code == 0, err
    member_calls = [line for line in err.splitlines() if " ListGroupMembers ok " in line]
    # platform-admins, sre, empty: one page each; everyone: two.
    assert len(member_calls) == emu.count("ListGroupMembers") == 5
    # At the end, the calls of each action, per API.
    counted = [line for line in err.splitlines() if line.startswith("api: pace cloudsso ")]
    assert len(counted) == 1
    assert "5 ListGroupMembers" in counted[0]
    assert f"{emu.count('ListAccessAssignments')} ListAccessAssignments" in counted[0]


def test_every_groups_first_page_is_asked_before_any_next_page(emu: Emulator, conf: Path) -> None:
    # One call at a time, so the order is the order permctl asks in: a group's next page waits
    # behind the other groups' first pages rather than keeping them waiting.
    code, _, err = access(str(conf), "--concurrency", "1")
    assert code == 0, err
    asked = [
        (call.params["GroupId"], bool(call.params.get("NextToken")))
        for call in emu.calls
        if call.action == "ListGroupMembers"
    ]
    assert asked == [
        (EMPTY, False),
        (EVERYONE, False),
        (PLATFORM, False),
        (SRE, False),
        (EVERYONE, True),
    ]


def test_members_are_read_only_for_groups_holding_wanted_access(emu: Emulator, conf: Path) -> None:
    csv_rows(conf, "--account", "prod-main")
    assert emu.count("ListGroupMembers") == 2
    emu.reset_log()
    csv_rows(conf, "--mesh", "prod")
    assert emu.count("ListGroupMembers") == 0
    csv_rows(conf, "--expiring-within", "60")  # only the Admin assignments on prod-main expire
    assert emu.count("ListGroupMembers") == 2


# -- filters ----------------------------------------------------------------------------------


def test_principal_matches_a_name_an_id_or_the_group_held_through(
    emu: Emulator, conf: Path
) -> None:
    by_id = csv_rows(conf, "--principal", CI_ROLE)
    assert brief(by_id) == {("ci", "prod", "istio-ops", "direct")}
    through = csv_rows(conf, "--principal", "sre")
    assert brief(through) == {
        ("carol", "prod-main", "Admin", "group:sre"),
        ("dave", "prod-main", "Admin", "group:sre"),
    }
    several = csv_rows(conf, "--principal", "BOB", "--principal", "dave")
    assert {r["principal"] for r in several} == {"bob", "dave"}


def test_mesh_and_account_filters_combine_across_services(emu: Emulator, conf: Path) -> None:
    rows = csv_rows(conf, "--mesh", STAGING, "--account", "prod-main", "--principal", "bob")
    assert brief(rows) == {("bob", "staging", "istio-ops", "direct")}
    rows = csv_rows(conf, "--mesh", "staging", "--account", DEV_TEST, "--principal", "filler-007")
    assert brief(rows) == {("filler-007", "dev-test", "ReadOnly", "group:everyone")}


def test_expiring_within_keeps_access_expiring_by_then_past_included(
    emu: Emulator, conf: Path
) -> None:
    soon = csv_rows(conf, "--expiring-within", "7")
    assert brief(soon) == {
        ("alice", "prod", "istio-admin", "team:admins"),
        ("alice", "prod", "istio-admin", "team:oncall"),
        ("bob", "staging", "istio-ops", "direct"),
    }
    later = csv_rows(conf, "--expiring-within", "40", "--account", "prod-main")
    assert {r["expires"] for r in later} == {LATER.isoformat()}
    assert len(later) == 5  # alice directly, alice and carol via platform-admins, carol and dave


def test_nothing_matching_is_said_plainly(emu: Emulator, conf: Path) -> None:
    code, out, _ = access(str(conf), "--principal", "nobody")
    assert (code, out) == (0, "No access matches.\n")


# -- formats ----------------------------------------------------------------------------------


def test_json_has_the_documented_shape(emu: Emulator, conf: Path) -> None:
    code, out, err = access(str(conf), "--format", "json", "--principal", "bob")
    assert code == 0, err
    document = json.loads(out)
    assert set(document) == {"format_version", "generated_at", "source", "rows"}
    assert (document["format_version"], document["source"]) == ("1", "live")
    assert document["rows"] == [
        {
            "service": "asm",
            "principal_type": "ram_user",
            "principal": "bob",
            "principal_id": BOB,
            "target": "staging",
            "target_id": STAGING,
            "role": "istio-ops",
            "via": "direct",
            "expires": PAST.isoformat(),
            "in_file": True,
        }
    ]


def test_rows_are_sorted_by_service_target_role_principal(emu: Emulator, conf: Path) -> None:
    rows = csv_rows(conf)
    keys = [(r["service"], r["target"], r["role"], r["principal"]) for r in rows]
    assert keys == sorted(keys)


def test_markdown_has_a_table_per_service_and_text_aligned_columns(
    emu: Emulator, conf: Path
) -> None:
    code, out, _ = access(str(conf), "--format", "markdown", "--principal", "alice")
    assert code == 0
    assert "## Service Mesh" in out and "## CloudSSO" in out
    assert "| alice | ram\\_user | prod | istio\\-admin | team\\:admins |" in out
    code, out, _ = access(str(conf), "--principal", "alice")
    lines = out.splitlines()
    assert lines[0].split() == [
        "SERVICE",
        "PRINCIPAL",
        "TYPE",
        "PRINCIPAL",
        "TARGET",
        "ROLE",
        "VIA",
        "EXPIRES",
        "IN",
        "FILE",
    ]
    via_column = lines[0].index("VIA")
    assert {line[via_column:].split()[0] for line in lines[1:]} == {
        "team:admins",
        "team:oncall",
        "direct",
        "group:platform-admins",
    }


def test_out_writes_the_report_to_a_file(emu: Emulator, conf: Path, tmp_path: Path) -> None:
    target = tmp_path / "access.csv"
    code, out, _ = access(str(conf), "--format", "csv", "--out", str(target), "--mesh", "prod")
    assert (code, out) == (0, "")
    assert target.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert len(target.read_text(encoding="utf-8").splitlines()) == 5


def test_a_name_cannot_start_a_spreadsheet_formula(tmp_path: Path) -> None:
    document = permissions()
    document["asm"]["principals"][2]["name"] = "=HYPERLINK(evil)"
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    code, out, _ = access(str(path), "--source", "file", "--format", "csv")
    assert code == 0
    assert ",'=HYPERLINK(evil)," in out


# -- the files, offline -------------------------------------------------------------------------


def test_file_source_needs_no_credentials_and_no_server(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERMCTL_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    code, out, err = access(str(conf), "--source", "file", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["source"] == "file"
    rows = {
        (r["principal"], r["principal_type"], r["target"], r["role"], r["via"])
        for r in document["rows"]
    }
    assert rows == {
        ("alice", "ram_user", "prod", "istio-admin", "team:admins"),
        ("alice", "ram_user", "prod", "istio-admin", "team:oncall"),
        ("bob", "ram_user", "staging", "istio-ops", "direct"),
        ("ci", "ram_role", "prod", "istio-ops", "direct"),
        ("alice", "user", "prod-main", "Admin", "direct"),
        ("platform-admins", "group", "prod-main", "Admin", "direct"),
        ("sre", "group", "prod-main", "Admin", "direct"),
        ("empty", "group", "dev-test", "ReadOnly", "direct"),
        ("everyone", "group", "dev-test", "ReadOnly", "direct"),
    }
    assert all(r["in_file"] for r in document["rows"])


def test_file_source_filters_and_expiry_work_offline(conf: Path) -> None:
    rows = csv_rows(conf, "--source", "file", "--account", "prod-main", "--expiring-within", "60")
    assert {(r["principal"], r["expires"]) for r in rows} == {
        ("alice", LATER.isoformat()),
        ("platform-admins", LATER.isoformat()),
        ("sre", LATER.isoformat()),
    }


def test_the_offline_access_report_imports_no_cloud_sdk_nor_the_plan_stage(conf: Path) -> None:
    # The plan stage and deepdiff under it: nothing the report uses, a fifth of its start-up.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from permctl.access import rows_from_file\n"
        "from permctl.config import load_files\n"
        "from permctl.render import access\n"
        f"access.csv_text(rows_from_file(load_files([Path({str(conf)!r})])))\n"
        "heavy = ('alibabacloud', 'darabonba', 'deepdiff', 'permctl.plan')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_file_source_shows_what_the_files_name_ids_and_folders_included() -> None:
    example = Path(__file__).parents[2] / "permissions.yaml.example"
    rows = csv_rows(example, "--source", "file", "--principal", "bob", "--principal", "alice")
    assert {
        (r["principal"], r["principal_id"], r["target"], r["target_id"], r["role"], r["via"])
        for r in rows
        if r["service"] == "cloudsso"
    } == {
        ("bob", "", "fd-bVaRIG1234", "fd-bVaRIG1234", "ReadOnly", "direct"),
        ("alice", "", "114240524784abcd", "", "ECS-Admin", "direct"),
    }
    alice_on_prod = next(r for r in rows if r["target"] == "prod" and r["principal"] == "alice")
    assert (alice_on_prod["principal_id"], alice_on_prod["via"]) == (
        "278525736094801234",
        "team:mesh-admins",
    )
