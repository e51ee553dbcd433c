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
)
SKIPPED = ItemResult("asm", "grant", "u3", "carol (u3)", "skipped", "changed since the plan")
REPORT = ApplyReport((DONE, FAILED, SKIPPED), write_calls=2, verification_reads=1)


def test_text_lists_failures_first_then_skips_then_what_was_done() -> None:
    lines = render_text(REPORT).splitlines()

    assert lines == [
        "  failed   create User bob (sso-u2): Admin [NoPermission]: denied (RequestId R2)",
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
    }
