"""`permctl plan`: what apply would change, for people, pull requests and tools."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import typer

from permctl.cli.app import EXIT_CHANGES, EXIT_ERROR, app, examples, stderr_console, stdout_console
from permctl.cli.options import (
    AllowLockout,
    Concurrency,
    EmulatorState,
    Files,
    Force,
    Format,
    OutputFormat,
    Profile,
    Quiet,
    load_config,
    target,
)
from permctl.config.checks import expired_entries
from permctl.plan import Plan
from permctl.render import json as json_render
from permctl.render import markdown, text
from permctl.roles import CALLER

EMPTY: Mapping[str, str] = MappingProxyType({})


@app.command(
    epilog=examples(
        "permctl plan --emulator examples/live-state.yaml permissions.yaml.example",
        "permctl plan --format markdown > plan.md",
        "permctl plan --out plan.json && permctl apply --plan plan.json",
    ),
)
def plan(
    files: Files = None,
    emulator: EmulatorState = None,
    output_format: OutputFormat = Format.TEXT,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Save the plan for `permctl apply --plan FILE`."),
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    force: Force = False,
    allow_lockout: AllowLockout = False,
    profile: Profile = None,
    concurrency: Concurrency = 8,
    quiet: Quiet = False,
) -> None:
    """Show what apply would change: reads live state, writes nothing.

    Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes
    (--detailed-exitcode only), 1 error or unsafe plan.
    """
    from permctl.workflow import (  # loads the cloud SDKs: see app.py
        connect,
        plan_run,
        save_plan,
        utc_today,
    )

    config = load_config(files)
    with connect(config, target(emulator, profile, concurrency, quiet)) as session:
        run = plan_run(config, session)
    show(run.plan, output_format, run.identities)
    for note in expired_entries(config, utc_today()):
        stderr_console().print(f"note {note}", markup=False)
    blocking = [
        issue
        for issue in run.plan.safety_issues()
        if not issue.overridden_by(force=force, allow_lockout=allow_lockout)
    ]
    if blocking:
        stderr_console().print(
            f"error: the plan is unsafe ({'; '.join(i.reason for i in blocking)}); "
            "nothing was saved",
            markup=False,
        )
        raise typer.Exit(EXIT_ERROR)
    if out is not None:
        save_plan(run, out, force=force, allow_lockout=allow_lockout)
        if not quiet:
            stderr_console().print(
                f"Saved the plan to {out}; apply it with: permctl apply --plan {out}", markup=False
            )
    if detailed_exitcode and run.plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def show(plan: Plan, output_format: Format, identities: Mapping[str, str] = EMPTY) -> None:
    """`identities` (section -> who acts on it) are shown when some section assumes a role:
    whoever reviews the plan sees which account each change lands in."""
    roles = identities if any(who != CALLER for who in identities.values()) else EMPTY
    if output_format is Format.TEXT:
        console = stdout_console()
        console.print(identities_header(roles), end="", markup=False)
        console.print(text.render(plan), end="")
    elif output_format is Format.MARKDOWN:
        typer.echo(identities_header(roles, "- ") + markdown.render(plan), nl=False)
    else:
        document = json_render.document(plan) | ({"identities": dict(roles)} if roles else {})
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def identities_header(identities: Mapping[str, str], bullet: str = "  ") -> str:
    if not identities:
        return ""
    lines = [f"{bullet}{section}: {who}" for section, who in sorted(identities.items())]
    return "Acting as:\n" + "\n".join(lines) + "\n\n"
