"""The `permctl` command lines a script or document runs, and a parse of each exactly as
`permctl` would parse it, without running it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import typer.main

from permctl.cli import app
from permctl.emulator.__main__ import parser as emulator_parser

# `permctl ARGS` where a shell command starts, up to the next shell operator.
PERMCTL_COMMAND = re.compile(r"(?:^|[;&|(!]|\bthen\b|\bdo\b|\belse\b)\s*permctl\s+([^;&|)#]*)")
REDIRECTION = re.compile(r"\d?>>?\s*\S+")


def permctl_args(script: str) -> Iterator[list[str]]:
    for line in script.replace("\\\n", " ").splitlines():
        for match in PERMCTL_COMMAND.finditer(line):
            words = shlex.split(REDIRECTION.sub(" ", match.group(1)))
            yield [word.replace("$PERMCTL_FILES", "permissions.yaml") for word in words]


def parse(args: list[str]) -> str:
    """Parse a command line exactly as `permctl` would, without running it; the command name.
    Root options are flags, so the first word that is not an option names the command."""
    group = typer.main.get_command(app)
    at = next(i for i, word in enumerate(args) if not word.startswith("-"))
    root = group.make_context("permctl", args[: at + 1])
    command = group.get_command(root, args[at])
    assert command is not None, f"permctl has no command {args[at]!r}"
    command.make_context(args[at], args[at + 1 :], parent=root)
    if args[at] == "emulator":
        # click hands the emulator's arguments over unparsed; its own parser decides.
        try:
            emulator_parser().parse_args(args[at + 1 :])
        except SystemExit as refused:
            raise AssertionError(f"permctl emulator refuses {args[at + 1 :]}") from refused
    return args[at]
