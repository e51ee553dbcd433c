"""What happened: every call, and every write with its before and after, as immutable records."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from permctl.emulator.state import AssignmentKey, MeshGrant, Task


@dataclass(frozen=True)
class Call:
    sequence: int
    time: float  # epoch seconds when the call arrived
    action: str
    version: str
    access_key_id: str | None
    params: Mapping[str, str]
    status: int
    code: str | None  # the error code; None for a success
    request_id: str
    elapsed_ms: float  # from the parsed request to the answer, injected latency included
    # What OpenAPI Explorer's GetRequestLog tells of a call.
    account_id: str | None = None  # the account the signing key acts in; None: unknown key
    message: str | None = None  # the error message; None for a success
    access_denied: Mapping[str, Any] | None = None  # the 403's AccessDeniedDetail
    method: str = "POST"
    path: str = "/"
    product: str = ""  # the service code (servicemesh, cloudsso...); empty for an unknown action

    @property
    def throttled(self) -> bool:
        return (self.code or "").startswith("Throttling")


def most_in_flight(calls: Iterable[Call]) -> int:
    """The most calls the emulator was answering at once."""
    edges = sorted(
        edge
        for call in calls
        for edge in ((call.time, 1), (call.time + call.elapsed_ms / 1000, -1))
    )
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


@dataclass(frozen=True)
class GrantWrite:
    """One principal's list as a successful GrantUserPermissions replaced it."""

    call_sequence: int
    request_id: str
    principal_id: str
    is_ram_role: bool
    before: tuple[MeshGrant, ...]
    after: tuple[MeshGrant, ...]

    @property
    def lost(self) -> frozenset[MeshGrant]:
        return frozenset(self.before) - frozenset(self.after)


@dataclass(frozen=True)
class AssignmentWrite:
    """A completed CloudSSO task; `status` Failed means nothing changed."""

    task_id: str
    request_id: str  # of the call that submitted the task
    operation: str  # CreateAccessAssignment | DeleteAccessAssignment
    directory_id: str
    assignment: AssignmentKey
    status: str
    failure_reason: str | None
    deprovision_strategy: str | None

    @classmethod
    def completed(cls, task: Task) -> AssignmentWrite:
        return cls(
            task.task_id,
            task.request_id,
            task.task_type,
            task.directory_id,
            task.key,
            task.status,
            task.failure_reason,
            task.deprovision_strategy,
        )


Write = GrantWrite | AssignmentWrite


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._records = 0  # calls and writes recorded so far, for waiters
        self._sequence = itertools.count(1)
        self._calls: list[Call] = []
        self._writes: list[Write] = []

    def next_sequence(self) -> int:
        with self._lock:
            return next(self._sequence)

    def record_call(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._records += 1
            self._recorded.notify_all()

    def record_writes(self, writes: Iterable[Write]) -> None:
        with self._lock:
            self._writes.extend(writes)
            self._records += 1
            self._recorded.notify_all()

    def wait_until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Whether `condition()` held within `timeout_s`; it is asked again after each record.
        It is asked without the journal's lock: it may read the emulator, which records."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                seen = self._records
            if condition():
                return True
            with self._lock:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self._records == seen:
                    self._recorded.wait(remaining)

    @property
    def calls(self) -> tuple[Call, ...]:
        """In arrival order (calls are recorded when they finish)."""
        with self._lock:
            return tuple(sorted(self._calls, key=lambda call: call.sequence))

    @property
    def writes(self) -> tuple[Write, ...]:
        with self._lock:
            return tuple(self._writes)

    def find(self, request_id: str) -> Call | None:
        with self._lock:
            return next((c for c in self._calls if c.request_id == request_id), None)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(call.action for call in self._calls)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._writes.clear()
