"""A bounded pool that runs API calls as jobs, each of which may schedule follow-ups.

Apply is a small graph of calls: re-reads before a grant, a task poll after a submit and again
later, deletes after every create. Jobs are handed to at most `workers` threads; a job waiting
for a later time (a task poll backing off) holds no thread, so the slots stay busy with calls.
Among the jobs that are due, the lower `priority` goes first, then the older: finishing work
already started (grants after their re-reads, polls) keeps ahead of starting new work.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

Job = Callable[[], None]

FINISH = 0  # grants after their re-reads, task polls
START = 1  # re-reads, task submissions

# How often the run looks at whether it was asked to stop: a signal handler cannot wake it.
_STOP_POLL_S = 0.1
# How long a stopped run waits for the calls in flight; a call's own timeouts and retries end
# it sooner unless the API hangs.
STOP_GRACE_S = 30.0


class Scheduler:
    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._condition = threading.Condition()
        self._order = itertools.count()
        self._due: list[tuple[int, int, Job]] = []  # (priority, order, job)
        self._later: list[tuple[float, int, int, Job]] = []  # (at, priority, order, job)
        self._running = 0
        self._failure: BaseException | None = None
        self._stop_deadline: float | None = None

    def add(self, job: Job, *, priority: int = START, delay_s: float = 0.0) -> None:
        """Thread-safe; jobs may add their follow-ups."""
        with self._condition:
            order = next(self._order)
            if delay_s > 0:
                heapq.heappush(self._later, (time.monotonic() + delay_s, priority, order, job))
            else:
                heapq.heappush(self._due, (priority, order, job))
            self._condition.notify()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Start nothing more: what is queued or waiting is dropped, what runs may finish
        within `grace_s`. Only sets a deadline, so a signal handler may call it."""
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + grace_s

    @property
    def stopped(self) -> bool:
        return self._stop_deadline is not None

    def run(self) -> None:
        """Until nothing is queued, waiting or running (or, once stopped, running). A job that
        raises stops the run: what is running finishes, nothing new starts, and the exception
        is raised here."""
        pool = ThreadPoolExecutor(self._workers, thread_name_prefix="permctl-apply")
        try:
            with self._condition:
                self._loop(pool)
        finally:
            # A stopped run does not wait past its grace for calls still in flight.
            pool.shutdown(wait=not self.stopped, cancel_futures=True)

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            if self._stop_deadline is not None:
                self._due.clear()
                self._later.clear()
                if self._running == 0 or time.monotonic() >= self._stop_deadline:
                    return
            self._release_due()
            if self._failure is not None and self._running == 0:
                raise self._failure
            if self._failure is None and self._due and self._running < self._workers:
                _, _, job = heapq.heappop(self._due)
                self._running += 1
                pool.submit(self._run_one, job)
                continue
            if not (self._due or self._later or self._running):
                return
            self._condition.wait(self._wait_s())

    def _run_one(self, job: Job) -> None:
        try:
            job()
        except BaseException as error:  # re-raised by run(), in the caller's thread
            with self._condition:
                self._failure = self._failure or error
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify()

    def _release_due(self) -> None:
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            _, priority, order, job = heapq.heappop(self._later)
            heapq.heappush(self._due, (priority, order, job))

    def _wait_s(self) -> float:
        if self._later and self._failure is None:
            return min(_STOP_POLL_S, max(0.0, self._later[0][0] - time.monotonic()))
        return _STOP_POLL_S
