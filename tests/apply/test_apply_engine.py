"""The pure parts of apply, without a server: grouping grants into batches, refusing changes
that would drop grants outside the managed meshes, and the scheduler's order and failures."""

from __future__ import annotations

import threading

import pytest

from permctl.apply import Changes, InconsistentChanges, PrincipalGrant, grant_batches
from permctl.apply.scheduler import FINISH, START, Scheduler
from permctl.model import MeshRole, PrincipalKind
from permctl.plan import Snapshot

PROD, SANDBOX = "c-prod", "c-sandbox"
USER, ROLE = PrincipalKind.RAM_USER, PrincipalKind.RAM_ROLE
READONLY = frozenset({MeshRole(PROD, "istio-readonly")})


def grant(principal_id: str, kind: PrincipalKind, after: frozenset[MeshRole]) -> PrincipalGrant:
    return PrincipalGrant(principal_id, kind, principal_id, frozenset(), after)


def test_same_kind_and_list_share_batches_of_at_most_the_chunk_size() -> None:
    grants = [grant(f"u{i}", USER, READONLY) for i in range(7)]
    grants += [grant("r1", ROLE, READONLY), grant("u-admin", USER, frozenset())]
    batches = grant_batches(grants, size=3)
    assert [(b.kind, len(b.grants)) for b in batches] == [
        (USER, 3),
        (USER, 3),
        (USER, 1),
        (ROLE, 1),
        (USER, 1),
    ]
    assert [g.principal_id for g in batches[0].grants] == ["u0", "u1", "u2"]


def test_changes_dropping_a_grant_on_an_unmanaged_mesh_are_refused() -> None:
    held = frozenset({MeshRole(PROD, "istio-admin"), MeshRole(SANDBOX, "istio-ops")})
    loses_sandbox = PrincipalGrant("u1", USER, "alice (u1)", held, frozenset())
    with pytest.raises(InconsistentChanges, match=r"alice \(u1\).*meshes the file does not manage"):
        Changes((loses_sandbox,), (), Snapshot(), frozenset({PROD}), None)
    keeps_sandbox = PrincipalGrant(
        "u1", USER, "alice", held, frozenset({MeshRole(SANDBOX, "istio-ops")})
    )
    assert Changes((keeps_sandbox,), (), Snapshot(), frozenset({PROD}), None).grants


def test_due_finishing_work_runs_before_new_work_and_later_work_waits() -> None:
    ran: list[str] = []
    scheduler = Scheduler(workers=1)
    scheduler.add(lambda: ran.append("start-1"), priority=START)
    scheduler.add(lambda: ran.append("later"), priority=FINISH, delay_s=0.05)
    scheduler.add(lambda: ran.append("finish"), priority=FINISH)
    scheduler.add(lambda: ran.append("start-2"), priority=START)
    scheduler.run()
    assert ran == ["finish", "start-1", "start-2", "later"]


def test_a_job_that_raises_stops_new_work_and_is_raised() -> None:
    ran: list[int] = []
    scheduler = Scheduler(workers=1)

    def broken() -> None:
        raise RuntimeError("bug")

    scheduler.add(broken)
    scheduler.add(lambda: ran.append(1))
    with pytest.raises(RuntimeError, match="bug"):
        scheduler.run()
    assert ran == []


def test_no_more_jobs_run_at_once_than_workers() -> None:
    running, peak, lock = 0, 0, threading.Lock()
    all_busy = threading.Event()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            if running == 3:
                all_busy.set()
        # Held until three run at once, however slowly threads start; a scheduler that never
        # runs three would leave peak below 3 once the deadline passes.
        all_busy.wait(timeout=10)
        with lock:
            running -= 1

    scheduler = Scheduler(workers=3)
    for _ in range(12):
        scheduler.add(job)
    scheduler.run()
    assert peak == 3


def test_a_stopped_scheduler_lets_the_running_job_end_and_starts_nothing_more() -> None:
    ran: list[str] = []
    scheduler = Scheduler(workers=1)

    def first() -> None:
        scheduler.stop()  # as a signal handler would, while a job runs
        scheduler.add(lambda: ran.append("follow-up"))
        ran.append("first")

    scheduler.add(first)
    scheduler.add(lambda: ran.append("queued"))
    scheduler.add(lambda: ran.append("later"), delay_s=0.01)
    scheduler.run()
    assert ran == ["first"] and scheduler.stopped


def test_a_stopped_scheduler_waits_no_longer_than_its_grace() -> None:
    release, ended = threading.Event(), threading.Event()
    scheduler = Scheduler(workers=1)

    def hung() -> None:
        scheduler.stop(grace_s=0.0)
        release.wait(5)
        ended.set()

    scheduler.add(hung)
    scheduler.run()  # returns while the job still runs
    assert not ended.is_set()
    release.set()
