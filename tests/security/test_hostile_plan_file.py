"""Saved plans edited by hand or by an attacker: apply refuses them with one line, exit 1, and
no write, even when whoever edited them held the signing key.

Fuzzed: whatever the edit, reading a plan either returns one that keeps every grant on
unmanaged meshes and fits its snapshot, or raises PlanFileError; nothing else escapes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from document_edits import edits
from hypothesis import assume, given
from hypothesis import strategies as st
from security_support import (
    EXAMPLE,
    PROD,
    STATE,
    assert_nothing_written,
    assert_one_line_error,
    fuzz_settings,
    permctl,
)

from permctl.emulator import Emulator
from permctl.plan import saved as planfile
from permctl.plan.changes import sha256_of
from permctl.plan.saved import PlanFileError, read_plan_file, sign

KEY, OTHER_KEY = b"the-plan-key", b"another-plan-key"
FUZZ = fuzz_settings(default_examples=80)
Document = dict[str, Any]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Document:
    """The example's plan against the example organisation: Service Mesh updates that keep
    grants on an unmanaged mesh, CloudSSO creates and deletes."""
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    code, _, err = permctl("plan", "-q", "--emulator", str(STATE), "--out", str(path), str(EXAMPLE))
    assert code == 0, err
    document: Document = json.loads(path.read_text(encoding="utf-8"))
    assert document["asm"]["updates"] and document["cloudsso"]["changes"]
    return document


@pytest.fixture(scope="module")
def signed(saved: Document) -> Document:
    document: Document = json.loads(sealed(saved, KEY))
    return document


def sealed(document: Document, key: bytes | None = None) -> str:
    """`document` with its digest (and signature, given a key) computed again, as someone who
    edits a plan and knows the format would."""
    body = {
        name: value for name, value in document.items() if name not in ("plan_digest", "signature")
    }
    return json.dumps(
        {**body, "plan_digest": sha256_of(body), "signature": sign(body, key) if key else None}
    )


def _read(path: Path, text: str | bytes, key: bytes = b"") -> Any:
    """What read_plan_file makes of `text`, with `key` or none whatever the environment says:
    the saved plan, or the PlanFileError."""
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    try:
        return read_plan_file(path, key=key)
    except PlanFileError as error:
        assert str(error) and "\n" not in str(error)
        return error


# -- hand edits through the CLI --------------------------------------------------------------


def _drop_a_snapshot_grant(d: Document) -> str:
    d["snapshot"]["asm"][0]["permissions"].pop()
    return sealed(d, KEY)


def _grant_on_an_unmanaged_mesh(d: Document) -> str:
    update = d["asm"]["updates"][0]
    update["after"] = [{**update["after"][0], "mesh_id": "d1e2f3a4b5c6d7e8f9a0b1c2d3e4fabc"}]
    return sealed(d, KEY)


def _delete_what_is_not_there(d: Document) -> str:
    change = next(c for c in d["cloudsso"]["changes"] if c["action"] == "create")
    change["action"] = "delete"
    return sealed(d, KEY)


def _promote_without_resealing(d: Document) -> str:
    d["asm"]["updates"][0]["after"][0]["role"] = "istio-admin"
    return json.dumps(d)


def _label_that_rewrites_the_line(d: Document) -> str:
    d["asm"]["updates"][0]["label"] = "alice\x1b[2K\rnothing to change"
    return sealed(d, KEY)


def _wrong_types(d: Document) -> str:
    d["asm"]["updates"][0]["after"] = "everything"
    d["created_at"] = 5
    return sealed(d, KEY)


def _nested_too_deeply(d: Document) -> str:
    return json.dumps(d)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"


HAND_EDITS: dict[str, tuple[Callable[[Document], str], str]] = {
    "snapshot changed": (_drop_a_snapshot_grant, "its live snapshot does not match"),
    "grant moved to an unmanaged mesh": (
        _grant_on_an_unmanaged_mesh,
        "would change grants on meshes the file does not manage",
    ),
    "create turned into delete": (_delete_what_is_not_there, "does not match its snapshot"),
    "edited, digest kept": (_promote_without_resealing, "changed after it was written"),
    "broken JSON": (lambda d: json.dumps(d)[:500], "invalid JSON at line 1"),
    "wrong types": (_wrong_types, "not a valid permctl plan file"),
    "terminal escape in a label": (
        _label_that_rewrites_the_line,
        "the control character U+001B at asm.updates[0].label",
    ),
    "another format": (lambda d: sealed({**d, "format_version": 2}, KEY), "format 2 is not"),
    "signed with another key": (lambda d: sealed(d, OTHER_KEY), "its signature does not match"),
    "resealed without the key": (lambda d: sealed(d), "its signature does not match"),
    "nested too deeply": (_nested_too_deeply, "nested too deeply"),
}


@pytest.fixture
def emu(
    point_at: Callable[[Emulator], None], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    monkeypatch.setenv("PERMCTL_PLAN_KEY", KEY.decode())
    with Emulator(STATE) as emulator:
        point_at(emulator)
        yield emulator


@pytest.mark.parametrize("edit", HAND_EDITS)
def test_a_plan_edited_by_hand_is_refused_before_any_write(
    emu: Emulator, signed: Document, tmp_path: Path, edit: str
) -> None:
    change, reason = HAND_EDITS[edit]
    path = tmp_path / "plan.json"
    path.write_text(change(copy.deepcopy(signed)), encoding="utf-8")
    code, out, err = permctl("apply", "-q", "--plan", str(path), str(EXAMPLE))
    assert_one_line_error(code, out, err)
    assert str(path) in err and reason in err
    assert_nothing_written(emu)


def test_a_plan_over_the_size_limit_is_refused_unread(
    emu: Emulator, signed: Document, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is lowered to keep the test small; the padding is valid JSON whitespace."""
    monkeypatch.setattr(planfile, "MAX_PLAN_BYTES", 1024 * 1024)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(signed) + " " * 1024 * 1024, encoding="utf-8")
    code, out, err = permctl("apply", "-q", "--plan", str(path), str(EXAMPLE))
    assert_one_line_error(code, out, err)
    assert f"{path}: not a permctl plan file: larger than 1 MiB" in err
    assert_nothing_written(emu)


