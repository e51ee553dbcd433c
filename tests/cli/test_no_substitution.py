"""Help, messages and docs print names and ARNs as written: no emoji code such as `:ram:` in
acs:ram::1234:role/x and no markup may turn into something else."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import typer.main
from rich._emoji_codes import EMOJI
from typer.testing import CliRunner

from permctl.cli import app
from permctl.cli.app import KEEP_LINES

REPO = Path(__file__).parents[2]
DOCS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")

runner = CliRunner()


def command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    context = root.make_context("permctl", [], resilient_parsing=True)
    return [[], *([name] for name in root.list_commands(context))]


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(["permctl", *p]))
def test_help_prints_its_text_and_examples_as_written(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stdout
    assert not [c for c in result.stdout if unicodedata.category(c) == "So"], result.stdout
    root = typer.main.get_command(app)
    context = root.make_context("permctl", [], resilient_parsing=True)
    command = root.get_command(context, path[0]) if path else root
    for line in (command.epilog or "").splitlines():
        if line.strip() == KEEP_LINES:
            continue
        assert line.strip() in result.stdout, f"example changed or rewrapped: {line.strip()}"


def test_permctl_alone_prints_the_help_and_exits_1() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 1
    assert result.stderr.startswith("Usage: permctl [OPTIONS] COMMAND [ARGS]...")


def test_diagnose_help_shows_the_role_arn_example_as_written() -> None:
    result = runner.invoke(app, ["diagnose", "--help"])
    assert "--assume-role acs:ram::1234567890123456:role/diagnose" in result.stdout


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_hold_no_emoji_code_outside_code(doc: Path) -> None:
    """Markdown renderers turn :ram: into a picture in prose, never inside code."""
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", text)
    assert [m[0] for m in EMOJI_CODE.finditer(prose) if m[1] in EMOJI] == []
