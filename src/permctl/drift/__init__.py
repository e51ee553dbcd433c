"""Drift reports: what differs between the file and live state, for scheduled jobs.

A report is built from a plan (so it costs exactly the reads a plan costs), can be narrowed to
what a previous JSON report did not have, and is rendered as text, markdown or versioned JSON,
with Prometheus metrics beside it.
"""

from permctl.drift.baseline import BaselineError, read_baseline
from permctl.drift.report import Baseline, DriftReport, describe_item, drift_report

__all__ = [
    "Baseline",
    "BaselineError",
    "DriftReport",
    "describe_item",
    "drift_report",
    "read_baseline",
]
