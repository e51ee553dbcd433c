"""Messages that send the user the right way: diagnose only where its log can explain, the fix
for a refused prune of a protected principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alibabacloud_credentials.utils import auth_util
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import DenyRule, Emulator

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"

runner = CliRunner()


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with Emulator(STATE) as emulator:
        point_at(emulator)
        yield emulator


def test_a_wrong_secret_says_to_check_the_credentials_and_their_source_not_diagnose(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    monkeypatch.setattr(auth_util, "environment_access_key_secret", "not-the-secret")
    result = runner.invoke(app, ["plan", "-q", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "SignatureDoesNotMatch" in result.stderr
    assert result.stderr.endswith(
        "  check the credentials and where they came from (the ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET variables)\n"
    )
    assert "permctl diagnose" not in result.stderr
    assert "not-the-secret" not in result.stderr


def test_diagnose_failing_does_not_suggest_diagnosing_itself(emu: Emulator) -> None:
    emu.set_knobs(deny=(DenyRule("GetRequestLog"),))
    result = runner.invoke(app, ["diagnose", "01E1FE97-340E-49A1-9BB9-B47032263B23"])
    assert result.exit_code == 1
    assert "GetRequestLog failed" in result.stderr
    assert "permctl diagnose" not in result.stderr


def test_a_denied_call_still_points_at_diagnose(emu: Emulator) -> None:
    emu.set_knobs(deny=(DenyRule("ListAccessAssignments"),))
    result = runner.invoke(app, ["plan", "-q", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "\n  to see why: permctl diagnose " in result.stderr


def test_pruning_a_protected_principal_the_file_does_not_list_says_how_to_keep_pruning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "permissions.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(text.replace("  prune_unlisted: false", "  prune_unlisted: true", 1))
    result = runner.invoke(app, ["plan", "-q", str(path), "--emulator", str(STATE)])
    assert result.exit_code == 1
    assert (
        "protected principals would lose or change 2 grant(s) (safety.protected_principals; "
        "--force does not override this); to keep prune_unlisted on, list the protected "
        "principal in the file with the roles or assignments it holds (docs/recipes.md, "
        "Break-glass principals)"
    ) in result.stderr
