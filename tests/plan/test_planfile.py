"""Saved plans: what apply executes must be what plan wrote, or apply must refuse it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from plan_states import OTHER, PROD, TODAY, rich_example

from permctl.model import DesiredState
from permctl.plan import Plan, build_plan
from permctl.plan.changes import sha256_of
from permctl.plan.saved import (
    PlanFileError,
    TamperedPlanFile,
    UnsupportedPlanFile,
    read_plan_file,
    sign,
    write_plan_file,
)

CREATED = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
KEY = b"test-signing-key"


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERMCTL_PLAN_KEY", raising=False)


def _plan() -> Plan:
    return build_plan(*rich_example(), TODAY)


def _write(path: Path, plan: Plan | None = None, key: bytes | None = None) -> Path:
    write_plan_file(
        plan or _plan(),
        path,
        config_digest="sha256:config",
        permctl_version="0.1.0",
        desired_context={"files": ["permissions.yaml"], "deprovision_strategy": "None"},
        created_at=CREATED,
        key=key,
    )
    return path


def _edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_round_trip_keeps_everything_apply_needs(tmp_path: Path) -> None:
    plan = _plan()

    saved = read_plan_file(_write(tmp_path / "plan.json", plan))

    assert saved.fingerprint() == plan.fingerprint()
    assert saved.snapshot == plan.snapshot
    assert [(u.principal_id, u.kind, u.label, u.after) for u in saved.asm_updates] == [
        (u.principal_id, u.kind, u.label, u.after) for u in plan.asm_updates
    ]
    assert saved.sso_changes == plan.sso_changes
    assert saved.directory_id == "d-dir"
    assert saved.deprovision_strategy == "None"
    assert saved.managed_mesh_ids == plan.managed_mesh_ids
    assert (saved.config_digest, saved.permctl_version, saved.created_at) == (
        "sha256:config",
        "0.1.0",
        CREATED,
    )
    assert saved.desired_context["files"] == ["permissions.yaml"]
    assert not saved.signed


def test_editing_a_change_is_detected(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json")
    _edit(
        path,
        lambda d: d["asm"]["updates"][0]["after"].append(
            {"mesh_id": PROD, "role": "istio-admin", "role_type": "custom"}
        ),
    )

    with pytest.raises(TamperedPlanFile, match="changed after it was written"):
        read_plan_file(path)


def _redigest(document: dict[str, Any]) -> None:
    """What someone editing the file by hand would do to get past the digest check."""
    body = {k: v for k, v in document.items() if k not in ("plan_digest", "signature")}
    document["plan_digest"] = sha256_of(body)


def _drop_alices_grants_on_unmanaged_meshes(document: dict[str, Any]) -> None:
    (alice,) = [u for u in document["asm"]["updates"] if u["principal_id"] == "u1"]
    alice["after"] = [g for g in alice["after"] if g["mesh_id"] != OTHER]


def _empty_a_snapshot_entry(document: dict[str, Any]) -> None:
    document["snapshot"]["asm"][0]["permissions"] = []


def _turn_cloudsso_deletes_into_creates(document: dict[str, Any]) -> None:
    for change in document["cloudsso"]["changes"]:
        change["action"] = "create"


@pytest.mark.parametrize(
    ("tamper", "refusal"),
    [
        (_drop_alices_grants_on_unmanaged_meshes, "meshes the file does not manage"),
        (_empty_a_snapshot_entry, "snapshot does not match its fingerprint"),
        (_turn_cloudsso_deletes_into_creates, "CloudSSO create does not match"),
    ],
)
def test_edits_are_refused_even_with_a_recomputed_digest(
    tmp_path: Path, tamper: Callable[[dict[str, Any]], None], refusal: str
) -> None:
    path = _write(tmp_path / "plan.json")

    def tamper_and_redigest(document: dict[str, Any]) -> None:
        tamper(document)
        _redigest(document)

    _edit(path, tamper_and_redigest)

    with pytest.raises(TamperedPlanFile, match=refusal):
        read_plan_file(path)


def test_wrong_format_version_is_refused_clearly(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json")
    _edit(path, lambda d: d.update(format_version="2"))

    with pytest.raises(UnsupportedPlanFile, match="format '2' is not supported"):
        read_plan_file(path)


def test_truncated_file_is_refused_clearly(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json")
    path.write_text(path.read_text()[:500])

    with pytest.raises(PlanFileError, match=r"invalid JSON at line .* was it truncated"):
        read_plan_file(path)


@pytest.mark.parametrize("garbage", ["", "[]", "null", "\x00\x01", '{"format_version": "1"}'])
def test_garbage_is_refused_without_a_traceback(tmp_path: Path, garbage: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(garbage)

    with pytest.raises(PlanFileError):
        read_plan_file(path)


def test_field_of_the_wrong_type_is_named_in_the_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json")
    _edit(path, lambda d: d["asm"]["updates"][0].update(kind="superuser"))

    with pytest.raises(PlanFileError, match=r"asm\.updates\.0\.kind"):
        read_plan_file(path)


def test_missing_file_is_a_plan_file_error(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="cannot read the plan file"):
        read_plan_file(tmp_path / "absent.json")


def test_signed_plan_verifies_with_the_same_key(tmp_path: Path) -> None:
    saved = read_plan_file(_write(tmp_path / "plan.json", key=KEY), key=KEY)

    assert saved.signed


def test_signature_made_with_another_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json", key=b"another key")

    with pytest.raises(TamperedPlanFile, match="signature does not match"):
        read_plan_file(path, key=KEY)


def test_unsigned_plan_is_refused_when_a_key_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "plan.json")
    monkeypatch.setenv("PERMCTL_PLAN_KEY", KEY.decode())

    with pytest.raises(TamperedPlanFile, match="PERMCTL_PLAN_KEY"):
        read_plan_file(path)


def test_a_plan_re_signed_without_the_key_cannot_pass(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json", key=KEY)

    def edit_and_resign(document: dict[str, Any]) -> None:
        document["config_digest"] = "sha256:other"
        _redigest(document)
        body = {k: v for k, v in document.items() if k not in ("plan_digest", "signature")}
        document["signature"] = sign(body, b"guessed key")

    _edit(path, edit_and_resign)

    with pytest.raises(TamperedPlanFile, match="signature"):
        read_plan_file(path, key=KEY)


def test_the_file_holds_no_key_material(tmp_path: Path) -> None:
    text = _write(tmp_path / "plan.json", key=KEY).read_text()

    assert KEY.decode() not in text


def test_a_plan_with_no_changes_round_trips(tmp_path: Path) -> None:
    empty = build_plan(DesiredState(asm=None, cloudsso=None), rich_example()[1], TODAY)

    saved = read_plan_file(_write(tmp_path / "plan.json", empty))

    assert saved.asm_updates == () and saved.sso_changes == ()
    assert saved.snapshot.asm == ()
