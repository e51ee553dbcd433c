"""`permctl apply --plan FILE`: exactly the saved plan, and only while what it touches is
as it was when planned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apply_support import (
    BOB,
    DEV_TEST,
    PROD,
    READ_ONLY,
    apply_json,
    assign_behind_our_back,
    grant_behind_our_back,
    has_changes,
    permctl,
    permissions,
    write_calls,
    write_file,
)

from permctl.emulator import Emulator
from permctl.model import Assignment, MeshRole
from permctl.planfile import PLAN_KEY_ENV


def saved_plan(tmp_path: Path) -> tuple[Path, Path]:
    file = write_file(tmp_path, permissions())
    out = tmp_path / "plan.json"
    code, got, err = permctl("plan", "--quiet", "--out", str(out), str(file))
    assert code == 0, got + err
    return file, out


def test_a_saved_plan_applies_without_asking(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(tmp_path)
    code, out, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 0, err
    assert "Apply complete: 12 done" in out
    assert not has_changes(file)


def test_a_principal_changed_since_the_plan_makes_it_stale(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(tmp_path)
    grant_behind_our_back(emu, BOB, MeshRole(PROD, "istio-admin"))
    emu.reset_log()
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1
    assert "live state changed since it was made" in err and f"principal {BOB}" in err
    assert "run permctl plan again" in err
    assert write_calls(emu) == 0


def test_an_account_changed_since_the_plan_makes_it_stale(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(tmp_path)
    assign_behind_our_back(emu, Assignment(READ_ONLY, DEV_TEST, "User", "u-00erinq42wiltcrkabcd"))
    emu.reset_log()
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1 and f"account {DEV_TEST}" in err and f"principal {BOB}" not in err
    assert write_calls(emu) == 0


def test_a_plan_made_from_other_files_is_refused(emu: Emulator, tmp_path: Path) -> None:
    _, plan = saved_plan(tmp_path)
    other = permissions()
    other["asm"]["principals"].pop()
    emu.reset_log()
    code, _, err = permctl(
        "apply", "--quiet", "--plan", str(plan), str(write_file(tmp_path, other, "other.yaml"))
    )
    assert code == 1 and "other permission files" in err
    assert emu.calls == ()


def test_with_a_plan_key_only_an_untouched_signed_plan_is_applied(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, unsigned = saved_plan(tmp_path)
    monkeypatch.setenv(PLAN_KEY_ENV, "correct horse battery staple")
    code, _, err = permctl("apply", "--quiet", "--plan", str(unsigned), str(file))
    assert code == 1 and PLAN_KEY_ENV in err
    signed = tmp_path / "signed.json"
    assert permctl("plan", "--quiet", "--out", str(signed), str(file))[0] == 0
    document = json.loads(signed.read_text(encoding="utf-8"))
    document["asm"]["updates"][0]["label"] = "someone else"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    code, _, err = permctl("apply", "--quiet", "--plan", str(tampered), str(file))
    assert code == 1 and "refusing the saved plan" in err
    assert write_calls(emu) == 0
    code, report, err = apply_json("--plan", str(signed), str(file))
    assert code == 0, err
    assert report["summary"]["done"] == 12
    assert {item["service"] for item in report["items"]} == {"asm", "cloudsso"}
