"""The results of one apply run, shared by every managed service's part: item results from
the worker threads, the write and verification-read counts, the audit log."""

from __future__ import annotations

import threading
from collections.abc import Callable

from permctl.apply.audit import AuditLog
from permctl.apply.report import ApplyReport, ItemRef, ItemResult
from permctl.errors import ApiError, PermctlError

# How an item that a stop left unfinished reads in the report.
STOPPED = "apply was stopped"
NOT_STARTED = f"not started: {STOPPED}"
IN_FLIGHT = "when " + STOPPED + "; permctl plan shows whether it took effect"


class Results:
    """Collects item results from the worker threads; counts write calls; feeds the audit log."""

    def __init__(self, advance: Callable[[], None], audit: AuditLog | None) -> None:
        self._advance = advance
        self.audit = audit
        self._lock = threading.Lock()
        self._items: list[ItemResult] = []
        self._write_calls = 0
        self._verification_reads = 0
        self._reported: set[ItemRef] = set()

    def add(self, item: ItemResult) -> None:
        with self._lock:
            self._items.append(item)
            self._reported.add(ItemRef(item.service, item.action, item.item_id, item.display))
            self._advance()

    def has(self, ref: ItemRef) -> bool:
        with self._lock:
            return ref in self._reported

    def count_write(self) -> None:
        with self._lock:
            self._write_calls += 1

    def count_verification_read(self) -> None:
        with self._lock:
            self._verification_reads += 1

    def report(self, stopped_by: str | None = None) -> ApplyReport:
        with self._lock:
            items = sorted(self._items, key=lambda i: (i.service, i.action != "create", i.display))
            return ApplyReport(
                tuple(items), self._write_calls, self._verification_reads, stopped_by
            )


def failure(ref: ItemRef, error: PermctlError, context: str) -> ItemResult:
    if isinstance(error, ApiError):
        return ref.refused(error, context)
    return ref.result("failed", f"{context}: {error}")
