"""The apply report for people and for tools."""

from __future__ import annotations

import json

from permctl.apply import ApplyReport, ItemResult
from permctl.render.apply_report import render_json, render_text

DONE = ItemResult("asm", "grant", "u1", "alice (u1)", "done", "", None, "RID-1")
FAILED = ItemResult(
    "cloudsso",
    "create",
    "1001",
    "User bob (sso-u2): Admin",
    "failed",
    "denied",
    "NoPermission",
    "R2",
    "CreateAccessAssignment",
)
TASK_FAILED = ItemResult(
    "cloudsso", "create", "1002", "User eve (sso-u5): Admin", "failed", "task t-1 failed: no",
    "TaskFailed", "R5",
)  # fmt: skip
SKIPPED = ItemResult("asm", "grant", "u3", "carol (u3)", "skipped", "changed since the plan")
REPORT = ApplyReport((DONE, FAILED, SKIPPED), write_calls=2, verification_reads=1)


def test_text_lists_failures_first_then_skips_then_what_was_done() -> None:
    lines = render_text(REPORT).splitlines()

    assert lines == [
        "  failed   create User bob (sso-u2): Admin: CreateAccessAssignment failed: NoPermission: "
        "denied (RequestId R2); to see why: permctl diagnose R2",
        "  skipped  grant carol (u3): changed since the plan",
        "  done     grant alice (u1) (RequestId RID-1)",
        "Apply incomplete: 1 done, 1 failed, 1 skipped (2 write calls).",
    ]


def test_text_of_a_run_where_everything_was_done_says_complete() -> None:
    report = ApplyReport((DONE,), write_calls=1)

    assert render_text(report).endswith(
        "Apply complete: 1 done, 0 failed, 0 skipped (1 write calls).\n"
    )
    assert report.succeeded


def test_json_has_every_item_with_its_outcome_and_the_counts() -> None:
    document = json.loads(render_json(REPORT))

    assert document["succeeded"] is False
    assert (document["write_calls"], document["verification_reads"]) == (2, 1)
    assert document["summary"] == {"done": 1, "failed": 1, "skipped": 1}
    assert document["items"][1] == {
        "service": "cloudsso",
        "action": "create",
        "item_id": "1001",
        "display": "User bob (sso-u2): Admin",
        "outcome": "failed",
        "detail": "denied",
        "code": "NoPermission",
        "request_id": "R2",
        "api_action": "CreateAccessAssignment",
    }
    assert document["stopped_by"] is None


def test_a_failure_no_call_refused_keeps_its_code_and_offers_no_diagnose() -> None:
    (line, _) = render_text(ApplyReport((TASK_FAILED,), write_calls=1)).splitlines()

    assert line == (
        "  failed   create User eve (sso-u5): Admin [TaskFailed]: task t-1 failed: no "
        "(RequestId R5)"
    )


def test_a_stopped_run_names_the_signal_and_how_to_finish() -> None:
    report = ApplyReport((DONE, SKIPPED), write_calls=1, stopped_by="SIGTERM")

    assert render_text(report).splitlines()[-1] == (
        "Apply stopped by SIGTERM: 1 done, 0 failed, 1 skipped (1 write calls). The writes in "
        "flight were let finish and nothing else was started; run permctl apply again to finish."
    )
    assert json.loads(render_json(report))["stopped_by"] == "SIGTERM"
