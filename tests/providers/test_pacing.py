"""How fast permctl calls each API: backing off under a cap and recovering, Retry-After, the
ceiling, which failures are retried, and what an interrupted read leaves behind. Through the
emulator, with the real SDK clients."""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from emulated_org import base_state, settings_for
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import DenyRule, Emulator, Knobs
from permctl.emulator.journal import most_in_flight
from permctl.errors import ApiError
from permctl.model import PrincipalKind
from permctl.providers import Providers, RetryPolicy, open_providers
from permctl.providers.connection import ended
from permctl.providers.pacing import (
    DOUBLING_S,
    START_IN_FLIGHT,
    AccountCalls,
    ApiPace,
    PublishedLimits,
    Spacing,
    Throttled,
)

REPO = Path(__file__).parents[2]
RUN_THREADS = ("permctl-api", "permctl-step")  # a run's, not the emulator's
FIRST_USER = 278525736090000000
USERS = 40
ASM = ("the caller's account", "servicemesh")


def crowded_state() -> dict[str, Any]:
    state = base_state()
    mesh = state["meshes"][0]["id"]
    grants = [{"mesh": mesh, "role": "istio-ops"}]
    state["ram"]["users"] += [
        {"id": str(FIRST_USER + n), "name": f"user-{n}", "grants": grants} for n in range(USERS)
    ]
    return state


def user_refs(count: int = USERS) -> list[tuple[str, PrincipalKind]]:
    return [(str(FIRST_USER + n), PrincipalKind.RAM_USER) for n in range(count)]


@pytest.fixture
def crowded() -> Iterator[Emulator]:
    with Emulator(crowded_state(), knobs=Knobs(seed=5)) as emulator:
        yield emulator


def _read_all(providers: Providers, count: int = USERS) -> None:
    read = providers.servicemesh.read_principals(user_refs(count))
    assert len(read) == count
    assert all(p.permissions for p in read.values())


def test_under_a_cap_on_one_api_it_backs_off_retries_and_reads_everything(
    crowded: Emulator,
) -> None:
    crowded.set_knobs(api_qps_caps=(("DescribeUserPermissions", 30),))
    with open_providers(settings_for(crowded)) as providers:
        _read_all(providers)
        pace = providers.connection.pacing.paces[ASM]
        assert pace.throttled > 0
        assert pace.slots < START_IN_FLIGHT + USERS  # cut from where slow start took it
        assert pace.pace is not None and pace.pace <= 30
        throttled = [c for c in crowded.calls if c.code == "Throttling.User"]
        assert len(throttled) == pace.throttled
        # Every throttled read was retried until it succeeded: one success per user.
        succeeded = [c for c in crowded.calls if c.code is None]
        ids = {c.params["SubAccountUserId"] for c in succeeded}
        assert len(ids) == len(succeeded) == USERS

        # Recovery: once the cap is gone, the slots grow again while calls succeed.
        crowded.set_knobs(api_qps_caps=())
        slots_after_cut = pace.slots
        _read_all(providers, 10)
        assert pace.slots > slots_after_cut


def test_retry_after_holds_every_call_of_that_api_until_it_has_passed(crowded: Emulator) -> None:
    # One call at a time: each call after a throttled one was sent after its answer came.
    crowded.set_knobs(throttle_rate=0.2, retry_after_ms=150)
    with open_providers(settings_for(crowded, concurrency=1)) as providers:
        _read_all(providers, 12)
    calls = sorted(crowded.calls, key=lambda c: c.time)
    throttled = [(call, after) for call, after in itertools.pairwise(calls) if call.code]
    assert throttled, "seed 5 throttles some of these calls"
    for answer, following in throttled:
        assert following.time >= answer.time + answer.elapsed_ms / 1000 + 0.15


def test_never_more_calls_in_flight_than_the_ceiling(crowded: Emulator) -> None:
    crowded.set_knobs(latency_ms=20)
    with open_providers(settings_for(crowded, concurrency=3)) as providers:
        _read_all(providers)
        assert providers.connection.pacing.paces[ASM].most_in_flight == 3
    assert most_in_flight(crowded.calls) <= 3


def test_a_throttled_call_is_retried_up_to_the_policy_then_reported(crowded: Emulator) -> None:
    crowded.set_knobs(throttle_rate=1.0)
    retry = RetryPolicy(max_attempts=3, base_delay_ms=5, max_delay_ms=10)
    with (
        open_providers(settings_for(crowded, retry=retry)) as providers,
        pytest.raises(ApiError) as raised,
    ):
        providers.servicemesh.read_principal(str(FIRST_USER), PrincipalKind.RAM_USER)
    assert raised.value.code == "Throttling.User"
    assert len(crowded.calls) == 3


