"""`permctl access`: who can do what, from live state or from the files, for reviews and audits.

The live path's modules (providers, cloud SDKs) are imported only when it runs, so
`--source file` works offline, without credentials.
"""

from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from permctl.cli.app import app, examples, stderr_console
from permctl.cli.options import (
    Concurrency,
    EmulatorState,
    Files,
    Profile,
    Quiet,
    load_config,
    target,
)
from permctl.cloudlimits import DEFAULT_CEILING
from permctl.files import write_atomically

if TYPE_CHECKING:
    from permctl.access import AccessFilter, AccessRow
    from permctl.config import Config


class Source(str, Enum):
    LIVE = "live"
    FILE = "file"


class AccessFormat(str, Enum):
    TEXT = "text"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"


def _each(flag: str, metavar: str, help_text: str) -> Any:
    """A filter given once per value; a row passes when it matches any of them."""
    return typer.Option(
        flag, metavar=metavar, help=f"{help_text} Repeat for several.", show_default=False
    )


@app.command(
    epilog=examples(
        "permctl access --emulator examples/live-state.yaml permissions.yaml.example",
        "permctl access --mesh prod --format csv --out prod-mesh-access.csv",
        "permctl access --source file --account prod-main --access-configuration Admin",
        "permctl access --expiring-within 30 --format markdown",
    ),
)
def access(
    files: Files = None,
    principal: Annotated[
        list[str] | None,
        _each(
            "--principal",
            "NAME_OR_ID",
            "Only this person, RAM role or group: a name or id, or the group or team the access "
            "is held through.",
        ),
    ] = None,
    mesh: Annotated[
        list[str] | None,
        _each(
            "--mesh",
            "ALIAS_OR_ID",
            "Only Service Mesh roles on this mesh (unless --account or --access-configuration "
            "also asks for CloudSSO).",
        ),
    ] = None,
    account: Annotated[
        list[str] | None,
        _each(
            "--account",
            "NAME_OR_ID",
            "Only CloudSSO access on this account (unless --mesh also asks for Service Mesh).",
        ),
    ] = None,
    access_configuration: Annotated[
        list[str] | None,
        _each(
            "--access-configuration",
            "NAME",
            "Only CloudSSO access through this access configuration.",
        ),
    ] = None,
    source: Annotated[
        Source,
        typer.Option(
            "--source",
            help="live: what is live now (the reads of plan, plus group members). file: what "
            "the files declare, offline and without credentials.",
        ),
    ] = Source.LIVE,
    expiring_within: Annotated[
        int | None,
        typer.Option(
            "--expiring-within",
            metavar="DAYS",
            min=0,
            help="Only access whose expiry date falls within DAYS days (past dates included).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        AccessFormat,
        typer.Option(
            "--format",
            help="text for terminals, markdown (a table per service), csv for spreadsheets, "
            "json for tools.",
        ),
    ] = AccessFormat.TEXT,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write the report to FILE, not to stdout."),
    ] = None,
    emulator: EmulatorState = None,
    profile: Profile = None,
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Show who can do what: one row per person or group, service, target and role.

    Service Mesh: RAM users and roles holding an istio role on a managed mesh, `via` the team
    the file gives it through. CloudSSO: users holding an access configuration on a managed
    account, directly or `via` each group holding it (a group without members has its own
    row). `in_file` is false for access that is only live. Changes nothing.
    """
    from permctl.access import AccessFilter, rows_from_file

    now = datetime.now(timezone.utc).replace(microsecond=0)
    keep = AccessFilter(
        principals=tuple(principal or ()),
        meshes=tuple(mesh or ()),
        accounts=tuple(account or ()),
        access_configurations=tuple(access_configuration or ()),
        expiring_by=None if expiring_within is None else now.date() + timedelta(expiring_within),
    )
    config = load_config(files)
    if source is Source.FILE:
        rows = keep.select(rows_from_file(config))
    else:
        rows = _live_rows(config, keep, emulator, profile, concurrency, quiet)
    report = _render(rows, output_format, source, now)
    if out is None:
        typer.echo(report, nl=False)
        return
    write_atomically(out, report)
    if not quiet:
        stderr_console().print(f"Wrote {len(rows)} rows to {out}", markup=False)


def _live_rows(
    config: "Config",
    keep: "AccessFilter",
    emulator: Path | None,
    profile: str | None,
    concurrency: int,
    quiet: bool,
) -> "list[AccessRow]":
    from permctl.workflow import access_rows, connect

    with connect(config, target(emulator, profile, concurrency, quiet)) as session:
        return access_rows(config, session, keep)


def _render(
    rows: "list[AccessRow]", output_format: AccessFormat, source: Source, now: datetime
) -> str:
    from permctl.render import access as render

    if output_format is AccessFormat.TEXT:
        return render.text(rows)
    if output_format is AccessFormat.MARKDOWN:
        return render.markdown(rows)
    if output_format is AccessFormat.CSV:
        return render.csv_text(rows)
    return render.json_text(rows, source.value, now)
