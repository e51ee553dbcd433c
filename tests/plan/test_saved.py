"""Saved plans: reading one gives back the Plan that was saved, or apply must refuse it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_states import OTHER, PROD, TODAY, rich_example
from test_plan_property import PRINCIPALS, states

from permctl.model import DeprovisionStrategy, DesiredState, LiveState, SafetySettings
from permctl.plan import Override, Plan, build_plan
from permctl.plan.changes import sha256_of
from permctl.plan.saved import (
    PlanFileError,
    TamperedPlanFile,
    UnsupportedPlanFile,
    read_plan_file,
    sign,
    write_plan_file,
)
from permctl.render import json as json_render

protected = st.sets(st.sampled_from((*PRINCIPALS, *(f"label-{p}" for p in PRINCIPALS), "s0")))
safety_settings = st.builds(
    SafetySettings,
    max_delete_percent=st.sampled_from((0.0, 10.0, 30.0, 100.0)),
    min_existing_for_threshold=st.sampled_from((0, 3, 10)),
    protected_principals=protected.map(frozenset),
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
        input_files=[],
        permctl_version="0.1.0",
        planned_with=frozenset({"force"}),
        created_at=CREATED,
        key=key,
    )
    return path


def _edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_reading_gives_back_the_plan_that_was_saved(tmp_path: Path) -> None:
    plan = replace(_plan(), deprovision_strategy="None")

    saved = read_plan_file(_write(tmp_path / "plan.json", plan))

    assert saved.plan == replace(plan, planned_with=frozenset({"force"}))
    assert saved.plan.unmanaged == plan.unmanaged and len(saved.plan.unmanaged) > 0
    assert saved.plan.managed_account_ids == plan.managed_account_ids != ()
    assert (saved.config_digest, saved.permctl_version, saved.created_at) == (
        "sha256:config",
        "0.1.0",
        CREATED,
    )
    assert not saved.signed


def test_the_saved_document_is_the_printed_one_with_its_seals(tmp_path: Path) -> None:
    plan = _plan()
    document = json.loads(_write(tmp_path / "plan.json", plan).read_text())
    printed = json.loads(json_render.render(replace(plan, planned_with=frozenset({"force"}))))

    seals = {
        "permctl_version",
        "created_at",
        "config_digest",
        "input_files",
        "plan_digest",
        "signature",
    }
    assert document.keys() - printed.keys() == seals
    assert {k: v for k, v in document.items() if k not in seals} == printed


@settings(max_examples=150, deadline=None)
@given(
    states(),
    safety_settings,
    st.sampled_from((None, *PRINCIPALS)),
    st.sampled_from(("DeprovisionForLastAccessAssignmentOnAccount", "None")),
    st.frozensets(st.sampled_from(("force", "allow_lockout"))),
)
def test_save_then_load_gives_an_equal_plan(
    state: tuple[DesiredState, LiveState],
    safety: SafetySettings,
    caller: str | None,
    strategy: DeprovisionStrategy,
    planned_with: frozenset[Override],
) -> None:
    desired, live = state
    assert desired.cloudsso is not None
    desired = replace(
        desired,
        safety=safety,
        cloudsso=replace(desired.cloudsso, deprovision_strategy=strategy),
        names=MappingProxyType({p: f"name of {p}" for p in PRINCIPALS[::2]}),
    )
    live = replace(live, caller_principal_ids=frozenset([caller] if caller else []))
    plan = build_plan(desired, live, TODAY)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "plan.json"
        write_plan_file(
            plan,
            path,
            config_digest="sha256:config",
        input_files=[],
            permctl_version="test",
            planned_with=planned_with,
            key=b"",
        )
        loaded = read_plan_file(path, key=b"").plan
    assert loaded == replace(plan, planned_with=planned_with)
    assert [(type(i), str(i)) for i in loaded.safety_issues()] == [
        (type(i), str(i)) for i in plan.safety_issues()
    ]


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


def _show_a_removal_as_an_addition(document: dict[str, Any]) -> None:
    change = next(
        c for u in document["asm"]["updates"] for c in u["changes"] if c["action"] == "remove"
    )
    change.update(action="add", before=None, after=change["before"])


def _count_an_admin_too_many_after_the_plan(document: dict[str, Any]) -> None:
    document["safety"]["mesh_admins"][0]["after"] += 1


def _forget_the_overrides_it_was_planned_with(document: dict[str, Any]) -> None:
    document["safety"]["planned_with"] = None


def _count_admins_on_another_mesh(document: dict[str, Any]) -> None:
    document["safety"]["mesh_admins"][0]["mesh_id"] = OTHER


@pytest.mark.parametrize(
    ("tamper", "refusal"),
    [
        (_drop_alices_grants_on_unmanaged_meshes, "meshes the file does not manage"),
        (_empty_a_snapshot_entry, "snapshot does not match its fingerprint"),
        (_turn_cloudsso_deletes_into_creates, "CloudSSO create does not match"),
        (_show_a_removal_as_an_addition, "changes of r2 do not follow from its lists"),
        (_count_an_admin_too_many_after_the_plan, "admins do not follow from its updates"),
        (_forget_the_overrides_it_was_planned_with, "does not record the overrides"),
        (_count_admins_on_another_mesh, "admins name other meshes than it"),
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


def test_a_plan_of_format_1_is_refused_with_plan_again(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json")
    _edit(path, lambda d: d.update(format_version="1"))

    with pytest.raises(UnsupportedPlanFile, match="format '1' is not supported") as refusal:
        read_plan_file(path)
    assert str(refusal.value).endswith("run permctl plan again")


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

    assert saved.plan == replace(empty, planned_with=frozenset({"force"}))
    assert not saved.plan.has_changes
