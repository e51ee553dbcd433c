"""Prometheus textfile-collector metrics of a drift run.

Every service and kind pair is written, zero included, so an alert can compare with 0. A failed
run writes success 0 and its time but no counts: stale counts would look current.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from permctl.drift.report import DriftReport
from permctl.files import write_atomically

PREFIX = "permctl_drift"


def metrics_text(report: DriftReport | None, finished_at: datetime) -> str:
    """The metrics of a run: `report` is None when the run failed."""
    lines = [
        *_gauge(
            "success",
            "1 when the last drift run compared the file with live state, 0 when it failed.",
            [("", 0 if report is None else 1)],
        ),
        *_gauge(
            "last_run_timestamp_seconds",
            "When the last drift run finished, in seconds since the Unix epoch.",
            [("", int(finished_at.timestamp()))],
        ),
    ]
    if report is not None:
        counts = report.counts(include_known=True)
        lines += _gauge(
            "items",
            "Drift items by service and kind in the last successful run, new or not.",
            [
                (f'{{service="{service}",kind="{kind}"}}', count)
                for (service, kind), count in counts.items()
            ],
        )
        if report.baseline is not None:
            lines += _gauge(
                "new_items",
                "Drift items of the last run that the --since-baseline report did not have.",
                [("", len(report.items))],
            )
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, report: DriftReport | None, finished_at: datetime) -> None:
    write_atomically(path, metrics_text(report, finished_at))


def _gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    metric = f"{PREFIX}_{name}"
    return [
        f"# HELP {metric} {help_text}",
        f"# TYPE {metric} gauge",
        *(f"{metric}{labels} {value}" for labels, value in samples),
    ]
