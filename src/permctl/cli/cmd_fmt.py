"""`permctl fmt`: rewrite desired-state files in canonical key order and style."""

from typing import TYPE_CHECKING

import typer

from permctl.cli.app import EXIT_ERROR, app, examples, fail, stderr_console
from permctl.cli.options import Files, input_paths
from permctl.errors import PermctlError

if TYPE_CHECKING:
    from permctl.config.fmt import Formatted


@app.command(
    epilog=examples(
        "permctl fmt",
        "permctl fmt conf/",
        "permctl fmt --check permissions.yaml   # in CI: exit 1 when a file is not formatted",
    ),
)
def fmt(
    files: Files = None,
    check: bool = typer.Option(
        False,
        "--check",
        help="Change nothing; list the files that would change and exit 1 if there are any.",
    ),
) -> None:
    """Rewrite files in canonical key order and indentation, keeping every comment.

    Keys the file format defines follow the order of docs/file-reference.md; names you chose
    (mesh aliases, teams, principals) keep your order. The meaning of a file never changes.
    """
    from permctl.config.fmt import format_file  # the file's parsers: see app.py

    results = [format_file(path) for path in input_paths(files)]
    changed = [result for result in results if result.changed]
    if check:
        for result in changed:
            typer.echo(str(result.path))
        if changed:
            stderr_console().print(
                f"{_files(len(changed))} would be reformatted; run: permctl fmt "
                + " ".join(str(result.path) for result in changed),
                markup=False,
            )
            raise typer.Exit(EXIT_ERROR)
        return
    for result in changed:
        _write(result)
        typer.echo(f"reformatted {result.path}")
    stderr_console().print(
        f"{_files(len(changed))} reformatted, {_files(len(results) - len(changed))} unchanged",
        markup=False,
    )


def _write(result: "Formatted") -> None:
    try:
        result.path.write_text(result.formatted, encoding="utf-8")
    except OSError as error:
        fail(PermctlError(f"cannot write {result.path}: {error.strerror or error}"))


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"
