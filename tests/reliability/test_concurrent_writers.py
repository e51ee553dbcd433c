"""Another writer overwriting a principal after apply granted it, before apply ends: there is
no compare-and-set, so apply reads back every principal it wrote once all else is done, and
reports the overwrite instead of a done."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from apply_support import BOB, PROD, apply_json, other_writer, write_file
from manual_clock import ManualClock
from reliability_scenarios import NEWCOMERS, OTHER_KEY, busy_permissions, emulator_state

from permctl.apply import CHANGED_AFTER_WRITE
from permctl.emulator import DenyRule, Emulator, GrantWrite, Knobs
from permctl.model import MeshRole, PrincipalKind


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(point_at: Callable[[Emulator], None], clock: ManualClock) -> Iterator[Emulator]:
    # CloudSSO tasks stay in progress until the test starts the clock: apply, which waits for
    # them before reading back what it granted, is still running when the other writer acts.
    with Emulator(emulator_state(), knobs=Knobs(task_delay_s=0.5), clock=clock) as emulator:
        point_at(emulator)
        yield emulator


@contextmanager
def once_granted(
    emu: Emulator, clock: ManualClock, principal_id: str, act: Callable[[], object]
) -> Iterator[None]:
    """Around an apply: in another thread, waits for permctl's grant to `principal_id`, does
    `act`, then starts the clock so that the tasks complete and apply can end. Fails the test if
    the grant never came or `act` failed."""
    outcome: list[object] = []

    def watch() -> None:
        try:
            granted = emu.wait_until(
                lambda: any(
                    isinstance(w, GrantWrite) and w.principal_id == principal_id for w in emu.writes
                ),
                timeout_s=60,
            )
            if granted:
                act()
            outcome.append(granted)
        except Exception as error:
            outcome.append(error)
        finally:
            clock.resume()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield
    watcher.join(timeout=60)
    assert outcome == [True], f"the grant to {principal_id} never came, or acting on it failed"


def test_a_grant_overwritten_before_apply_ends_is_reported_failed_with_its_request_id(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    theirs = frozenset({MeshRole(PROD, "istio-admin")})

    def overwrite() -> None:
        with other_writer(emu, OTHER_KEY) as other:
            other.servicemesh.grant([BOB], PrincipalKind.RAM_USER, theirs)

    with once_granted(emu, clock, BOB, overwrite):
        code, report, _ = apply_json(str(write_file(tmp_path, busy_permissions(NEWCOMERS))))
    assert code == 1 and not report["succeeded"]
    (failed,) = [i for i in report["items"] if i["outcome"] == "failed"]
    ours = next(w for w in emu.writes if isinstance(w, GrantWrite) and w.principal_id == BOB)
    assert (failed["item_id"], failed["code"], failed["request_id"]) == (
        BOB,
        CHANGED_AFTER_WRITE,
        ours.request_id,
    )
    assert failed["detail"].startswith("changed by another writer after our write")
    written = sum(1 for w in emu.writes if isinstance(w, GrantWrite)) - 1  # less theirs
    assert report["verification_reads"] == written


def test_a_grant_that_cannot_be_read_back_is_reported_failed_with_the_read_request_id(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    refused = DenyRule("DescribeUserPermissions", frozenset({BOB}))
    deny_reads = partial(emu.set_knobs, deny=(refused,))
    with once_granted(emu, clock, BOB, deny_reads):
        code, report, _ = apply_json(str(write_file(tmp_path, busy_permissions(NEWCOMERS))))
    assert code == 1
    (failed,) = [i for i in report["items"] if i["outcome"] == "failed"]
    refused = next(c for c in emu.calls if c.action == "DescribeUserPermissions" and c.code)
    ours = next(w for w in emu.writes if isinstance(w, GrantWrite) and w.principal_id == BOB)
    assert (failed["item_id"], failed["code"], failed["request_id"]) == (
        BOB,
        "NoPermission",
        refused.request_id,
    )
    assert f"granted (RequestId {ours.request_id}), but reading it back failed" in failed["detail"]
