"""`permctl init`: a starter file a new user can validate and plan at once, from live state when
credentials are there, from a commented template when they are not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app
from permctl.cli.cmd_init import CREDENTIAL_VARIABLES
from permctl.config.fmt import format_text
from permctl.emulator import Emulator

REPO = Path(__file__).parents[2]
STATE = REPO / "examples" / "live-state.yaml"
DIRECTORY = "d-00fc2p61abcd"

runner = CliRunner()


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aliyun/config.json
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_credentials_the_template_is_written_and_is_valid(no_credentials: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Wrote permissions.yaml from the template: no credentials found. "
        "Next: permctl validate permissions.yaml && permctl plan permissions.yaml\n"
    )
    written = (no_credentials / "permissions.yaml").read_text(encoding="utf-8")
    assert "#   permctl plan permissions.yaml" in written
    assert format_text(written) == written
    validated = runner.invoke(app, ["validate"])
    assert (
        validated.stdout == "permissions.yaml: valid (2 principals, 1 mesh, 1 assignment entry)\n"
    )


def test_an_existing_file_is_kept_unless_forced(no_credentials: Path) -> None:
    mine = no_credentials / "permissions.yaml"
    mine.write_text("version: 1\n", encoding="utf-8")
    refused = runner.invoke(app, ["init"])
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error permissions.yaml already exists; use --force to overwrite it or --out elsewhere\n"
    )
    assert mine.read_text(encoding="utf-8") == "version: 1\n"
    assert runner.invoke(app, ["init", "--force"]).exit_code == 0
    assert mine.read_text(encoding="utf-8") != "version: 1\n"


def test_with_the_emulator_the_file_declares_live_state(no_credentials: Path) -> None:
    out = "conf.yaml"
    result = runner.invoke(
        app, ["init", "--out", out, "--emulator", str(STATE), "--directory", DIRECTORY, "-q"]
    )
    assert result.exit_code == 0, result.output
    written = (no_credentials / out).read_text(encoding="utf-8")
    assert written.startswith("# Next steps:\n#   permctl validate conf.yaml ")
    assert "directory: d-00fc2p61abcd" in written
    assert format_text(written) == written
    plan = runner.invoke(app, ["plan", "-q", out, "--emulator", str(STATE)])
    assert plan.stdout == "No changes. Live state matches the file.\n"


def test_credentials_in_the_environment_mean_live_state(
    no_credentials: Path, point_at: Callable[[Emulator], None]
) -> None:
    with Emulator(STATE) as emulator:
        point_at(emulator)
        result = runner.invoke(app, ["init"])
        assert result.exit_code == 0, result.output
        assert "from live state" in result.stderr
        calls = len(emulator.calls)
        assert calls > 0
        assert runner.invoke(app, ["init", "--template", "--force"]).exit_code == 0
        assert len(emulator.calls) == calls
    assert "replace the example" in (no_credentials / "permissions.yaml").read_text()
