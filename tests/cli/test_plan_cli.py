"""`permctl plan` as users run it: the README's main command, the formats, saved plans, exit
codes, unsafe plans and bad input. The API is the emulator over HTTP, driven by the real SDK."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from permctl import workflow
from permctl.cli import app
from permctl.emulator import Emulator
from permctl.emulator.faults import DenyRule
from permctl.plan.saved import read_plan_file

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"
GOLDEN = Path(__file__).parent / "golden"
PROD, STAGING = "c57b848115458460583a4260cb713abc", "c4ec191f4e12145c09286ea3e2b8fabc"
SANDBOX = "d1e2f3a4b5c6d7e8f9a0b1c2d3e4fabc"

runner = CliRunner()


def plan(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["plan", "--quiet", *args])
    return result.exit_code, result.stdout, result.stderr


def asm_file(tmp_path: Path, asm: dict[str, object]) -> Path:
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "asm": asm}), encoding="utf-8")
    return path


def matching_file(tmp_path: Path) -> Path:
    """A file that declares exactly what the example organisation holds on prod and staging."""
    document = {
        "version": 1,
        "asm": {
            "meshes": {"prod": PROD, "staging": STAGING},
            "principals": [
                {"name": "alice", "ram_user": "alice", "roles": {"prod": "istio-admin"}},
                {"name": "dave", "ram_user": "dave", "roles": {"prod": "istio-ops"}},
            ],
        },
    }
    document["asm"]["principals"][0]["roles"]["staging"] = "istio-admin"  # type: ignore[index]
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_readme_main_command_prints_the_example_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example's expiry dates are in 2027; the golden file is of a day before them.
    monkeypatch.setattr(workflow, "utc_today", lambda: date(2026, 12, 1))
    code, out, err = plan(str(EXAMPLE), "--emulator", str(STATE))
    assert code == 0, err
    golden = GOLDEN / "example-plan.txt"
    if os.environ.get("PERMCTL_UPDATE_GOLDEN") == "1":
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_the_plan_keeps_grants_on_meshes_the_file_does_not_manage() -> None:
    code, out, _ = plan(str(EXAMPLE), "--emulator", str(STATE), "--format", "json")
    assert code == 0
    document = json.loads(out)
    carol = next(u for u in document["asm"]["updates"] if u["label"] == "carol")
    assert {"mesh_id": SANDBOX, "role": "istio-admin"} in [
        {"mesh_id": g["mesh_id"], "role": g["role"]} for g in carol["after"]
    ]


def test_detailed_exitcode_is_2_with_changes_and_0_without(tmp_path: Path) -> None:
    assert plan(str(EXAMPLE), "--emulator", str(STATE), "--detailed-exitcode")[0] == 2
    code, out, err = plan(
        str(matching_file(tmp_path)), "--emulator", str(STATE), "--detailed-exitcode"
    )
    assert code == 0, err
    assert "0 to add, 0 to change, 0 to remove" in out or "No changes" in out


def test_without_detailed_exitcode_changes_exit_0() -> None:
    assert plan(str(EXAMPLE), "--emulator", str(STATE))[0] == 0


def test_json_and_markdown_describe_the_same_plan() -> None:
    _, as_json, _ = plan(str(EXAMPLE), "--emulator", str(STATE), "--format", "json")
    _, as_markdown, _ = plan(str(EXAMPLE), "--emulator", str(STATE), "--format", "markdown")
    document = json.loads(as_json)
    assert document["format_version"] == "2"
    assert document["summary"]["creates"] == 4
    assert "<summary>Service Mesh: 5 role changes on 4 principals</summary>" in as_markdown


def test_saved_plan_holds_the_snapshot_and_no_secret(example_emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    code, _, err = plan(str(EXAMPLE), "--out", str(out))
    assert code == 0, err
    saved = read_plan_file(out).plan
    assert {u.principal_id for u in saved.asm_updates} <= {
        p.principal_id for p in saved.snapshot.asm
    }
    assert len(saved.sso_changes) == 4
    assert example_emu.access_key_secret not in out.read_text(encoding="utf-8")
    assert example_emu.writes == ()


def test_an_unsafe_plan_exits_1_names_the_reason_and_saves_nothing(
    example_emu: Emulator, tmp_path: Path
) -> None:
    path = asm_file(
        tmp_path,
        {
            "meshes": {"prod": PROD},
            "principals": [{"name": "alice", "ram_user": "alice", "roles": {}}],
            "prune_unlisted": True,
        },
    )
    out = tmp_path / "plan.json"
    code, stdout, stderr = plan(str(path), "--out", str(out))
    assert code == 1
    assert "no istio-admin" in stdout and "no istio-admin" in stderr
    assert not out.exists()
    forced_code, _, forced_err = plan(str(path), "--force", "--allow-lockout", "--out", str(out))
    assert forced_code == 0, forced_err
    assert out.exists()
    assert example_emu.writes == ()


def one_principal_file(tmp_path: Path, ram_user: str, role: str) -> Path:
    """Line 6 names the RAM user, line 7 the role: errors point at them."""
    path = tmp_path / "permissions.yaml"
    path.write_text(
        "version: 1\nasm:\n  meshes: {prod: " + PROD + "}\n  principals:\n"
        f"    - name: x\n      ram_user: {ram_user}\n      roles: {{prod: {role}}}\n"
    )
    return path


def test_a_broken_file_names_file_line_and_field_and_calls_nothing(
    example_emu: Emulator, tmp_path: Path
) -> None:
    path = one_principal_file(tmp_path, "alice", "istio-root")
    code, out, err = plan(str(path))
    assert code == 1
    assert f"{path}:7:" in err and "asm.principals[0].roles.prod" in err
    assert "Traceback" not in out + err
    assert example_emu.calls == ()


def test_a_name_that_does_not_exist_is_reported_at_its_place(
    example_emu: Emulator, tmp_path: Path
) -> None:
    path = one_principal_file(tmp_path, "alicia", "istio-ops")
    code, _, err = plan(str(path))
    assert code == 1
    assert f"{path}:6:" in err and "alicia" in err and "alice" in err
    assert example_emu.writes == ()


def test_an_unreadable_emulator_state_is_one_message(tmp_path: Path) -> None:
    state = tmp_path / "state.yaml"
    state.write_text("meshes: [")
    code, out, err = plan(str(EXAMPLE), "--emulator", str(state))
    assert code == 1
    assert str(state) in err and "Traceback" not in out + err


def test_without_credentials_the_error_says_how_to_provide_them() -> None:
    # Every test starts with no credentials at all (tests/conftest.py): no variables, a HOME
    # without an `aliyun` profile, no ECS metadata lookup.
    code, _, err = plan(str(EXAMPLE))
    assert code == 1
    assert "No Alibaba Cloud credentials found" in err and "--emulator" in err


def test_an_api_failure_prints_the_request_id_and_how_to_diagnose(example_emu: Emulator) -> None:
    example_emu.set_knobs(deny=(DenyRule("ListAccessAssignments"),))
    code, _, err = plan(str(EXAMPLE))
    assert code == 1
    request_id = re.search(r"RequestId ([0-9A-F-]+)", err)
    assert request_id, err
    assert "ListAccessAssignments" in err and "NoPermission" in err
    assert f"permctl diagnose {request_id.group(1)}" in err


def test_principals_not_in_the_file_are_named_by_one_listing_of_their_kind(
    point_at: Callable[[Emulator], None], tmp_path: Path
) -> None:
    holders = [{"id": "201", "name": "alice", "grants": [{"mesh": PROD, "role": "istio-admin"}]}]
    state = {"meshes": [{"id": PROD, "name": "prod"}], "ram": {"users": holders, "roles": []}}
    alice = {"name": "alice", "ram_user": "201", "roles": {"prod": "istio-admin"}}
    path = asm_file(tmp_path, {"meshes": {"prod": PROD}, "principals": [alice]})
    with Emulator(state) as emulator:
        point_at(emulator)
        assert plan(str(path))[0] == 0
        assert (emulator.count("ListUsers"), emulator.count("ListRoles")) == (0, 0)
    holders.append(
        {"id": "202", "name": "break-glass", "grants": [{"mesh": PROD, "role": "istio-admin"}]}
    )
    with Emulator(state) as emulator:
        point_at(emulator)
        code, out, err = plan(str(path))
        assert code == 0, err
        assert "? break-glass (202), RAM user, on prod (" in out
        assert (emulator.count("ListUsers"), emulator.count("ListRoles")) == (1, 0)


def test_a_protected_principal_the_file_does_not_list_is_kept_even_when_pruning(
    tmp_path: Path,
) -> None:
    """break-glass is protected by its RAM name only; pruning would otherwise remove it."""
    pruning = tmp_path / "permissions.yaml"
    pruning.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "prune_unlisted: false", "prune_unlisted: true"
        ),
        encoding="utf-8",
    )
    code, out, err = plan(str(pruning), "--emulator", str(STATE), "--force", "--allow-lockout")
    assert code == 1
    assert "protected principals would lose or change 2 grant(s)" in err
    assert "break-glass (278525736094800001)" in out
