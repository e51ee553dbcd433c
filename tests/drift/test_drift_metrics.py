"""The Prometheus textfile metrics of a drift run."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from plan_states import TODAY, rich_example

from permctl.drift import Baseline, DriftReport, drift_report
from permctl.drift.metrics import metrics_text, write_metrics
from permctl.model import SERVICES
from permctl.plan import DRIFT_KINDS_OF, build_plan

FINISHED = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc)


def _report() -> DriftReport:
    return drift_report(build_plan(*rich_example(), TODAY), FINISHED)


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if not line.startswith("#")
    }


def test_every_service_and_kind_is_written_zero_included() -> None:
    report = _report()

    samples = _samples(metrics_text(report, FINISHED))

    items = {
        name: value for name, value in samples.items() if name.startswith("permctl_drift_items{")
    }
    assert len(items) == sum(len(DRIFT_KINDS_OF[s]) for s in SERVICES)
    assert 0.0 in items.values()
    assert sum(items.values()) == len(report.items)
    assert samples["permctl_drift_success"] == 1
    assert samples["permctl_drift_last_run_timestamp_seconds"] == FINISHED.timestamp()
    assert "permctl_drift_new_items" not in samples  # no baseline, nothing is "new"


def test_a_failed_run_writes_success_0_and_no_stale_counts() -> None:
    samples = _samples(metrics_text(None, FINISHED))

    assert samples == {
        "permctl_drift_success": 0,
        "permctl_drift_last_run_timestamp_seconds": FINISHED.timestamp(),
    }


def test_with_a_baseline_new_items_are_counted_and_items_still_count_all() -> None:
    report = _report()
    narrowed = report.since(Baseline("drift.json", frozenset({report.items[0].key})))

    samples = _samples(metrics_text(narrowed, FINISHED))

    assert samples["permctl_drift_new_items"] == len(report.items) - 1
    items = [v for name, v in samples.items() if name.startswith("permctl_drift_items{")]
    assert sum(items) == len(report.items)


def test_every_metric_has_help_and_type_lines() -> None:
    text = metrics_text(_report(), FINISHED)
    names = {name.split("{")[0] for name in _samples(text)}

    for name in names:
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text


def test_the_file_holds_exactly_the_metrics_text(tmp_path: Path) -> None:
    path = tmp_path / "permctl.prom"
    path.write_text("stale\n", encoding="utf-8")
    report = _report()

    write_metrics(path, report, FINISHED)

    assert path.read_text(encoding="utf-8") == metrics_text(report, FINISHED)
    assert [p.name for p in tmp_path.iterdir()] == ["permctl.prom"]  # no temporary left
