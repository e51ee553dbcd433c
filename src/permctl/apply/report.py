"""What apply did with each item: done, failed (with the API's code, message and RequestId) or
skipped (and why), as text for people and JSON for tools."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Literal

from permctl.errors import ApiError, api_failure, diagnose_hint

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

    def refused(self, error: ApiError, context: str = "") -> ItemResult:
        """Failed because `error`'s call was refused; `context` says what that means here."""
        detail = f"{error.api_message}; {context}" if context else error.api_message
        return replace(
            self.result("failed", detail, error.code, error.request_id), api_action=error.action
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
    # The API action that refused it; None when no call was refused (a task that failed, a
    # principal changed by someone else).
    api_action: str | None = None


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


def render_json(report: ApplyReport) -> str:
    document = {
        "succeeded": report.succeeded,
        "write_calls": report.write_calls,
        "verification_reads": report.verification_reads,
        "summary": {o: len(report.of(o)) for o in ("done", "failed", "skipped")},
        "items": [asdict(item) for item in report.items],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
