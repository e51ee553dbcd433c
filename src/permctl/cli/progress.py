"""A progress bar on stderr for reads that take more than a moment; silent otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# A read that finishes sooner than this shows nothing, so quick runs keep a clean terminal.
SHOW_AFTER_S = 0.5


class ReadProgress:
    def __init__(self, *, quiet: bool) -> None:
        self._enabled = not quiet and sys.stderr.isatty()

    @contextmanager
    def track(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        """Yields `advance()`; the bar appears only once the read has lasted SHOW_AFTER_S."""
        if not self._enabled:
            yield lambda: None
            return
        started = time.monotonic()
        done = 0
        bar: Progress | None = None
        task = None

        def advance() -> None:
            nonlocal done, bar, task
            done += 1
            if bar is None and time.monotonic() - started >= SHOW_AFTER_S:
                bar = _new_bar()
                bar.start()
                task = bar.add_task(label, total=total)
            if bar is not None and task is not None:
                bar.update(task, completed=done)

        try:
            yield advance
        finally:
            if bar is not None:
                bar.stop()


def _new_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
