"""The progress bar the CLI shows on stderr while reads and writes take a while."""

from __future__ import annotations

import sys

import pytest

from permctl.cli import progress
from permctl.cli.progress import ReadProgress


def _show_progress(quiet: bool) -> None:
    with ReadProgress(quiet=quiet).track("Reading CloudSSO assignments", total=3) as advance:
        for _ in range(3):
            advance()


def test_a_progress_bar_shows_on_a_terminal_unless_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _show_progress(quiet=True)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _show_progress(quiet=False)
    assert "Reading CloudSSO assignments" in capsys.readouterr().err


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    _show_progress(quiet=False)
    assert capsys.readouterr().err == ""
