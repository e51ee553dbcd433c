"""`permctl apply`: make live state what the files say, or carry out a saved plan exactly."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from permctl.cli.app import EXIT_ERROR, app, examples, stderr_console, stdout_console
from permctl.cli.cmd_plan import show
from permctl.cli.options import (
    AllowLockout,
    Concurrency,
    EmulatorState,
    Files,
    Force,
    Format,
    Profile,
    Quiet,
    load_config,
    target,
)
from permctl.config import Config
from permctl.errors import PermctlError
from permctl.planfile import DEFAULT_DEPROVISION_STRATEGY, read_plan_file
from permctl.render import text
from permctl.savedsafety import check_saved_plan_safety

if TYPE_CHECKING:
    from permctl.apply import ApplyReport, Changes
    from permctl.providers import Session


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
    concurrency: Concurrency = 8,
    quiet: Quiet = False,
) -> None:
    """Apply the changes a plan shows: plans, shows the plan and asks (or --auto-approve);
    with --plan, applies a saved plan.

    Service Mesh principals changed by someone else since the plan are skipped, not
    overwritten. Exit status: 0 everything applied (or nothing to do), 1 anything failed or
    was skipped, or an error before any write.
    """
    from permctl.apply import (  # loads the cloud SDKs: see app.py
        ApplyReport,
        AuditLog,
        apply_changes,
        check_not_stale,
    )
    from permctl.workflow import connect

    config = load_config(files)
    saved = _saved_changes(plan_file, config, force, allow_lockout) if plan_file else None
    with connect(config, target(emulator, profile, concurrency, quiet)) as session:
        mesh_accounts, cloudsso = session.mesh_accounts, session.cloudsso.cloudsso
        if saved is not None:
            changes = saved
            check_not_stale(changes, mesh_accounts=mesh_accounts, cloudsso=cloudsso)
        else:
            changes = _fresh_changes(
                config, session, output_format, auto_approve, force, allow_lockout
            )
        if changes.is_empty:
            report = ApplyReport((), 0)
        else:
            with AuditLog(audit_log, session.identities) if audit_log else nullcontext() as audit:
                report = apply_changes(
                    changes,
                    mesh_accounts=mesh_accounts,
                    cloudsso=cloudsso,
                    concurrency=concurrency,
                    audit=audit,
                    show_progress=not quiet,
                )
    _show_report(report, output_format)
    if not report.succeeded:
        raise typer.Exit(EXIT_ERROR)


def _saved_changes(plan_file: Path, config: Config, force: bool, allow_lockout: bool) -> Changes:
    """The saved plan's changes, refused before any call when it was made from other files or
    is unsafe now; named as the plan recorded them."""
    from permctl.apply import Changes, check_made_from

    saved = read_plan_file(plan_file)
    check_made_from(saved, config)
    checked = check_saved_plan_safety(
        saved, config.settings.safety.as_settings(), force=force, allow_lockout=allow_lockout
    )
    return Changes.from_plan(checked, saved.deprovision_strategy)


def _fresh_changes(
    config: Config,
    session: Session,
    output_format: ReportFormat,
    auto_approve: bool,
    force: bool,
    allow_lockout: bool,
) -> Changes:
    """Plan, show the plan (on stderr when stdout carries the JSON report), check its safety
    and ask for a yes."""
    from permctl.apply import Changes
    from permctl.workflow import plan_run

    run = plan_run(config, session)
    if output_format is ReportFormat.TEXT:
        show(run.plan, Format.TEXT)
    else:
        stderr_console().print(text.render(run.plan), end="")
    run.plan.raise_if_unsafe(force=force, allow_lockout=allow_lockout)
    if run.plan.has_changes and not auto_approve:
        _confirm()
    strategy = (
        config.cloudsso.deprovision_strategy if config.cloudsso else DEFAULT_DEPROVISION_STRATEGY
    )
    return Changes.from_plan(run.plan, strategy)


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


def _show_report(report: ApplyReport, output_format: ReportFormat) -> None:
    from permctl.apply import render_json, render_text

    if output_format is ReportFormat.JSON:
        typer.echo(render_json(report))
    elif report.items:
        stdout_console().print("\n" + render_text(report), end="", markup=False)
    else:
        stdout_console().print("Nothing to apply: live state already matches.", markup=False)
