"""What apply did with each item: done, failed (with the API's code, message and RequestId) or
skipped (and why). `render.apply_report` shows it as text for people and JSON for tools."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from permctl.errors import ApiError

Outcome = Literal["done", "failed", "skipped"]
ItemAction = Literal["grant", "create", "update", "provision", "delete"]


@dataclass(frozen=True)
class ItemRef:
    """One item of a plan, as a report names it."""

    service: Literal["asm", "cloudsso"]
    action: ItemAction
    # the principal (Service Mesh), the account (CloudSSO assignment, provisioning) or the
    # access configuration
    item_id: str
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
        message = error.api_message
        detail = f"{message.rstrip('.')}; {context}" if context else message
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
    stopped_by: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM)
    # A saved plan found already carried out: live state is what it leads to.
    already_applied: bool = False

    def of(self, outcome: Outcome) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if item.outcome == outcome)

    @property
    def succeeded(self) -> bool:
        """Everything the plan asked for is in place."""
        return all(item.outcome == "done" for item in self.items)

    def summary(self) -> str:
        done, failed, skipped = (len(self.of(o)) for o in ("done", "failed", "skipped"))
        counts = (
            f"{done} done, {failed} failed, {skipped} skipped ({self.write_calls} write calls)."
        )
        if self.stopped_by:
            return (
                f"Apply stopped by {self.stopped_by}: {counts} The writes in flight were let "
                "finish and nothing else was started; run permctl apply again to finish."
            )
        return f"Apply {'complete' if self.succeeded else 'incomplete'}: {counts}"
