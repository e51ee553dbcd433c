"""How fast permctl calls each API: concurrency that finds the limit itself, and the limits
Alibaba Cloud publishes.

Limits are per API and per account, and few are published. Each (account, API product) gets
an `ApiPace`, an AIMD controller in the manner of TCP congestion control:

- it starts with START_IN_FLIGHT calls in flight and, until the first throttling answer,
  adds one slot per call that succeeds (doubling every round trip, up to the ceiling), but
  doubling at most once per DOUBLING_S;
- a throttling answer (a `Throttling*` code, HTTP 429, or any error carrying Retry-After)
  halves the slots, once per round trip whatever the number of throttled answers, and sets
  a pace: the calls accepted in the last second (a limit is counted per second), less a
  margin. That second's quota being spent, no call starts before the calls over that pace
  have left the second (unless the answer said, with Retry-After, how long to wait). A
  throttling answer well below the pace (another caller's share, or chance), or after fewer
  than EVIDENCE calls in the last second, leaves it be.
  From then on slots grow by one per round trip's worth of successes and the pace by 2 % a
  second (at least one call/s a second), probing for more. A limit may count every API of
  the account (`AccountCalls`): products throttled within a second of each other share the
  account's total from then on, and a product still doubling stops doubling (halving its
  slots once, and waiting for its calls in flight) when another product of its account is
  throttled;
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
# The published limits of the actions a product started in the last RECENT_S hold it.
RECENT_S = 0.5
# Slow start doubles the slots each round trip, but at most once per DOUBLING_S: a limit
# counts calls per second, and what is in flight when the second's quota runs out comes back
# throttled, so the slots must not outrun what a second of answers can tell.
DOUBLING_S = 0.5
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
    calls per second, and a burst would spend a second's quota at once).

    A start less than one interval late (its thread woke late) keeps to its schedule: the next
    may start that much sooner. Without it every late wake-up was lost for good, and on a busy
    machine calls went up to a fifth under their pace; with it, no second holds more than one
    call over the pace. A start later than that (no call was waiting) starts a new schedule."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    def delay(self, now: float) -> float:
        return max(0.0, self._next - now)

    def take(self, now: float) -> None:
        interval = 1 / self.rate
        self._next = (self._next if now - self._next < interval else now) + interval


class AccountCalls:
    """The calls of every product of one account, for limits that count more than one product.

    A product throttled within a second of another product of its account is held to the
    account's total from then on (it `shares` it): the calls the account passed in the last
    second when it was throttled, less the margin. Products held to a published limit take
    their share first, since they cannot go faster later, when the others are done; the others
    split the rest. A product throttled alone keeps its own pace (a limit on that API only).
    Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted: deque[tuple[float, str]] = deque()
        self._throttled_at: dict[str, float] = {}
        self._sharing: set[str] = set()
        self._total: float | None = None
        self.last_cut = -math.inf  # when a product of the account was last throttled
        # What the published limits hold each busy product to (None: nothing).
        self._claims: dict[str, float | None] = {}

    def _trim(self, now: float) -> None:
        while self._accepted and self._accepted[0][0] <= now - 1.0:
            self._accepted.popleft()

    def accepted(self, product: str, now: float) -> None:
        with self._lock:
            self._accepted.append((now, product))
            self._trim(now)
            if self._total is not None and product in self._sharing:
                self._total = _probed(self._total)

    def recent(self, product: str, now: float) -> list[float]:
        """When the product's calls of the last second were accepted, oldest first."""
        with self._lock:
            self._trim(now)
            return [at for at, which in self._accepted if which == product]

    def throttled(self, product: str, now: float) -> bool:
        """A product was throttled: whether the limit is the account's total (another product
        of the account was throttled within the last second, now or before)."""
        with self._lock:
            self.last_cut = now
            others = {p for p, at in self._throttled_at.items() if p != product and at > now - 1}
            self._throttled_at[product] = now
            if others:
                self._sharing |= others | {product}
            return product in self._sharing

    def learn(self, now: float) -> None:
        """A product sharing the total was throttled: the account's calls of the last second
        are the total, unless well below it (another caller's share, or chance)."""
        with self._lock:
            self._trim(now)
            accepted = len(self._accepted)
            if accepted >= EVIDENCE and (self._total is None or accepted >= MARGIN * self._total):
                self._total = MARGIN * accepted

    def claim(self, product: str, published: float | None) -> None:
        """A product starts a call, held to `published` calls/s (None: to nothing)."""
        with self._lock:
            self._claims[product] = published

    def leave(self, product: str) -> None:
        """A product has no call in flight or waiting: it leaves its share to the others."""
        with self._lock:
            self._claims.pop(product, None)

    def share(self, product: str, published: float | None) -> float | None:
        """The calls/s a product sharing the account's total may go at; None for the others."""
        with self._lock:
            if product not in self._sharing or self._total is None:
                return None
            others = [held for other, held in self._claims.items() if other != product]
            first = sum(held for held in others if held is not None)
            if published is not None:
                return max(1.0, min(published, self._total - first))
            return max(1.0, (self._total - first) / (1 + others.count(None)))

    def spent_until(self, now: float) -> float:
        """When the account's calls of the last second will be back within its total."""
        with self._lock:
            self._trim(now)
            if self._total is None:
                return now  # too few calls yet to learn a total from
            return _spent_until([at for at, _ in self._accepted], self._total, now)