def test_the_untouched_signed_plan_is_applied(
    emu: Emulator, signed: Document, tmp_path: Path
) -> None:
    """What the edits above start from is a plan apply carries out: they fail for the edit."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(signed), encoding="utf-8")
    code, _, err = permctl("apply", "-q", "--plan", str(path), str(EXAMPLE))
    assert code == 0, err
    assert emu.writes


# -- fuzzing the reader ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    # No NaN or infinity: a digest cannot be computed over them, so no resealed plan holds one.
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
# Values the format holds, so that edits often land on an almost valid plan.
FORMAT_VALUES = st.sampled_from(
    ["istio-admin", "istio-ops", "create", "delete", "User", "Group", "ram_user", "ram_role", PROD]
)
EDIT_VALUES = JSON_VALUES | FORMAT_VALUES


def _keeps_unmanaged_grants(saved: Any) -> bool:
    plan = saved.plan
    held = {p.principal_id: p.permissions for p in plan.snapshot.asm}
    managed = set(plan.managed_mesh_ids)
    return all(
        {g for g in update.after if g.mesh_id not in managed}
        == {g for g in held[update.principal_id] if g.mesh_id not in managed}
        for update in plan.asm_updates
    )


@FUZZ
@given(data=st.data())
def test_a_resealed_edit_is_refused_or_still_keeps_unmanaged_grants(
    saved: Document, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    edited = data.draw(edits(saved, EDIT_VALUES, st.text(max_size=8), most=3))
    path = tmp_path_factory.getbasetemp() / "edited.json"
    result = _read(path, sealed(edited))
    assert isinstance(result, PlanFileError) or _keeps_unmanaged_grants(result)


@FUZZ
@given(data=st.data())
def test_an_edit_without_the_key_is_always_refused(
    signed: Document, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    resealed = json.loads(
        sealed(data.draw(edits(signed, EDIT_VALUES, st.text(max_size=8), most=3)))
    )
    assume(resealed["plan_digest"] != signed["plan_digest"])
    path = tmp_path_factory.getbasetemp() / "edited.json"
    # Resealed as well as anyone without the key can: digest right, signature none or old.
    for signature in (None, signed["signature"]):
        result = _read(path, json.dumps({**resealed, "signature": signature}), key=KEY)
        assert isinstance(result, PlanFileError)


@FUZZ
@given(data=st.data())
def test_mangled_bytes_are_refused_with_one_line(
    saved: Document, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    raw = json.dumps(saved, indent=2).encode()
    at = data.draw(st.integers(0, len(raw) - 1))
    mangle = data.draw(st.sampled_from(["truncate", "insert", "flip"]))
    if mangle == "truncate":
        raw = raw[:at]
    elif mangle == "insert":
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    else:
        raw = raw[:at] + bytes([raw[at] ^ data.draw(st.integers(1, 255))]) + raw[at + 1 :]
    base = tmp_path_factory.getbasetemp()
    result = _read(base / "mangled.json", raw)
    # Accepted only when the bytes still say the same (whitespace between values, say).
    assert isinstance(result, PlanFileError) or result == _read(
        base / "saved.json", json.dumps(saved)
    )
