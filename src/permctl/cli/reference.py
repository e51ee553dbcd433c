"""docs/cli-reference.md, generated from the commands themselves so that it cannot fall behind:

python -m permctl.cli.reference > docs/cli-reference.md
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main

from permctl.cli import app
from permctl.cli.app import KEEP_LINES

HEADER = """\
# permctl command reference

Generated from the commands (`python -m permctl.cli.reference > docs/cli-reference.md`); the
same text as `permctl COMMAND --help`. Exit status everywhere: 0 success, 1 error (nothing
changed unless the message says otherwise); `plan --detailed-exitcode` and `drift` exit 2 when
there is something to look at.
"""


def cli_reference() -> str:
    root = typer.main.get_command(app)
    root_context = root.make_context("permctl", [], resilient_parsing=True)
    parts = [HEADER, "## permctl\n", _text(root.help), _usage(root, root_context)]
    parts += _options(root, root_context)
    for path, command in _commands(root, root_context, ("permctl",)):
        parts += _command(path, command, root_context)
    return "\n".join(parts).rstrip("\n") + "\n"


def _commands(group: Any, context: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        if hasattr(command, "list_commands"):
            yield from _commands(command, context, (*path, name))
        else:
            yield " ".join((*path, name)), command


def _command(path: str, command: Any, parent: Any) -> list[str]:
    context = command.make_context(path, [], parent=parent, resilient_parsing=True)
    parts = [f"## {path}\n", _text(command.help), _usage(command, context, path)]
    parts += _options(command, context)
    if command.epilog:
        lines = command.epilog.splitlines()[1:]
        examples = [line.strip() for line in lines if line.strip() not in ("", KEEP_LINES)]
        parts.append("Examples:\n\n```sh\n" + "\n".join(examples) + "\n```\n")
    return parts


def _text(help_text: str | None) -> str:
    return (help_text or "").strip() + "\n"


def _usage(command: Any, context: Any, path: str = "permctl") -> str:
    pieces = " ".join(command.collect_usage_pieces(context))
    return f"```\n{path} {pieces}\n```\n"


def _options(command: Any, context: Any) -> list[str]:
    records = [param.get_help_record(context) for param in command.get_params(context)]
    rows = [
        f"| `{_cell(flags)}` | {_cell(help_text)} |" for flags, help_text in filter(None, records)
    ]
    return ["| argument or option | meaning |", "| --- | --- |", *rows, ""] if rows else []


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    typer.echo(cli_reference(), nl=False)
