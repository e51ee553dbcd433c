"""The apply report as text for people and JSON for tools."""

from __future__ import annotations

import json
from dataclasses import asdict

from permctl.apply.report import ApplyReport, ItemResult
from permctl.errors import api_failure, diagnose_hint


def render_text(report: ApplyReport) -> str:
    lines = [
        _line(item) for outcome in ("failed", "skipped", "done") for item in report.of(outcome)
    ]
    return "\n".join([*lines, report.summary()]) + "\n"


def _line(item: ItemResult) -> str:
    if item.api_action:
        return f"  {item.outcome:<8} {failed_item_message(item)}"
    why = f": {item.detail}" if item.detail else ""
    code = f" [{item.code}]" if item.code else ""
    rid = f" (RequestId {item.request_id})" if item.request_id else ""
    return f"  {item.outcome:<8} {item.action} {item.display}{code}{why}{rid}"


def failed_item_message(item: ItemResult) -> str:
    """`grant alice (…): GrantUserPermissions failed: Forbidden.RAM: … (RequestId R); to see why:
    permctl diagnose R`, for an item an API call refused: the same sentence a refused call
    stops plan with."""
    assert item.api_action is not None
    refused = api_failure(item.api_action, item.code, item.detail, item.request_id)
    hint = f"; {diagnose_hint(item.request_id)}" if item.request_id else ""
    return f"{item.action} {item.display}: {refused}{hint}"


# Additions keep the version; renaming or removing a field would make it "2".
FORMAT_VERSION = "1"


def render_json(report: ApplyReport) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "succeeded": report.succeeded,
        "already_applied": report.already_applied,
        "write_calls": report.write_calls,
        "verification_reads": report.verification_reads,
        "stopped_by": report.stopped_by,
        "summary": {o: len(report.of(o)) for o in ("done", "failed", "skipped")},
        "items": [asdict(item) for item in report.items],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
