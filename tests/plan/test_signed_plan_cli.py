"""`permctl plan --out` signs the saved plan when PERMCTL_PLAN_KEY is set, so a pipeline can
carry it across a trust boundary (docs/signed-plans.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app
from permctl.plan.saved import TamperedPlanFile, canonical_json, read_plan_file

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"
KEY = "pipeline-secret-for-tests"

runner = CliRunner()


def saved_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None) -> Path:
    if key is None:
        monkeypatch.delenv("PERMCTL_PLAN_KEY", raising=False)
    else:
        monkeypatch.setenv("PERMCTL_PLAN_KEY", key)
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app, ["plan", "--quiet", "--emulator", str(STATE), "--out", str(out), str(EXAMPLE)]
    )
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    return out


def test_plan_out_signs_the_canonical_plan_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = json.loads(saved_plan(tmp_path, monkeypatch, KEY).read_text(encoding="utf-8"))

    body = {k: v for k, v in document.items() if k not in ("plan_digest", "signature")}
    expected = hmac.new(KEY.encode(), canonical_json(body), hashlib.sha256).hexdigest()
    assert document["signature"] == f"hmac-sha256:{expected}"
    assert KEY not in json.dumps(document)


def test_a_plan_signed_with_another_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = saved_plan(tmp_path, monkeypatch, KEY)

    with pytest.raises(TamperedPlanFile):
        read_plan_file(path, key=b"another-key")
    assert read_plan_file(path, key=KEY.encode()).signed


def test_without_the_key_the_plan_is_saved_unsigned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = saved_plan(tmp_path, monkeypatch, None)

    assert json.loads(path.read_text(encoding="utf-8"))["signature"] is None
    with pytest.raises(TamperedPlanFile):
        read_plan_file(path, key=KEY.encode())
