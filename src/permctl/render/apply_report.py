"""The apply report as text for people and JSON for tools."""

from __future__ import annotations

import json
from dataclasses import asdict

from permctl.apply.report import ApplyReport, ItemResult


def render_text(report: ApplyReport) -> str:
    lines = [
        _line(item) for outcome in ("failed", "skipped", "done") for item in report.of(outcome)
    ]
    return "\n".join([*lines, report.summary()]) + "\n"


def _line(item: ItemResult) -> str:
    why = f": {item.detail}" if item.detail else ""
    code = f" [{item.code}]" if item.code else ""
    rid = f" (RequestId {item.request_id})" if item.request_id else ""
    return f"  {item.outcome:<8} {item.action} {item.display}{code}{why}{rid}"


# Additions keep the version; renaming or removing a field would make it "2".
FORMAT_VERSION = "1"


def render_json(report: ApplyReport) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "succeeded": report.succeeded,
        "already_applied": report.already_applied,
        "write_calls": report.write_calls,
        "verification_reads": report.verification_reads,
        "summary": {o: len(report.of(o)) for o in ("done", "failed", "skipped")},
        "items": [asdict(item) for item in report.items],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
