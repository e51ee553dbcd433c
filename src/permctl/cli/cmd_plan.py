"""`permctl plan`: what apply would change, for people, pull requests and tools."""

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from permctl.cli.app import EXIT_CHANGES, app, examples, stderr_console
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
    input_paths,
    overrides,
    target,
)
from permctl.cloudlimits import DEFAULT_CEILING

if TYPE_CHECKING:
    from permctl.config import Config
    from permctl.plan import Plan


def _drift_outlook(plan: "Plan", config: "Config") -> str:
    """What `permctl drift` will make of the access this plan leaves alone."""
    from permctl.drift.report import acceptances, drift_report
    from permctl.render.common import count_of

    report = drift_report(plan, datetime.now(timezone.utc), acceptances(config))
    unmanaged = sum(1 for item in report.items if item.kind == "live_not_in_file")
    return (
        f"permctl drift will report {count_of(unmanaged, 'unmanaged grant')}; "
        f"{len(report.accepted)} more accepted (drift.accept, protected principals)"
    )


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
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Show what apply would change: reads live state, writes nothing.

    Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes
    (--detailed-exitcode only), 1 error or unsafe plan.
    """
    from permctl.cli.show import show_plan, show_warnings
    from permctl.config import load_files
    from permctl.config.checks import expired_entries
    from permctl.workflow import (  # loads the cloud SDKs: see app.py
        connect,
        plan_run,
        save_plan,
        utc_today,
    )

    paths = input_paths(files)
    config = load_files(paths)
    with connect(config, target(emulator, profile, concurrency, quiet)) as session:
        run = plan_run(config, session)
    show_warnings(run.warnings())
    show_plan(run.plan, output_format, run.identities)
    for note in expired_entries(config, utc_today()):
        stderr_console().print(f"note {note}", markup=False)
    if not quiet and run.plan.summary.unmanaged:
        stderr_console().print(f"note {_drift_outlook(run.plan, config)}", markup=False)
    accepted = overrides(force, allow_lockout)
    run.plan.raise_if_unsafe(accepted)
    if out is not None:
        save_plan(run, out, accepted, paths)
        if not quiet:
            stderr_console().print(
                f"Saved the plan to {out}; apply it with: permctl apply --plan {out}", markup=False
            )
    if detailed_exitcode and run.plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)
