"""The drift report for terminals and for issues: grouped by service, then kind."""

from __future__ import annotations

from datetime import datetime, timezone

from plan_states import TODAY, rich_example

from permctl.drift import Baseline, DriftReport, drift_report
from permctl.drift.report import KIND_TITLES
from permctl.plan import build_plan
from permctl.render import drift
from permctl.render.common import escape

GENERATED = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc)


def _report() -> DriftReport:
    return drift_report(build_plan(*rich_example(), TODAY), GENERATED)


def test_text_groups_items_by_service_then_kind_and_ends_with_the_summary() -> None:
    report = _report()

    lines = drift.text(report).plain.splitlines()

    assert lines[0] == "Service Mesh"
    assert "CloudSSO (directory d-dir)" in lines
    assert lines.index("Service Mesh") < lines.index("CloudSSO (directory d-dir)")
    kinds = [line for line in lines if line.startswith("  ") and not line.startswith("    ")]
    assert kinds and all(line.rstrip(":").endswith(")") for line in kinds)
    items = [line for line in lines if line.startswith("    ")]
    assert len(items) == len(report.items)
    assert lines[-1] == report.summary_line()


def test_text_without_drift_is_the_no_drift_sentence() -> None:
    report = _report()
    quiet = DriftReport(report.plan, (), GENERATED)

    assert drift.text(quiet).plain == "No drift: live state matches the file.\n"


def test_markdown_has_a_count_table_and_one_section_per_service() -> None:
    report = _report()

    rendered = drift.markdown(report)

    assert rendered.startswith("## permctl drift\n")
    assert "| Service | Live but not in the file |" in rendered
    assert rendered.count("<summary>") == 2
    kinds = {f"| {escape(title)} |" for title in KIND_TITLES.values()}
    rows = [line for line in rendered.splitlines() if line.startswith(tuple(kinds))]
    assert len(rows) == len(report.items)


def test_markdown_of_what_a_baseline_already_had_says_so() -> None:
    report = _report()
    narrowed = report.since(Baseline("drift.json", frozenset(i.key for i in report.items)))

    rendered = drift.markdown(narrowed)

    assert "No new drift" in rendered and "already in drift\\.json not shown" in rendered
    assert "<summary>" not in rendered
