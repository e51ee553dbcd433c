"""`permctl plan`: what apply would change, for people, pull requests and tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from permctl.cli.app import EXIT_CHANGES, app, stderr_console
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
    overrides,
    target,
)
from permctl.cli.show import show_plan, show_warnings
from permctl.providers.pacing import DEFAULT_CEILING
from permctl.workflow import connect, plan_run, save_plan


@app.command(
    epilog="Examples:\n\n"
    "  permctl plan --emulator examples/live-state.yaml permissions.yaml.example\n\n"
    "  permctl plan --format markdown > plan.md\n\n"
    "  permctl plan --out plan.json && permctl apply --plan plan.json",
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
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Show what apply would change: reads live state, writes nothing.

    Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes
    (--detailed-exitcode only), 1 error or unsafe plan.
    """
    config = load_config(files)
    with connect(config, target(emulator, profile, concurrency, quiet)) as session:
        run = plan_run(config, session)
    show_warnings(run.warnings())
    show_plan(run.plan, output_format, run.identities)
    accepted = overrides(force, allow_lockout)
    run.plan.raise_if_unsafe(accepted)
    if out is not None:
        save_plan(run, out, accepted)
        if not quiet:
            stderr_console().print(
                f"Saved the plan to {out}; apply it with: permctl apply --plan {out}", markup=False
            )
    if detailed_exitcode and run.plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)
