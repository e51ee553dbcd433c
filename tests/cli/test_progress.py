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
    _show_progress(quiet=False)
    assert "Reading CloudSSO assignments" in capsys.readouterr().err


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    _show_progress(quiet=False)
    assert capsys.readouterr().err == ""


def test_reads_running_together_share_one_display_each_on_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    shown = ReadProgress(quiet=False)
    with (
        shown.track("Reading Service Mesh permissions", total=2) as mesh,
        shown.track("Reading CloudSSO assignments", total=2) as sso,
    ):
        mesh()
        sso()
        mesh()
        sso()
    err = capsys.readouterr().err
    assert "Reading Service Mesh permissions" in err
    assert "Reading CloudSSO assignments" in err
    # Both ended: the next read starts a display of its own.
    with shown.track("Resolving RAM principals", total=1) as advance:
        advance()
    assert "Resolving RAM principals" in capsys.readouterr().err
