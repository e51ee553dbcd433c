"""Reads that do not depend on each other start together, so that a run waits for as few round
trips in a row as its reads' dependencies allow (on a cross-region link, each costs ~0.5 s).

`together` runs a few independent steps, each of which may make many calls through its
connection's pool; `Once` is a read made at most once per run, by whichever step asks first,
while the others wait for its answer instead of asking again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    """A read made by its first caller; a failure is kept as well as a result, so that every
    caller sees the same answer from one call."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._result: tuple[T] | None = None
        self._failure: BaseException | None = None

    def get(self) -> T:
        with self._lock:
            if self._result is None and self._failure is None:
                try:
                    self._result = (self._read(),)
                except Exception as failure:
                    self._failure = failure
            if self._failure is not None:
                raise self._failure
            assert self._result is not None
            return self._result[0]


def together(*steps: Callable[[], Any]) -> list[Any]:
    """Run `steps` at once (not on a connection's pool: a step may itself use it); their
    results in order. The first failure (or Ctrl-C) is raised at once: the steps still
    running end when the run's connections close, which stops their calls."""
    if len(steps) <= 1:
        return [step() for step in steps]
    pool = ThreadPoolExecutor(len(steps), thread_name_prefix="permctl-step")
    try:
        futures = [pool.submit(step) for step in steps]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future in done and (failure := future.exception()) is not None:
                raise failure
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def started(*reads: Callable[[], Any]) -> Iterator[None]:
    """Start `reads` (`Once.get`s, whose answers later steps pick up) in the background while
    the block runs. Their failures are left to the step that needs the answer; on the way out
    nothing waits for them (a read still running ends when the run's connections close)."""
    if not reads:
        yield
        return
    pool = ThreadPoolExecutor(len(reads), thread_name_prefix="permctl-step")
    try:
        for read in reads:
            pool.submit(read)
        yield
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
