"""docs/cli-reference.md is the commands' own help, regenerated whenever a command changes."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from permctl.cli import app
from permctl.cli.reference import cli_reference

REPO = Path(__file__).parents[2]


def test_the_committed_cli_reference_is_up_to_date() -> None:
    committed = (REPO / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == cli_reference(), (
        "docs/cli-reference.md is out of date; run: "
        "python -m permctl.cli.reference > docs/cli-reference.md"
    )


def test_every_command_and_option_is_in_the_reference() -> None:
    reference = cli_reference()
    root = typer.main.get_command(app)
    context = root.make_context("permctl", [], resilient_parsing=True)
    for name in root.list_commands(context):
        command = root.get_command(context, name)
        assert f"\n## permctl {name}\n" in reference
        for option in (
            o for p in command.params for o in getattr(p, "opts", []) if o.startswith("-")
        ):
            assert re.search(rf"`[^`]*{re.escape(option)}\b", reference), option