def _probed(rate: float) -> float:
    """A learned rate after one more call passed at it: PACE_GROWTH_PER_S a second, and at
    least one call/s a second."""
    return rate + max(PACE_GROWTH_PER_S, 1 / rate)


def _spent_until(accepted: list[float], limit: float, now: float) -> float:
    """When the calls accepted in the last second (oldest first) will be back within `limit`
    calls/s: once the calls over it have left the second."""
    excess = len(accepted) - int(limit)
    return accepted[excess - 1] + 1.0 if excess > 0 else now


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
        self._spacing = Spacing(1.0)  # at the learned pace, or its share of the account's
        self._paced = False
        self._waiting = 0
        self._hearing_back = False
        self._first_start: float | None = None
        self._resume_at = 0.0
        self._cut_at = -math.inf
        self._stopped = False

    @property
    def pace(self) -> float | None:
        """The calls/s it keeps to, once the API has throttled."""
        return self._spacing.rate if self._paced else None

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
            self._waiting += 1
            try:
                now = self._wait_for_start(action)
            finally:
                self._waiting -= 1
            if self._first_start is None:
                self._first_start = now
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self._paced:
                self._spacing.take(now)
            self._published.take(action, now)
            self._account_calls.claim(self.product, self._published.holding(now, action))
            return now

    def _wait_for_start(self, action: str) -> float:
        while True:
            if self._stopped:
                raise RunStopped(action)
            now = self._clock()
            self._follow_account_cut()
            self._set_pace(now, action)
            wait = max(
                self._resume_at - now,
                self._spacing.delay(now) if self._paced else 0.0,
                self._published.delay(action, now),
            )
            if wait <= 0 and self.in_flight < int(self.slots) and not self._hearing_back:
                return now
            self._condition.wait(wait if wait > 0 else None)

    def _set_pace(self, now: float, action: str | None = None) -> None:
        """Its share of the account's total when it shares it, else the pace it learned."""
        share = self._account_calls.share(self.product, self._published.holding(now, action))
        rate = share if share is not None else self._learned
        self._paced = rate is not None
        if rate is not None:
            self._spacing.rate = rate

    def _follow_account_cut(self) -> None:
        """Another product of the account was throttled while this one was still doubling:
        the limit may count both, so stop doubling (once), and start nothing more until the
        calls in flight have answered: if the limit counts them too, they come back throttled,
        and the calls sent meanwhile would have."""
        cut = self._account_calls.last_cut
        if self._slow_start and cut > self._cut_at:
            self._slow_start = False
            self._cut_at = cut
            self.slots = max(1.0, self.slots / 2)
            self._hearing_back = self.in_flight > 0

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
            if not self.in_flight:
                self._hearing_back = False
                if not self._waiting:
                    self._account_calls.leave(self.product)
            self._condition.notify_all()

    def _on_success(self, now: float) -> None:
        self._account_calls.accepted(self.product, now)  # which grows a shared total
        if self._slow_start:
            doublings = (now - (self._first_start or now)) / DOUBLING_S
            most = min(self.ceiling, START_IN_FLIGHT * 2 ** min(doublings, 16))  # no overflow
            self.slots = max(self.slots, min(most, self.slots + 1))
        else:
            self.slots = min(float(self.ceiling), self.slots + 1 / self.slots)
        if self._learned:
            self._learned = _probed(self._learned)

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
        shared = self._account_calls.throttled(self.product, now)
        recent = self._account_calls.recent(self.product, now)
        accepted = len(recent)
        if shared:
            self._account_calls.learn(now)
            if not throttled.retry_after_s:
                # The account's quota of the second is spent: nothing passes before the calls
                # over its total have left it.
                self._resume_at = max(self._resume_at, self._account_calls.spent_until(now))
            self._set_pace(now)
            return
        if accepted < EVIDENCE:
            return  # too few calls to tell a limit per second from chance
        if self._learned is None or accepted >= MARGIN * self._learned:
            # Throttled at the pace it went: what passed in the last second is the limit. (Below
            # it, the answer is another caller's share or chance: the pace stands.)
            self._learned = MARGIN * accepted
        self._set_pace(now)
        if not throttled.retry_after_s:
            # The second's quota is spent: nothing passes before the calls over the pace have
            # left it.
            self._resume_at = max(self._resume_at, _spent_until(recent, self._learned, now))

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
        self._started: dict[str, float] = {}  # when each limited action last started

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
            self._started[action] = now

    def holding(self, now: float, starting: str | None = None) -> float | None:
        """The calls/s its limits hold the product to: those of the actions it started in the
        last RECENT_S and of the one `starting`; None when none of them has a limit."""
        actions = {action for action, at in self._started.items() if at > now - RECENT_S}
        if starting is not None:
            actions.add(starting)
        rates = [spacing.rate for action in actions if (spacing := self._spacing(action))]
        return sum(rates) if rates else None


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
