"""--since-baseline: a previous JSON report read back, and a report narrowed to what it lacked."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from plan_states import TODAY, rich_example

from permctl.drift import BaselineError, DriftReport, drift_report, read_baseline
from permctl.drift.document import render
from permctl.plan import build_plan

GENERATED = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc)


def _report() -> DriftReport:
    report = drift_report(build_plan(*rich_example(), TODAY), GENERATED)
    assert len(report.items) > 3
    return report


def test_a_baseline_has_the_keys_of_the_report_it_was_written_as(tmp_path: Path) -> None:
    report = _report()
    path = tmp_path / "drift.json"
    path.write_text(render(report), encoding="utf-8")

    baseline = read_baseline(path)

    assert baseline.found and baseline.path == str(path)
    assert baseline.keys == {item.key for item in report.items}


def test_a_baseline_not_written_yet_makes_everything_new(tmp_path: Path) -> None:
    report = _report()
    baseline = read_baseline(tmp_path / "absent.json")

    assert not baseline.found and baseline.keys == frozenset()
    assert report.since(baseline).items == report.items


def test_since_keeps_only_what_the_baseline_lacked_and_counts_the_rest(tmp_path: Path) -> None:
    report = _report()
    older = DriftReport(report.plan, report.items[1:], GENERATED)
    path = tmp_path / "drift.json"
    path.write_text(render(older), encoding="utf-8")

    narrowed = report.since(read_baseline(path))

    assert narrowed.items == report.items[:1]
    assert len(narrowed.known) == len(report.items) - 1
    assert narrowed.summary_line().endswith(
        f"{len(report.items) - 1} items already in {path} not shown."
    )
    # Counts for the metrics still see every item, new or known.
    assert sum(narrowed.counts(include_known=True).values()) == len(report.items)


def test_nothing_new_says_so_rather_than_no_drift(tmp_path: Path) -> None:
    report = _report()
    path = tmp_path / "drift.json"
    path.write_text(render(report), encoding="utf-8")

    narrowed = report.since(read_baseline(path))

    assert not narrowed.has_drift
    assert narrowed.summary_line().startswith("No new drift.")


def test_a_report_of_a_newer_permctl_with_more_fields_is_accepted(tmp_path: Path) -> None:
    document = json.loads(render(_report()))
    document["added_later"] = {"anything": True}
    document["items"][0]["also_added"] = 1
    path = tmp_path / "drift.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    assert len(read_baseline(path).keys) == len(document["items"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format_version": "2", "items": []}', "not a drift report of format '1'"),
        ('{"format_version": "1"}', "items: Field required"),
        ('{"format_version": "1", "items": [{"kind": "x"}]}', "items.0.key"),
        ("{not json", "the baseline is not JSON"),
        ("[" * 100_000, "the baseline is not JSON"),
    ],
    ids=["other version", "no items", "item without key", "not JSON", "nested too deeply"],
)
def test_a_baseline_that_is_not_a_drift_report_is_one_clear_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "drift.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(BaselineError, match=message) as refusal:
        read_baseline(path)
    assert str(path) in str(refusal.value) and "\n" not in str(refusal.value)