def test_a_final_error_is_not_retried(crowded: Emulator) -> None:
    crowded.set_knobs(deny=(DenyRule("DescribeUserPermissions"),))
    with open_providers(settings_for(crowded)) as providers:
        with pytest.raises(ApiError) as raised:
            providers.servicemesh.read_principal(str(FIRST_USER), PrincipalKind.RAM_USER)
        assert providers.connection.pacing.paces[ASM].throttled == 0
    assert raised.value.status == 403
    assert len(crowded.calls) == 1


def test_ctrl_c_during_a_read_leaves_no_thread_and_no_call_behind(crowded: Emulator) -> None:
    crowded.set_knobs(latency_ms=100)
    interrupt = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    with (
        pytest.raises(KeyboardInterrupt),
        open_providers(settings_for(crowded, concurrency=4)) as providers,
    ):
        interrupt.start()
        _read_all(providers)
    interrupt.join()
    assert [t.name for t in threading.enumerate() if t.name.startswith(RUN_THREADS)] == []
    made = len(crowded.calls)
    assert made < USERS
    threading.Event().wait(0.25)  # no call left waiting to start fires after the fact
    assert len(crowded.calls) == made


def test_ctrl_c_during_a_plan_leaves_no_thread_and_no_call_behind(
    point_at: Callable[[Emulator], None],
) -> None:
    """A plan starts its independent reads together, on threads of their own."""
    with Emulator(REPO / "examples" / "live-state.yaml", knobs=Knobs(latency_ms=150)) as emu:
        point_at(emu)
        interrupt = threading.Timer(0.4, os.kill, (os.getpid(), signal.SIGINT))
        interrupt.start()
        result = CliRunner().invoke(
            app, ["plan", "--quiet", str(REPO / "permissions.yaml.example")]
        )
        interrupt.join()
        assert result.exit_code == 130  # interrupted, not finished
        ours = [t for t in threading.enumerate() if t.name.startswith(RUN_THREADS)]
        for thread in ours:
            # A call in flight ends within its latency; the margin is for a loaded machine.
            thread.join(timeout=10)
        assert [t.name for t in ours if t.is_alive()] == []
        made = len(emu.calls)
        threading.Event().wait(0.2)
        assert len(emu.calls) == made


# -- the controller alone, on a clock of its own -------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _pace(ceiling: int = 32) -> tuple[ApiPace, _Clock]:
    clock = _Clock()
    pace = ApiPace("servicemesh", "test", ceiling, PublishedLimits("servicemesh"), clock=clock)
    return pace, clock


def _call(pace: ApiPace, throttled: Throttled | None = None) -> None:
    with pace.slot("DescribeUserPermissions") as attempt:
        attempt.throttled = throttled
        attempt.succeeded = throttled is None


def test_slots_double_each_round_trip_but_once_a_doubling_time_until_the_ceiling() -> None:
    pace, clock = _pace(ceiling=20)
    assert pace.slots == START_IN_FLIGHT
    for _ in range(8):
        _call(pace)
    assert pace.slots == START_IN_FLIGHT  # a round trip's successes, but no time has passed
    clock.now += DOUBLING_S * 1.01
    for _ in range(8):
        _call(pace)
    assert pace.slots == 16
    clock.now += 10 * DOUBLING_S
    for _ in range(50):
        _call(pace)
    assert pace.slots == 20


def test_a_burst_of_throttled_answers_cuts_once_and_sets_a_pace() -> None:
    pace, clock = _pace()
    for _ in range(30):
        _call(pace)
        clock.now += 0.01
    slots = pace.slots
    attempts = [pace.slot("DescribeUserPermissions") for _ in range(4)]
    outcomes = [a.__enter__() for a in attempts]
    clock.now += 0.03
    for attempt, outcome in zip(attempts, outcomes, strict=True):
        outcome.throttled = Throttled(None)
        attempt.__exit__(None, None, None)
    assert pace.slots == slots / 2
    assert pace.pace == pytest.approx(0.95 * 30)  # the 30 calls accepted in the last second
    assert pace.throttled == 4
    # And no call starts before the calls over that pace (the first two of the 30, accepted
    # at 100.00 and 100.01) have left the second.
    started = threading.Event()

    def next_call() -> None:
        with pace.slot("DescribeUserPermissions") as attempt:
            started.set()
            attempt.succeeded = True

    clock.now = 101.005  # the first has left the second, the second has not
    waiting = threading.Thread(target=next_call, daemon=True)  # a failure leaves it waiting
    waiting.start()
    assert not started.wait(0.1)
    clock.now = 101.02
    assert started.wait(5)
    waiting.join()


def _account_paces() -> tuple[ApiPace, ApiPace, _Clock]:
    clock, account = _Clock(), AccountCalls()
    asm, sso = (
        ApiPace(product, "test", 32, PublishedLimits(product), account, clock)
        for product in ("servicemesh", "cloudsso")
    )
    return asm, sso, clock


def _throttle(pace: ApiPace, action: str) -> None:
    with pace.slot(action) as attempt:
        attempt.throttled = Throttled(None)


def _succeed(pace: ApiPace, action: str, clock: _Clock, calls: int, step: float = 0.005) -> None:
    for _ in range(calls):
        with pace.slot(action) as attempt:
            attempt.succeeded = True
        clock.now += step


