"""`permctl apply`: make live state what the files say, or carry out a saved plan exactly."""

import sys
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from permctl.cli.app import EXIT_ERROR, app, examples, stderr_console, stdout_console
from permctl.cli.options import (
    AllowLockout,
    Concurrency,
    EmulatorState,
    Files,
    Force,
    Format,
    Profile,
    Quiet,
    given_paths,
    load_config,
    overrides,
    target,
)
from permctl.cloudlimits import DEFAULT_CEILING
from permctl.errors import PermctlError

if TYPE_CHECKING:
    from permctl.apply import ApplyReport
    from permctl.plan import Plan


class ReportFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


class NotConfirmed(PermctlError):
    """Apply needs a yes from a person, or --auto-approve."""


@app.command(
    epilog=examples(
        "permctl apply --emulator examples/live-state.yaml permissions.yaml.example",
        "permctl apply --auto-approve --audit-log audit.jsonl",
        "permctl plan --out plan.json && permctl apply --plan plan.json",
    ),
)
def apply(
    files: Files = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="PLAN_FILE",
            help="Apply exactly this saved plan (permctl plan --out) instead of planning again, "
            "without asking; refused if anything it touches changed since, or if it is unsafe "
            "(checked again; --force and --allow-lockout must be given again if the plan needed "
            "them). The files must be the ones it was made from: they say how to connect.",
        ),
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply a fresh plan without asking.")
    ] = False,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="The final report: text or json.")
    ] = ReportFormat.TEXT,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            "--audit-log",
            metavar="FILE",
            help="Append one JSON line per write: time, action, the identity that acted, "
            "principal or target, before, after, outcome, RequestId.",
        ),
    ] = None,
    emulator: EmulatorState = None,
    force: Force = False,
    allow_lockout: AllowLockout = False,
    profile: Profile = None,
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Apply the changes a plan shows: plans, shows the plan and asks (or --auto-approve);
    with --plan, applies a saved plan.

    Service Mesh principals changed by someone else since the plan are skipped, not
    overwritten. Ctrl-C or SIGTERM while writing starts no new write, lets those in flight
    end (they reach the audit log) and reports how far each item got. Exit status: 0
    everything applied (or nothing to do), 1 anything failed or was skipped, or an error
    before any write; 130 stopped by SIGINT, 143 by SIGTERM.
    """
    from permctl.apply.interrupt import StoppedBeforeWriting, stop_on_signals  # see app.py
    from permctl.cli.show import show_warnings
    from permctl.plan.saved import require_input_files
    from permctl.workflow import apply_fresh, apply_saved

    if plan_file:
        require_input_files(plan_file, given_paths(files))
    config = load_config(files)
    where = target(emulator, profile, concurrency, quiet)
    accepted = overrides(force, allow_lockout)
    with stop_on_signals() as interrupt:
        try:
            if plan_file:
                report = apply_saved(
                    plan_file, config, where, accepted, audit_log=audit_log, interrupt=interrupt
                )
            else:
                report = apply_fresh(
                    config,
                    where,
                    accepted,
                    show=partial(_show_plan, output_format),
                    warn=show_warnings,
                    confirm=lambda _: None if auto_approve else _confirm(),
                    audit_log=audit_log,
                    interrupt=interrupt,
                )
        except StoppedBeforeWriting as stop:
            stderr_console().print(
                f"apply stopped by {stop.signal.name} before any write; nothing was changed",
                markup=False,
            )
            raise typer.Exit(stop.exit_code) from None
        interrupt.writes_ended()
        _show_report(report, output_format)
    if report.stopped_by and interrupt.exit_code:
        raise typer.Exit(interrupt.exit_code)
    if not report.succeeded:
        raise typer.Exit(EXIT_ERROR)


def _show_plan(output_format: ReportFormat, plan: "Plan") -> None:
    """On stderr when stdout carries the JSON report."""
    from permctl.cli.show import show_plan
    from permctl.render import text

    if output_format is ReportFormat.TEXT:
        show_plan(plan, Format.TEXT)
    else:
        stderr_console().print(text.render(plan), end="")


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise NotConfirmed(
            "refusing to apply: nobody can confirm (standard input is not a terminal); "
            "review the plan and pass --auto-approve, or apply a saved plan with --plan"
        )
    answer = typer.prompt(
        "Apply these changes? Only 'yes' is accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise NotConfirmed("apply cancelled; nothing was changed")


def _show_report(report: "ApplyReport", output_format: ReportFormat) -> None:
    from permctl.render.apply_report import render_json, render_text

    if output_format is ReportFormat.JSON:
        typer.echo(render_json(report))
    elif report.items:
        stdout_console().print("\n" + render_text(report), end="", markup=False)
    elif report.already_applied:
        stdout_console().print("This plan is already applied: nothing to do.", markup=False)
    else:
        stdout_console().print("Nothing to apply: live state already matches.", markup=False)
