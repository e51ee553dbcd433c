"""Ctrl-C and SIGTERM during apply: stop starting writes, let those in flight end, report.

A cancelled CI pipeline sends SIGINT, then SIGTERM: either stops the run the same way, the
first one names it and sets the exit status (128 + its number: 130, 143).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StoppedBeforeWriting(BaseException):
    """A stop signal came before any write started: the command ends at once. A BaseException,
    as KeyboardInterrupt is, so that no `except Exception` on the way swallows it."""

    def __init__(self, signal_received: signal.Signals) -> None:
        super().__init__(signal_received.name)
        self.signal = signal_received
        self.exit_code = 128 + signal_received.value


class Interrupt:
    """A request to stop, made from a signal handler. Before the run registers how to stop,
    it ends the command (nothing was written); after, it records the signal and calls that
    stop function, which must only set a flag."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self._stop: Callable[[], None] | None = None

    @property
    def exit_code(self) -> int | None:
        return 128 + self.signal.value if self.signal else None

    def on_request(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    def writes_ended(self) -> None:
        """From now on a signal is only recorded: the report still gets printed whole, and a
        SIGTERM that follows a SIGINT (a cancelled pipeline) does not cut it short."""
        self._stop = _nothing_to_stop

    def request(self, signum: int) -> None:
        if self.signal is None:
            self.signal = signal.Signals(signum)
        if self._stop is None:
            raise StoppedBeforeWriting(self.signal)
        self._stop()


def _nothing_to_stop() -> None:
    pass


@contextmanager
def stop_on_signals() -> Iterator[Interrupt]:
    """SIGINT and SIGTERM request a stop instead of ending the process, until the block ends;
    the block catches StoppedBeforeWriting."""
    interrupt = Interrupt()

    def handle(signum: int, frame: FrameType | None) -> None:
        interrupt.request(signum)

    if threading.current_thread() is not threading.main_thread():
        # Only the main thread may handle signals; elsewhere the process keeps its own ways.
        yield interrupt
        return
    previous = {number: signal.signal(number, handle) for number in STOP_SIGNALS}
    try:
        yield interrupt
    finally:
        for number, handler in previous.items():
            # Once asked to stop, the process is ending: a SIGTERM that follows the SIGINT
            # must not kill it before it exits with the status the first one set.
            signal.signal(number, signal.SIG_IGN if interrupt.signal else handler)