def test_products_throttled_together_share_the_accounts_total_the_published_one_first() -> None:
    asm, sso, clock = _account_paces()
    _succeed(asm, "DescribeUserPermissions", clock, 120)
    _succeed(sso, "ListAccessAssignments", clock, 30, step=0.011)  # under its published 95/s
    _throttle(asm, "DescribeUserPermissions")
    assert asm.pace == pytest.approx(0.95 * 120)  # throttled alone: a limit of its own
    _throttle(sso, "ListAccessAssignments")  # within the second: the account's total
    total = 0.95 * 150
    clock.now += 1.0  # past the second whose quota was spent
    with sso.slot("ListAccessAssignments") as busy:
        busy.succeeded = True
        # CloudSSO cannot go faster later, when Service Mesh is done: it takes its 95/s first.
        assert sso.pace == pytest.approx(0.95 * 100)
        with asm.slot("DescribeUserPermissions") as attempt:
            attempt.succeeded = True
            assert asm.pace == pytest.approx(total - 0.95 * 100, abs=0.5)
    clock.now += 0.1
    # CloudSSO has nothing in flight or waiting: Service Mesh takes the whole total at once.
    with asm.slot("DescribeUserPermissions") as attempt:
        attempt.succeeded = True
        assert asm.pace == pytest.approx(total, abs=0.5)


def test_a_product_throttled_alone_keeps_its_own_pace_and_slows_no_other() -> None:
    asm, sso, clock = _account_paces()
    _succeed(asm, "DescribeUserPermissions", clock, 40)
    _succeed(sso, "ListAccessAssignments", clock, 40, step=0.011)
    _throttle(asm, "DescribeUserPermissions")
    clock.now += 2.0
    _succeed(sso, "ListAccessAssignments", clock, 1)
    assert asm.pace == pytest.approx(0.95 * 40)
    assert sso.pace is None


def test_another_products_throttling_holds_a_doubling_product_until_its_calls_answer() -> None:
    asm, sso, clock = _account_paces()
    in_flight = sso.slot("ListAccessAssignments")
    in_flight.__enter__().succeeded = True
    _succeed(asm, "DescribeUserPermissions", clock, 20)
    _throttle(asm, "DescribeUserPermissions")  # the limit may count CloudSSO's calls too
    started = threading.Event()

    def next_call() -> None:
        with sso.slot("ListAccessAssignments") as attempt:
            started.set()
            attempt.succeeded = True

    waiting = threading.Thread(target=next_call)
    waiting.start()
    assert not started.wait(0.2)  # its call in flight has not answered yet
    in_flight.__exit__(None, None, None)
    assert started.wait(5)
    waiting.join()
    assert int(sso.slots) == START_IN_FLIGHT // 2  # and it stopped doubling


def test_cloudssos_published_limits_space_its_writes() -> None:
    clock = _Clock()
    pace = ApiPace("cloudsso", "test", 32, PublishedLimits("cloudsso"), clock=clock)
    limits = PublishedLimits("cloudsso")
    limits.take("CreateAccessAssignment", clock.now)
    assert limits.delay("CreateAccessAssignment", clock.now) == pytest.approx(1 / (0.95 * 20))
    assert limits.delay("ListAccessAssignments", clock.now) == 0
    assert PublishedLimits("cloudsso", enforce=False).delay("CreateAccessAssignment", 0) == 0
    assert pace.pace is None


def test_a_late_start_keeps_the_pace_and_never_puts_more_than_one_call_over_it() -> None:
    spacing = Spacing(100.0)  # one start every 10 ms
    spacing.take(0.0)
    spacing.take(0.015)  # woke 5 ms late: the next may start 5 ms sooner
    assert spacing.delay(0.015) == pytest.approx(0.005)
    idle = Spacing(100.0)
    idle.take(0.0)
    idle.take(0.5)  # nothing to start for half a second: a new schedule, no burst
    assert idle.delay(0.5) == pytest.approx(0.01)
    # However the starts come, no second holds more than one call over the pace.
    starts, now = [], 0.0
    for step in itertools.islice(itertools.cycle((0.0, 0.0, 0.013, 0.2)), 400):
        now += step
        now += spacing.delay(now)
        spacing.take(now)
        starts.append(now)
    assert max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts) <= 100 + 1


def test_a_call_cancelled_by_the_run_stopping_ends_the_wait_for_it() -> None:
    """A pool's shutdown cancels queued calls without waking `wait`: a step waiting for them
    must still see them end (it once waited forever after Ctrl-C)."""
    release = threading.Event()
    pool = ThreadPoolExecutor(1)
    running = pool.submit(release.wait, 5)
    queued = pool.submit(lambda: None)
    pool.shutdown(wait=False, cancel_futures=True)
    assert ended({queued}) == {queued}
    assert queued.cancelled()
    release.set()
    assert running.result(timeout=5) is True
