"""What apply did with each item: done, failed (with the API's code, message and RequestId) or
skipped (and why), as text for people and JSON for tools."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Outcome = Literal["done", "failed", "skipped"]
ItemAction = Literal["grant", "create", "delete"]


@dataclass(frozen=True)
class ItemRef:
    """One item of a plan, as a report names it."""

    service: Literal["asm", "cloudsso"]
    action: ItemAction
    item_id: str  # the principal (Service Mesh) or the account (CloudSSO)
    display: str

    def result(
        self,
        outcome: Outcome,
        detail: str = "",
        code: str | None = None,
        request_id: str | None = None,
    ) -> ItemResult:
        return ItemResult(
            self.service, self.action, self.item_id, self.display, outcome, detail, code, request_id
        )


@dataclass(frozen=True)
class ItemResult:
    service: Literal["asm", "cloudsso"]
    action: ItemAction
    item_id: str  # the principal (Service Mesh) or the account (CloudSSO)
    display: str
    outcome: Outcome
    detail: str = ""  # why it failed or was skipped; for done: how
    code: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class ApplyReport:
    items: tuple[ItemResult, ...]
    write_calls: int
    # Service Mesh principals read back after the writes, to catch another writer's overwrite.
    verification_reads: int = 0

    def of(self, outcome: Outcome) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if item.outcome == outcome)

    @property
    def succeeded(self) -> bool:
        """Everything the plan asked for is in place."""
        return all(item.outcome == "done" for item in self.items)

    def summary(self) -> str:
        done, failed, skipped = (len(self.of(o)) for o in ("done", "failed", "skipped"))
        return (
            f"Apply {'complete' if self.succeeded else 'incomplete'}: {done} done, "
            f"{failed} failed, {skipped} skipped ({self.write_calls} write calls)."
        )


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
        "write_calls": report.write_calls,
        "verification_reads": report.verification_reads,
        "summary": {o: len(report.of(o)) for o in ("done", "failed", "skipped")},
        "items": [asdict(item) for item in report.items],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
