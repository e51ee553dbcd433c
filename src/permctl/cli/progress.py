"""A progress bar on stderr for reads that take more than a moment; silent otherwise."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

# A read that finishes sooner than this shows nothing, so quick runs keep a clean terminal.
SHOW_AFTER_S = 0.5


class ReadProgress:
    """One bar per read in progress; reads running at the same time (permctl starts
    independent reads together) share one live display, each its own line. Thread-safe."""

    def __init__(self, *, quiet: bool) -> None:
        self._enabled = not quiet and sys.stderr.isatty()
        self._lock = threading.Lock()
        self._bar: Progress | None = None  # while some read's line is on it

    @contextmanager
    def track(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        """Yields `advance()`; the line appears only once the read has lasted SHOW_AFTER_S."""
        if not self._enabled:
            yield lambda: None
            return
        started = time.monotonic()
        done = 0
        task: TaskID | None = None

        def advance() -> None:
            nonlocal done, task
            with self._lock:
                done += 1
                if task is None and time.monotonic() - started >= SHOW_AFTER_S:
                    task = self._show(label, total)
                if task is not None and self._bar is not None:
                    self._bar.update(task, completed=done)

        try:
            yield advance
        finally:
            with self._lock:
                if task is not None:
                    self._hide(task)

    def _show(self, label: str, total: int) -> TaskID:
        if self._bar is None:
            self._bar = _new_bar()
            self._bar.start()
        return self._bar.add_task(label, total=total)

    def _hide(self, task: TaskID) -> None:
        assert self._bar is not None
        self._bar.remove_task(task)
        if not self._bar.tasks:
            self._bar.stop()
            self._bar = None


def _new_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
