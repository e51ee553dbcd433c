"""`permctl drift` as a scheduled job runs it: through the CLI, against the emulator over HTTP
with the real SDK clients."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator

runner = CliRunner()

PROD, STAGING, OTHER = "c" + "1" * 31 + "a", "c" + "2" * 31 + "a", "c" + "3" * 31 + "a"
ALICE, BOB, CAROL, DAVE, EVE = (
    f"27852573609480{n}" for n in ("0001", "0002", "0003", "0004", "0005")
)
DIRECTORY = "d-drift0000001"
ACC1, ACC2, ACC3 = "100000000000acc1", "100000000000acc2", "100000000000acc3"
ADMIN_AC, READ_AC = "ac-admin0000001", "ac-read00000001"
SSO_ALICE, SSO_BOB, OPS_GROUP = "u-alice0000001", "u-bob000000001", "g-ops000000001"
LONG_AGO = "2020-01-01"

# One of each kind on each service, and grants outside the managed scope that are no drift.
EXPECTED = {
    ("asm", "role_mismatch", BOB, STAGING),
    ("asm", "in_file_missing_live", CAROL, PROD),
    ("asm", "expired_still_live", DAVE, PROD),
    ("asm", "live_not_in_file", EVE, PROD),
    ("cloudsso", "in_file_missing_live", OPS_GROUP, ACC1),
    ("cloudsso", "expired_still_live", SSO_BOB, ACC2),
    ("cloudsso", "live_not_in_file", SSO_ALICE, ACC2),
}


def grants(*held: tuple[str, str]) -> list[dict[str, str]]:
    return [{"mesh": mesh, "role": role} for mesh, role in held]


def assignment(ac: str, account: str, kind: str, principal: str) -> dict[str, str]:
    return {
        "access_configuration": ac,
        "account": account,
        "principal_type": kind,
        "principal": principal,
    }


def live_state() -> dict[str, Any]:
    return {
        "account_id": "1000000000000001",
        "access_keys": [{"id": "drift-test-key", "secret": "drift-test-secret-not-real"}],
        "meshes": [
            {"id": m, "name": n}
            for m, n in ((PROD, "prod"), (STAGING, "staging"), (OTHER, "other"))
        ],
        "ram": {
            "users": [
                {
                    "id": ALICE,
                    "name": "alice",
                    "grants": grants((PROD, "istio-admin"), (OTHER, "istio-ops")),
                },
                {"id": BOB, "name": "bob", "grants": grants((STAGING, "istio-readonly"))},
                {"id": CAROL, "name": "carol", "grants": grants((OTHER, "istio-admin"))},
                {"id": DAVE, "name": "dave", "grants": grants((PROD, "istio-ops"))},
                {"id": EVE, "name": "eve", "grants": grants((PROD, "istio-ops"))},
            ],
            "roles": [
                {
                    "id": "300000000000000001",
                    "name": "elsewhere",
                    "grants": grants((OTHER, "istio-ops")),
                }
            ],
        },
        "resource_directory": {
            "id": "rd-drift1",
            "root_folder_id": "r-drift1",
            "folders": [],
            "accounts": [
                {"id": a, "name": f"account-{a[-1]}", "display_name": f"account-{a[-1]}"}
                for a in (ACC1, ACC2, ACC3)
            ],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "drift",
                    "users": [{"id": SSO_ALICE, "name": "alice"}, {"id": SSO_BOB, "name": "bob"}],
                    "groups": [{"id": OPS_GROUP, "name": "ops"}],
                    "access_configurations": [
                        {"id": ADMIN_AC, "name": "Admin"},
                        {"id": READ_AC, "name": "Read"},
                    ],
                    "assignments": [
                        assignment(ADMIN_AC, ACC1, "User", SSO_ALICE),
                        assignment(ADMIN_AC, ACC2, "User", SSO_BOB),
                        assignment(READ_AC, ACC2, "User", SSO_ALICE),
                        assignment(ADMIN_AC, ACC3, "User", SSO_BOB),
                    ],
                }
            ]
        },
    }


def desired() -> dict[str, Any]:
    return {
        "version": 1,
        "asm": {
            "meshes": {"prod": PROD, "staging": STAGING},
            "principals": [
                {"name": "alice", "ram_user": ALICE, "roles": {"prod": "istio-admin"}},
                {"name": "bob", "ram_user": "bob", "roles": {"staging": "istio-ops"}},
                {"name": "carol", "ram_user": CAROL, "roles": {"prod": "istio-readonly"}},
                {
                    "name": "dave",
                    "ram_user": DAVE,
                    "roles": {"prod": "istio-ops"},
                    "expires": LONG_AGO,
                },
            ],
        },
        "cloudsso": {
            "directory": DIRECTORY,
            "assignments": [
                {"access_configuration": "Admin", "accounts": [ACC1], "users": ["alice"]},
                {"access_configuration": "Read", "accounts": [ACC1], "groups": ["ops"]},
                {
                    "access_configuration": "Admin",
                    "accounts": ["account-2"],
                    "users": ["bob"],
                    "expires": LONG_AGO,
                },
            ],
        },
    }


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def org(tmp_path: Path) -> tuple[Path, Path]:
    """(permissions file, emulator state file)."""
    return write_yaml(tmp_path / "permissions.yaml", desired()), write_yaml(
        tmp_path / "live.yaml", live_state()
    )


def drift(*args: str | Path) -> Any:
    return runner.invoke(app, ["drift", "--quiet", *map(str, args)])


def found(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (
            i["service"],
            i["kind"],
            i["principal_id"],
            i["mesh_id"] if i["service"] == "asm" else i["account_id"],
        )
        for i in report["items"]
    }


def test_every_kind_of_drift_is_reported_and_exits_2(org: tuple[Path, Path]) -> None:
    config, state = org
    result = drift(config, "--emulator", state, "--format", "json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert found(report) == EXPECTED
    assert report["format_version"] == "1"
    assert report["has_drift"] is True
    assert report["summary"]["total"] == len(EXPECTED)
    assert report["summary"]["by_service"]["asm"] == {
        "live_not_in_file": 1,
        "in_file_missing_live": 1,
        "role_mismatch": 1,
        "expired_still_live": 1,
    }


def test_json_items_say_what_each_side_holds_with_names(org: tuple[Path, Path]) -> None:
    config, state = org
    items = json.loads(drift(config, "--emulator", state, "--format", "json").stdout)["items"]
    by_kind = {(i["service"], i["kind"]): i for i in items}
    mismatch = by_kind[("asm", "role_mismatch")]
    assert (mismatch["principal_name"], mismatch["mesh_name"]) == ("bob", "staging")
    assert (mismatch["live_role"], mismatch["file_role"]) == ("istio-readonly", "istio-ops")
    assert by_kind[("asm", "expired_still_live")]["file_role"] is None
    undeclared = by_kind[("cloudsso", "live_not_in_file")]
    assert undeclared["access_configuration_name"] == "Read"
    assert (undeclared["live"], undeclared["in_file"]) == (True, False)
    assert len({i["key"] for i in items}) == len(items)


def test_a_file_matching_live_state_has_no_drift_and_exits_0(tmp_path: Path) -> None:
    config = write_yaml(
        tmp_path / "p.yaml",
        {
            "version": 1,
            "asm": {
                "meshes": {"prod": PROD},
                "principals": [
                    {"name": "alice", "ram_user": ALICE, "roles": {"prod": "istio-admin"}},
                    {"name": "dave", "ram_user": DAVE, "roles": {"prod": "istio-ops"}},
                    {"name": "eve", "ram_user": EVE, "roles": {"prod": "istio-ops"}},
                ],
            },
        },
    )
    state = write_yaml(tmp_path / "live.yaml", live_state())
    for output_format in ("text", "json"):
        result = drift(config, "--emulator", state, "--format", output_format)
        assert result.exit_code == 0, result.output
    assert result.stdout and json.loads(result.stdout)["items"] == []
    assert drift(config, "--emulator", state).stdout == "No drift: live state matches the file.\n"


def test_text_groups_items_by_service_and_kind(org: tuple[Path, Path]) -> None:
    config, state = org
    result = drift(config, "--emulator", state, "--format", "text")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == "Service Mesh"
    assert "  Role mismatch (1):" in lines
    assert (
        f"    RAM user bob ({BOB}) on mesh staging ({STAGING}): live istio-readonly, "
        "file istio-ops" in lines
    )
    assert f"CloudSSO (directory {DIRECTORY})" in lines
    assert (
        f"    User bob ({SSO_BOB}) on account account-2 ({ACC2}): live Admin ({ADMIN_AC}), "
        "file expired" in lines
    )
    assert lines[-1] == (
        "Drift: 7 items: 2 live but not in the file; 2 in the file but missing live; "
        "1 role mismatch; 2 expired but still live."
    )


def test_markdown_has_a_count_table_and_escaped_details(org: tuple[Path, Path]) -> None:
    config, state = org
    result = drift(config, "--emulator", state, "--format", "markdown")
    assert result.exit_code == 2
    text = result.stdout
    assert text.startswith("## permctl drift\n")
    assert "| Service Mesh | 1 | 1 | 1 | 1 |" in text
    assert "| CloudSSO | 1 | 1 | 0 | 1 |" in text
    assert text.count("<details") == 2
    assert "| role mismatch | RAM user bob \\(" in text


def metrics(path: Path) -> dict[str, float]:
    samples = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_file_counts_drift_by_service_and_kind(
    org: tuple[Path, Path], tmp_path: Path
) -> None:
    config, state = org
    prom = tmp_path / "metrics" / "permctl.prom"
    prom.parent.mkdir()
    before = time.time()
    assert drift(config, "--emulator", state, "--metrics-file", prom).exit_code == 2
    samples = metrics(prom)
    assert samples.pop("permctl_drift_success") == 1
    assert before - 1 <= samples.pop("permctl_drift_last_run_timestamp_seconds") <= time.time()
    expected = Counter((service, kind) for service, kind, _, _ in EXPECTED)
    kinds = ("live_not_in_file", "in_file_missing_live", "role_mismatch", "expired_still_live")
    configuration_kinds = ("access_configuration_differs", "reprovision_required")
    assert samples == {
        f'permctl_drift_items{{service="{s}",kind="{k}"}}': expected[(s, k)]
        for s in ("asm", "cloudsso")
        for k in kinds + (configuration_kinds if s == "cloudsso" else ())
    }
    text = prom.read_text()
    assert "# TYPE permctl_drift_items gauge\n" in text
    assert [p.name for p in prom.parent.iterdir()] == ["permctl.prom"]  # no temporary left


def test_a_failed_run_writes_success_0_and_no_counts(
    org: tuple[Path, Path], tmp_path: Path
) -> None:
    config, _ = org
    prom = tmp_path / "permctl.prom"
    prom.write_text("permctl_drift_success 1\n")
    result = drift(config, "--emulator", tmp_path / "no-such-state.yaml", "--metrics-file", prom)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    samples = metrics(prom)
    assert samples["permctl_drift_success"] == 0
    assert not any(name.startswith("permctl_drift_items") for name in samples)


def test_an_invalid_file_is_an_error_with_success_0(tmp_path: Path) -> None:
    config = write_yaml(
        tmp_path / "p.yaml",
        {"version": 1, "asm": {"meshes": {"prod": PROD}, "principals": [{"name": "x"}]}},
    )
    prom = tmp_path / "permctl.prom"
    result = drift(
        config, "--emulator", write_yaml(tmp_path / "s.yaml", live_state()), "--metrics-file", prom
    )
    assert result.exit_code == 1
    assert "give exactly one of ram_user or ram_role" in result.stderr
    assert metrics(prom)["permctl_drift_success"] == 0


def test_since_baseline_shows_only_new_drift_so_a_schedule_alerts_once(
    org: tuple[Path, Path], tmp_path: Path
) -> None:
    config, state = org
    baseline = tmp_path / "drift.json"
    prom = tmp_path / "permctl.prom"
    schedule = [
        config,
        "--emulator",
        state,
        "--since-baseline",
        baseline,
        "--out",
        baseline,
        "--metrics-file",
        prom,
    ]

    first = runner.invoke(app, ["drift", *map(str, schedule)])
    assert first.exit_code == 2
    assert f"No baseline at {baseline} yet: all drift is new." in first.stderr
    assert len(json.loads(baseline.read_text())["items"]) == len(EXPECTED)

    second = drift(*schedule, "--format", "json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert report["items"] == []
    assert report["since_baseline"] == {
        "path": str(baseline),
        "found": True,
        "known_items_left_out": 7,
    }
    assert metrics(prom)["permctl_drift_new_items"] == 0
    assert metrics(prom)['permctl_drift_items{service="asm",kind="live_not_in_file"}'] == 1

    changed = live_state()
    changed["ram"]["users"][0]["grants"].append({"mesh": STAGING, "role": "istio-readonly"})
    write_yaml(state, changed)
    third = drift(*schedule, "--format", "json")
    assert third.exit_code == 2
    assert found(json.loads(third.stdout)) == {("asm", "live_not_in_file", ALICE, STAGING)}
    assert drift(*schedule).exit_code == 0  # alerted once


def test_text_says_how_many_known_items_the_baseline_left_out(
    org: tuple[Path, Path], tmp_path: Path
) -> None:
    config, state = org
    baseline = tmp_path / "drift.json"
    drift(config, "--emulator", state, "--out", baseline)
    result = drift(config, "--emulator", state, "--since-baseline", baseline)
    assert result.stdout == f"No new drift. 7 items already in {baseline} not shown.\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the baseline is not JSON"),
        ('{"format_version": "1"}', "not a drift report of format '1'"),
        ('{"format_version": "9", "items": []}', "not a drift report of format '1'"),
    ],
)
def test_an_unreadable_baseline_is_an_error_before_any_call(
    org: tuple[Path, Path], tmp_path: Path, content: str, message: str
) -> None:
    config, state = org
    baseline = tmp_path / "drift.json"
    baseline.write_text(content)
    result = drift(config, "--emulator", state, "--since-baseline", baseline)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_drift_makes_exactly_the_calls_plan_makes_and_writes_nothing(
    org: tuple[Path, Path], point_at: Callable[[Emulator], None]
) -> None:
    """Against a separately served emulator, reached as a user points permctl at one, so every
    call is counted."""
    config, state = org
    with Emulator(state) as emu:
        point_at(emu)
        plan = runner.invoke(app, ["plan", "--quiet", str(config)])
        assert plan.exit_code == 0, plan.output
        plan_calls = emu.counts()
        emu.reset_log()
        assert drift(config).exit_code == 2
        assert emu.counts() == plan_calls
        assert emu.writes == ()
    assert plan_calls["DescribeUserPermissions"] == 6  # the four listed, eve and the role


def test_secrets_never_reach_the_report_or_the_metrics(
    org: tuple[Path, Path], tmp_path: Path
) -> None:
    config, state = org
    out, prom = tmp_path / "r.json", tmp_path / "m.prom"
    result = drift(config, "--emulator", state, "--out", out, "--metrics-file", prom)
    for text in (result.output, out.read_text(), prom.read_text()):
        assert "drift-test-secret" not in text
    assert re.search(r"permctl_drift_success 1\b", prom.read_text())
