"""How fast permctl calls each API: concurrency that finds the limit itself, and the limits
Alibaba Cloud publishes.

Limits are per API and per account, and few are published. Each (account, API product) gets
an `ApiPace`, an AIMD controller in the manner of TCP congestion control:

- it starts with START_IN_FLIGHT calls in flight and, until the first throttling answer,
  adds one slot per call that succeeds (doubling every round trip, up to the ceiling);
- a throttling answer (a `Throttling*` code, HTTP 429, or any error carrying Retry-After)
  halves the slots, once per round trip whatever the number of throttled answers, and sets
  a pace: the calls accepted in the last second (a limit is counted per second), less a
  margin. That second's quota being spent, no call starts before the calls over that pace
  have left the second (unless the answer said, with Retry-After, how long to wait). A
  throttling answer well below the pace (another caller's share, or chance), or after fewer
  than EVIDENCE calls in the last second, leaves it be.
  From then on slots grow by one per round trip's worth of successes and the pace by 2 % a
  second (at least one call/s a second), probing for more. A limit may count every API of
  the account: what the account's other products do not use (or stop using) of the total it
  was throttled at, a product may take at once, and a product still doubling stops doubling
  (halving its slots once) when another product of its account is throttled (`AccountCalls`);
- Retry-After (x-acs-retry-after) stops new calls of that product until it has passed;
- never more than the ceiling (`--concurrency`) in flight.

Published limits are kept by default, below what the controller learns: `PublishedLimits`
spaces calls of each (account, action) so that they never exceed MARGIN of the limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from permctl.cloudlimits import DEFAULT_CEILING, published_qps

log = logging.getLogger("permctl.api")

START_IN_FLIGHT = 8
# The share of a limit permctl uses: what arrives at the API bunches up a little on the way.
MARGIN = 0.95
# Fewer calls accepted in the last second than this do not tell a limit from chance: a throttling
# answer then only cuts the slots.
EVIDENCE = 10
# A product that started no call for this long leaves its share of its account's total.
CLAIM_S = 0.5
# How fast a learned pace probes for more: 2 % a second, and at least one call/s a second.
PACE_GROWTH_PER_S = 0.02

Clock = Callable[[], float]


class RunStopped(Exception):
    """Raised in a call that was waiting to start (or to retry) when its run stopped."""


@dataclass(frozen=True)
class Throttled:
    """A throttling answer; `retry_after_s` when the API said how long to wait."""

    retry_after_s: float | None


def throttling(error: BaseException) -> Throttled | None:
    """Whether an SDK failure is the API refusing the call for its rate. Read by name, as the
    SDK's own retry policy reads its exceptions (an answer is never wrapped in its
    UnretryableException)."""
    if getattr(error, "name", None) == "ThrottlingException":  # answered with x-acs-retry-after
        after_ms = getattr(error, "retry_after", None)
        return Throttled(after_ms / 1000 if after_ms else None)
    code = str(getattr(error, "code", "") or "")
    if code.startswith("Throttling") or getattr(error, "status_code", None) == 429:
        return Throttled(None)
    return None


class Spacing:
    """At most `rate` starts a second, one every 1/rate seconds (no burst: the API counts
    calls per second, and a burst would spend a second's quota at once)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    def delay(self, now: float) -> float:
        return max(0.0, self._next - now)

    def take(self, now: float) -> None:
        self._next = max(now, self._next) + 1 / self.rate


class AccountCalls:
    """The calls of every product of one account accepted in the last second, what each goes
    at, and the total the account was last throttled at: a limit may count the account's calls
    of every API, so what one product does not use (or stops using) another may take.
    Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted: deque[tuple[float, str]] = deque()
        self._total: float | None = None
        self.last_cut = -math.inf  # when a product of the account was last throttled
        # What each product goes at (its pace, else what passed in the last second), and when
        # it last started a call: a product idle for CLAIM_S claims nothing.
        self._claims: dict[str, tuple[float, float]] = {}

    def _trim(self, now: float) -> None:
        while self._accepted and self._accepted[0][0] <= now - 1.0:
            self._accepted.popleft()

    def accepted(self, product: str, now: float) -> None:
        with self._lock:
            self._accepted.append((now, product))
            self._trim(now)

    def recent(self, product: str, now: float) -> list[float]:
        """When the product's calls of the last second were accepted, oldest first."""
        with self._lock:
            self._trim(now)
            return [at for at, which in self._accepted if which == product]

    def cut(self, now: float) -> None:
        with self._lock:
            self.last_cut = now

    def learn(self, now: float) -> None:
        """A product was throttled at its pace: the account's calls of the last second."""
        with self._lock:
            self._trim(now)
            self._total = MARGIN * len(self._accepted)

    def claim(self, product: str, pace: float | None, now: float) -> None:
        """A product starts a call, going at `pace` (None: as fast as it is let)."""
        with self._lock:
            if pace is None:
                self._trim(now)
                pace = sum(1.0 for _, which in self._accepted if which == product)
            self._claims[product] = (pace, now)

    def spare(self, product: str, now: float) -> float:
        """The calls/s the other products leave of the total; 0 before any throttling."""
        with self._lock:
            if self._total is None:
                return 0.0
            claimed = sum(
                pace
                for other, (pace, at) in self._claims.items()
                if other != product and at > now - CLAIM_S
            )
            return self._total - claimed


class ApiPace:
    """The calls of one API product in one account. Thread-safe."""

    def __init__(
        self,
        product: str,
        account: str,
        ceiling: int,
        published: PublishedLimits,
        account_calls: AccountCalls | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.product = product
        self.name = f"{product} in {account}"
        self.ceiling = ceiling
        self._published = published
        self._account_calls = account_calls or AccountCalls()
        self._clock = clock
        self._condition = threading.Condition()
        self.slots = float(min(START_IN_FLIGHT, ceiling))
        self._slow_start = True
        self.in_flight = 0
        self.most_in_flight = 0
        self.calls = 0
        self.calls_by_action: Counter[str] = Counter()
        self.throttled = 0
        self._learned: float | None = None  # calls/s, from the last throttling at its pace
        self._spacing = Spacing(1.0)  # at the learned pace, or what the account leaves spare
        self._resume_at = 0.0
        self._cut_at = -math.inf
        self._stopped = False

    @property
    def pace(self) -> float | None:
        """The calls/s it keeps to, once the API has throttled."""
        return self._spacing.rate if self._learned else None

    @contextmanager
    def slot(self, action: str) -> Iterator[_Attempt]:
        """Hold one call slot for one attempt of `action`: waits for a free slot, for
        Retry-After to pass and for the paces (learned and published) to allow a start."""
        started = self._acquire(action)
        attempt = _Attempt(action, started)
        try:
            yield attempt
        finally:
            self._release(attempt)

    def _acquire(self, action: str) -> float:
        with self._condition:
            while True:
                if self._stopped:
                    raise RunStopped(action)
                now = self._clock()
                self._follow_account_cut()
                if self._learned:
                    spare = self._account_calls.spare(self.product, now)
                    self._spacing.rate = max(self._learned, spare)
                wait = max(
                    self._resume_at - now,
                    self._spacing.delay(now) if self._learned else 0.0,
                    self._published.delay(action, now),
                )
                if wait <= 0 and self.in_flight < int(self.slots):
                    break
                self._condition.wait(wait if wait > 0 else None)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self._learned:
                self._spacing.take(now)
            self._published.take(action, now)
            self._account_calls.claim(self.product, self.pace, now)
            return now

    def _follow_account_cut(self) -> None:
        """Another product of the account was throttled while this one was still doubling:
        the limit may count both, so stop doubling (once) before its own answers say so."""
        cut = self._account_calls.last_cut
        if self._slow_start and cut > self._cut_at:
            self._slow_start = False
            self._cut_at = cut
            self.slots = max(1.0, self.slots / 2)

    def stop(self) -> None:
        """Calls waiting for a slot give up."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    def _release(self, attempt: _Attempt) -> None:
        with self._condition:
            now = self._clock()
            self.in_flight -= 1
            self.calls += 1
            self.calls_by_action[attempt.action] += 1
            if attempt.throttled is not None:
                self._on_throttled(attempt, now)
            elif attempt.succeeded:
                self._on_success(now)
            self._condition.notify_all()

    def _on_success(self, now: float) -> None:
        self._account_calls.accepted(self.product, now)
        growth = 1.0 if self._slow_start else 1.0 / self.slots
        self.slots = min(float(self.ceiling), self.slots + growth)
        if self._learned:
            self._learned += max(PACE_GROWTH_PER_S, 1 / self._learned)

    def _on_throttled(self, attempt: _Attempt, now: float) -> None:
        self.throttled += 1
        throttled = attempt.throttled
        assert throttled is not None
        if throttled.retry_after_s:
            self._resume_at = max(self._resume_at, now + throttled.retry_after_s)
        if attempt.started < self._cut_at:
            return  # sent before the last cut: the cut already answered its round trip
        self._cut_at = now
        self._slow_start = False
        self.slots = max(1.0, self.slots / 2)
        self._account_calls.cut(now)
        recent = self._account_calls.recent(self.product, now)
        accepted = len(recent)
        if accepted < EVIDENCE:
            return  # too few calls to tell a limit per second from chance
        if self._learned is None or accepted >= MARGIN * self._learned:
            # Throttled at the pace it went: what passed in the last second is the limit. (Below
            # it, the answer is another caller's share or chance: the pace stands.)
            self._learned = MARGIN * accepted
        # What the account passed in the last second is what it may share from now on.
        self._account_calls.learn(now)
        self._spacing.rate = self._learned
        excess = accepted - int(self._learned)
        if excess > 0 and not throttled.retry_after_s:
            # The second's quota is spent: nothing passes before the calls over the pace have
            # left it.
            self._resume_at = max(self._resume_at, recent[excess - 1] + 1.0)

    def summary(self) -> str:
        pace = f", paced at {self.pace:.0f} calls/s" if self.pace else ""
        by_action = ", ".join(f"{n} {a}" for a, n in sorted(self.calls_by_action.items()))
        return (
            f"{self.name}: settled at {int(self.slots)} in flight (at most {self.most_in_flight}, "
            f"ceiling {self.ceiling}){pace}; {self.throttled} throttled answers in "
            f"{self.calls} calls ({by_action})"
        )


class _Attempt:
    """What one attempt came to, told by the caller before its slot is released."""

    def __init__(self, action: str, started: float) -> None:
        self.action = action
        self.started = started
        self.succeeded = False
        self.throttled: Throttled | None = None


class PublishedLimits:
    """The published limits of one account, one `Spacing` per action that has one."""

    def __init__(self, product: str, enforce: bool = True) -> None:
        self._product = product
        self._enforce = enforce
        self._spacings: dict[str, Spacing | None] = {}

    def _spacing(self, action: str) -> Spacing | None:
        if action not in self._spacings:
            qps = published_qps(self._product, action) if self._enforce else None
            self._spacings[action] = Spacing(MARGIN * qps) if qps else None
        return self._spacings[action]

    def delay(self, action: str, now: float) -> float:
        spacing = self._spacing(action)
        return spacing.delay(now) if spacing else 0.0

    def take(self, action: str, now: float) -> None:
        if spacing := self._spacing(action):
            spacing.take(now)


class Pacing:
    """Every `ApiPace` of one run, shared by the connections of its identities: two roles in
    one account share that account's limits."""

    def __init__(
        self,
        ceiling: int = DEFAULT_CEILING,
        *,
        published_limits: bool = True,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ceiling = ceiling
        self._published_limits = published_limits
        self._clock = clock
        self._paces: dict[tuple[str, str], ApiPace] = {}
        self._accounts: dict[str, AccountCalls] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def pace(self, account: str, product: str) -> ApiPace:
        with self._lock:
            key = (account, product)
            if key not in self._paces:
                self._paces[key] = ApiPace(
                    product,
                    account,
                    self.ceiling,
                    PublishedLimits(product, self._published_limits),
                    self._accounts.setdefault(account, AccountCalls()),
                    self._clock,
                )
                if self._stopped:
                    self._paces[key].stop()
            return self._paces[key]

    @property
    def paces(self) -> Mapping[tuple[str, str], ApiPace]:
        with self._lock:
            return MappingProxyType(dict(self._paces))

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        for pace in self.paces.values():
            pace.stop()

    def log_summary(self) -> None:
        """With -v: the concurrency each product settled on, the throttled answers and the
        calls of each action."""
        for pace in self.paces.values():
            log.info("pace %s", pace.summary())
