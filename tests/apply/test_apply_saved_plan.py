"""`permctl apply --plan FILE`: exactly the saved plan, and only while what it touches is
as it was when planned."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apply_support import (
    BOB,
    DEV_TEST,
    PROD,
    READ_ONLY,
    STAGING,
    apply_json,
    assign_behind_our_back,
    both,
    grant_behind_our_back,
    has_changes,
    permctl,
    permissions,
    write_calls,
    write_file,
)

from permctl.emulator import Emulator
from permctl.model import Assignment, MeshRole
from permctl.plan.changes import sha256_of
from permctl.plan.saved import PLAN_KEY_ENV

ALICE = "278525736094801234"


def saved_plan(
    emu: Emulator, tmp_path: Path, document: dict[str, Any] | None = None, *overrides: str
) -> tuple[Path, Path]:
    """The file and the plan saved from it; the emulator's log starts afresh after planning."""
    file = write_file(tmp_path, document or permissions())
    out = tmp_path / "plan.json"
    code, got, err = permctl("plan", "--quiet", "--out", str(out), *overrides, str(file))
    assert code == 0, got + err
    emu.reset_log()
    return file, out


def edit_by_hand(plan: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change a saved plan and redo its fingerprint and digest, as someone who knows the format
    would: only checks of what the plan does can catch it."""
    document = json.loads(plan.read_text(encoding="utf-8"))
    edit(document)
    document["snapshot"]["asm"].sort(key=lambda principal: principal["principal_id"])
    document["fingerprint"] = sha256_of(document["snapshot"])
    body = {
        name: value for name, value in document.items() if name not in ("plan_digest", "signature")
    }
    document["plan_digest"] = sha256_of(body)
    plan.write_text(json.dumps(document), encoding="utf-8")


def take_alices_admin_roles(document: dict[str, Any]) -> None:
    """Alice holds istio-admin on both managed meshes and the file keeps it that way: the
    update taking both, with the changes and admin counts that follow from it."""
    meshes = sorted((STAGING, PROD))
    admin = [{"mesh_id": mesh, "role": "istio-admin", "role_type": "custom"} for mesh in meshes]
    document["snapshot"]["asm"].append(
        {"principal_id": ALICE, "kind": "ram_user", "permissions": admin}
    )
    removals = [
        {
            "action": "remove",
            "mesh_id": mesh,
            "mesh_name": None,
            "before": "istio-admin",
            "after": None,
            "reason": "desired",
        }
        for mesh in meshes
    ]
    document["asm"]["updates"].append(
        {
            "principal_id": ALICE,
            "principal_name": None,
            "kind": "ram_user",
            "label": "alice",
            "before": admin,
            "after": [],
            "changes": removals,
        }
    )
    for count in document["safety"]["mesh_admins"]:
        count["after"] -= count["mesh_id"] in meshes


def test_a_saved_plan_applies_without_asking(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(emu, tmp_path)
    code, out, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 0, err
    assert "Apply complete: 12 done" in out
    # Named as the plan named them, though apply reads no name.
    assert "done     grant bob (278525736094805678)" in out
    assert "on account dev-test (114240524784abcd)" in out
    assert not has_changes(file)


def test_a_principal_changed_since_the_plan_makes_it_stale(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(emu, tmp_path)
    grant_behind_our_back(emu, BOB, MeshRole(PROD, "istio-admin"))
    emu.reset_log()
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1
    assert f"live state changed since it was made (principal bob ({BOB}))" in err
    assert "run permctl plan again" in err
    assert write_calls(emu) == 0


def test_an_account_changed_since_the_plan_makes_it_stale(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(emu, tmp_path)
    assign_behind_our_back(emu, Assignment(READ_ONLY, DEV_TEST, "User", "u-00erinq42wiltcrkabcd"))
    emu.reset_log()
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1 and f"(account dev-test ({DEV_TEST}));" in err and BOB not in err
    assert write_calls(emu) == 0


def test_a_plan_made_from_other_files_is_refused(emu: Emulator, tmp_path: Path) -> None:
    _, plan = saved_plan(emu, tmp_path)
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
    file, unsigned = saved_plan(emu, tmp_path)
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


def test_a_saved_plan_edited_to_be_unsafe_is_refused_with_its_reasons(
    emu: Emulator, tmp_path: Path
) -> None:
    """6 of 18 managed grants are changed as planned (33 %); taking alice's two as well is 44 %
    and touches a protected principal."""
    safety = {"max_delete_percent": 40, "protected_principals": ["alice"]}
    file, plan = saved_plan(emu, tmp_path, permissions(settings={"safety": safety}))
    edit_by_hand(plan, take_alices_admin_roles)
    for overrides in ((), ("--force", "--allow-lockout")):
        code, _, err = permctl("apply", "--quiet", "--plan", str(plan), *overrides, str(file))
        assert code == 1
        assert "refusing the saved plan: it is unsafe" in err
        assert "protected principals would lose or change 2 grant(s)" in err
        assert f"alice ({ALICE}) on prod ({PROD}): istio-admin -> nothing" in err
        assert "too much change: 8 of 18 existing managed grants (44.4%)" in err
        assert "nothing was applied" in err and "run permctl plan again" in err
    assert emu.calls == ()


@pytest.mark.parametrize(
    ("override", "document", "reason"),
    [
        (
            "--force",
            permissions(settings={"safety": {"max_delete_percent": 10}}),
            "too much change: 6 of 18 existing managed grants (33.3%)",
        ),
        (
            "--allow-lockout",
            permissions(
                asm={
                    **permissions(prune_asm=True)["asm"],
                    "principals": [
                        {"name": "alice", "ram_user": "alice", "roles": both("istio-ops")}
                    ],
                },
            ),
            "the plan would leave staging (",
        ),
    ],
)
def test_a_plan_accepted_with_an_override_needs_it_again_to_be_applied(
    emu: Emulator, tmp_path: Path, override: str, document: dict[str, Any], reason: str
) -> None:
    file, plan = saved_plan(emu, tmp_path, document, override)
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1 and reason in err
    assert f"it was planned with {override}: pass {override} again to apply it" in err
    assert emu.calls == ()
    code, out, err = permctl("apply", "--quiet", "--plan", str(plan), override, str(file))
    assert code == 0, err
    assert "Apply complete" in out and not has_changes(file)


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (
            lambda document: document["safety"].update(planned_with=None),
            "refusing the saved plan: it does not record the overrides it was planned with; "
            "run permctl plan again",
        ),
        (
            lambda document: document["safety"].update(planned_with="force"),
            "not a valid permctl plan file: safety.planned_with",
        ),
        (
            lambda document: document["safety"]["mesh_admins"].pop(),
            "refusing the saved plan: its counts of mesh admins name other meshes than it; "
            "run permctl plan again",
        ),
    ],
    ids=["missing", "invalid", "other meshes"],
)
def test_a_plan_without_a_valid_record_of_its_safety_checks_is_refused(
    emu: Emulator, tmp_path: Path, edit: Callable[[dict[str, Any]], None], why: str
) -> None:
    file, plan = saved_plan(emu, tmp_path)
    edit_by_hand(plan, edit)
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1
    assert why in err and emu.calls == ()


def test_a_plan_whose_safety_settings_were_edited_is_refused(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(emu, tmp_path)
    edit_by_hand(
        plan, lambda document: document["safety"]["settings"].update(max_delete_percent=99.0)
    )
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1
    assert "refusing the saved plan: its safety settings are not those of the files" in err
    assert emu.calls == ()


def test_a_plan_saved_in_format_1_is_refused_with_plan_again(emu: Emulator, tmp_path: Path) -> None:
    file, plan = saved_plan(emu, tmp_path)
    edit_by_hand(plan, lambda document: document.update(format_version="1"))
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(file))
    assert code == 1
    assert "plan file format '1' is not supported (this permctl reads format '2')" in err
    assert "run permctl plan again" in err and emu.calls == ()


def test_a_plan_applied_from_another_directory_names_the_files_it_needs(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned_in = tmp_path / "repo"
    planned_in.mkdir()
    file = write_file(planned_in, permissions(), "permissions.yaml")
    monkeypatch.chdir(planned_in)
    code, out, err = permctl("plan", "--quiet", "--out", "plan.json")
    assert code == 0, out + err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    emu.reset_log()

    code, _, err = permctl("apply", "--quiet", "--plan", str(planned_in / "plan.json"))

    assert code == 1
    assert f"looked for {elsewhere / 'permissions.yaml'}" in err
    assert f"permissions.yaml: {file}" in err
    assert f"from the directory where permctl plan ran ({planned_in})" in err
    assert emu.calls == ()
    suggested = err.rsplit("permctl ", 1)[1].split()
    code, out, err = permctl(*suggested, "--quiet")
    assert code == 0, err
    assert "Apply complete: 12 done" in out
