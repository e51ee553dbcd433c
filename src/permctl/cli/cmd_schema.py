"""`permctl schema`: the JSON Schema of the desired-state file, or its Markdown reference."""

from pathlib import Path

import typer

from permctl.cli.app import app, examples, fail
from permctl.errors import PermctlError


@app.command(
    epilog=examples(
        "permctl schema --out permctl.schema.json",
        "permctl schema --markdown > docs/file-reference.md",
    ),
)
def schema(
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    markdown: bool = typer.Option(
        False, "--markdown", help="The key-by-key reference in Markdown instead of the JSON Schema."
    ),
) -> None:
    """Print the JSON Schema of the desired-state file, for editor completion and validation.

    Point yaml-language-server at it with a first line
    `# yaml-language-server: $schema=permctl.schema.json` (see examples/yaml-language-server.md).
    """
    from permctl.config.reference import (  # see app.py
        markdown_reference,
        published_schema,
        published_schema_text,
    )

    text = markdown_reference(published_schema()) if markdown else published_schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(PermctlError(f"cannot write {out}: {error.strerror or error}"))
    typer.echo(f"wrote {out}", err=True)
