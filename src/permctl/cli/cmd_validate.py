"""`permctl validate`: check desired-state files offline."""

import json
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from permctl.cli.app import EXIT_ERROR, app, examples, fail, stderr_console
from permctl.cli.options import Files, given_paths, load_config
from permctl.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from permctl.config import Config

# Of the --format json report: additions keep it, renaming or removing a field makes it "2".
FORMAT_VERSION = "1"


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class Summary:
    principals: int
    meshes: int
    assignments: int

    @classmethod
    def of(cls, config: "Config") -> "Summary":
        asm, sso = config.asm, config.cloudsso
        return cls(
            principals=len(asm.principals) if asm else 0,
            meshes=len(asm.meshes) if asm else 0,
            assignments=len(sso.assignments) if sso else 0,
        )

    def __str__(self) -> str:
        return ", ".join(
            _count(n, noun)
            for n, noun in (
                (self.principals, "principal"),
                (self.meshes, "mesh"),
                (self.assignments, "assignment entry"),
            )
        )


def _count(number: int, noun: str) -> str:
    plural = (
        noun[:-1] + "ies" if noun.endswith("y") else noun + ("es" if noun.endswith("h") else "s")
    )
    return f"{number} {noun if number == 1 else plural}"


@app.command(
    epilog=examples(
        "permctl validate",
        "permctl validate permissions.yaml teams/",
        "permctl validate conf/ --format json",
    ),
)
def validate(
    files: Files = None,
    output_format: OutputFormat = typer.Option(
        OutputFormat.TEXT, "--format", help="text for people, json for tools."
    ),
) -> None:
    """Check desired-state files offline: shape, roles, references, conflicts between files.

    Makes no API call and reports every problem, with file:line:column and field path.
    Warns, without failing, about expiry dates already past and protected principals the
    files do not name (plan also looks for those in live state). Exit status 0 when the files
    are valid, 1 when they are not.
    """
    from permctl.config.checks import utc_today, warnings  # the file models: see app.py
    from permctl.config.identities import section_roles

    args = given_paths(files)
    label = ", ".join(str(arg) for arg in args)
    try:
        config = load_config(args)
        # Also which identity reaches each mesh: a principal id cannot span accounts.
        section_roles(config)
    except ConfigError as error:
        if output_format is OutputFormat.JSON:
            typer.echo(_json_report(args, None, error.problems, []))
            raise typer.Exit(EXIT_ERROR) from None
        fail(error)
    summary = Summary.of(config)
    cautions = warnings(config, utc_today())
    if output_format is OutputFormat.JSON:
        typer.echo(_json_report(args, summary, [], cautions))
        return
    for caution in cautions:
        stderr_console().print(f"warning {caution}", markup=False)
    typer.echo(f"{label}: valid ({summary})")


def _json_report(
    args: list[Path],
    summary: Summary | None,
    problems: list[ConfigProblem],
    cautions: list[ConfigProblem],
) -> str:
    report = {
        "format_version": FORMAT_VERSION,
        "valid": summary is not None,
        "problems": [asdict(problem) for problem in problems],
        "warnings": [asdict(caution) for caution in cautions],
        "summary": {"files": [str(arg) for arg in args], **asdict(summary or Summary(0, 0, 0))},
    }
    return json.dumps(report, indent=2)
