"""`permctl drift`: how live state differs from the file, for scheduled jobs."""

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from permctl.cli.app import EXIT_CHANGES, app, examples, stderr_console, stdout_console
from permctl.cli.options import (
    Concurrency,
    EmulatorState,
    Files,
    Format,
    OutputFormat,
    Profile,
    Quiet,
    load_config,
    target,
)
from permctl.cloudlimits import DEFAULT_CEILING
from permctl.files import OutputFileError, write_atomically

if TYPE_CHECKING:
    from permctl.drift import Baseline, DriftReport
    from permctl.workflow import Target


@app.command(
    epilog=examples(
        "permctl drift --emulator examples/live-state.yaml permissions.yaml.example",
        "permctl drift --format markdown > drift.md",
        "permctl drift -q --since-baseline drift.json --out drift.json "
        "--metrics-file /var/lib/node_exporter/permctl.prom",
    ),
)
def drift(
    files: Files = None,
    emulator: EmulatorState = None,
    output_format: OutputFormat = Format.TEXT,
    since_baseline: Annotated[
        Path | None,
        typer.Option(
            "--since-baseline",
            metavar="FILE",
            help="Show only drift that this earlier JSON report does not have; the exit status "
            "follows what is shown. A file that does not exist yet means everything is new.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Also write the full JSON report (every item, whatever --since-baseline left "
            "out) to FILE, atomically: the next run's baseline.",
        ),
    ] = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            metavar="FILE",
            help="Write Prometheus textfile-collector metrics to FILE, atomically, also when "
            "the run fails.",
        ),
    ] = None,
    profile: Profile = None,
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Report how live state differs from the file: reads what plan reads, changes nothing.

    Exit status: 0 no drift, 2 drift (with --since-baseline: new drift), 1 error.
    """
    from permctl.drift import document as json_report
    from permctl.drift.metrics import write_metrics

    try:
        full, baseline = _compare(
            files, since_baseline, target(emulator, profile, concurrency, quiet)
        )
        if out is not None:
            write_atomically(out, json_report.render(full))
    except Exception:
        if metrics_file is not None:
            _write_failure_metrics(metrics_file)
        raise
    shown = full if baseline is None else full.since(baseline)
    if metrics_file is not None:
        write_metrics(metrics_file, shown, _now())
    if baseline is not None and not baseline.found and not quiet:
        stderr_console().print(
            f"No baseline at {baseline.path} yet: all drift is new.", markup=False
        )
    _show(shown, output_format)
    if shown.has_drift:
        raise typer.Exit(EXIT_CHANGES)


def _compare(
    files: list[Path] | None, since_baseline: Path | None, where: "Target"
) -> "tuple[DriftReport, Baseline | None]":
    """The full report and the baseline; the baseline is read first so a bad one costs no call."""
    from permctl.drift import drift_report, read_baseline
    from permctl.drift.report import acceptances
    from permctl.workflow import connect, plan_run  # loads the cloud SDKs: see app.py

    config = load_config(files)
    baseline = read_baseline(since_baseline) if since_baseline is not None else None
    with connect(config, where) as session:
        run = plan_run(config, session)
    return drift_report(run.plan, _now(), acceptances(config)), baseline


def _write_failure_metrics(path: Path) -> None:
    """The run's own error is the one to report; a metrics file that cannot be written either
    is only mentioned."""
    from permctl.drift.metrics import write_metrics

    try:
        write_metrics(path, None, _now())
    except OutputFileError as error:
        stderr_console().print(f"warning: {error}", markup=False)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _show(report: "DriftReport", output_format: Format) -> None:
    from permctl.drift import document as json_report
    from permctl.render import drift as render

    if output_format is Format.TEXT:
        stdout_console().print(render.text(report), end="")
    elif output_format is Format.MARKDOWN:
        typer.echo(render.markdown(report), nl=False)
    else:
        typer.echo(json_report.render(report), nl=False)
