"""A clock for the emulator that stands still until a test moves it: what depends on time (the
QPS cap's second, a CloudSSO task's delay) then happens at the same step on any machine, however
slow or loaded."""

from __future__ import annotations

import threading
import time


class ManualClock:
    def __init__(self) -> None:
        # A whole second: steps like 0.25 then add up exactly (the QPS window ends at t + 1.0).
        self._now = float(int(time.time()))
        self._resumed_at: float | None = None  # monotonic time it started running, if it did
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            if self._resumed_at is None:
                return self._now
            return self._now + time.monotonic() - self._resumed_at

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def resume(self) -> None:
        """From now on it runs at real speed: what waits on it (a task not yet created, say)
        ends however the test went on."""
        with self._lock:
            if self._resumed_at is None:
                self._resumed_at = time.monotonic()
