"""Another writer overwriting a principal after apply granted it, before apply ends: there is
no compare-and-set, so apply reads back every principal it wrote once all else is done, and
reports the overwrite instead of a done."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apply_support import BOB, PROD, apply_json, other_writer, write_file
from reliability_scenarios import NEWCOMERS, OTHER_KEY, busy_permissions, emulator_state

from permctl.apply import CHANGED_AFTER_WRITE
from permctl.emulator import DenyRule, Emulator, GrantWrite, Knobs
from permctl.model import MeshRole, PrincipalKind


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    # Tasks that take a while keep apply running well after its grants.
    with Emulator(emulator_state(), knobs=Knobs(task_delay_s=0.5)) as emulator:
        point_at(emulator)
        yield emulator


def overwrite_once_granted(emu: Emulator, principal_id: str, grants: frozenset[MeshRole]) -> None:
    """Waits in its own thread for permctl's grant to `principal_id`, then replaces it."""
    while not any(isinstance(w, GrantWrite) and w.principal_id == principal_id for w in emu.writes):
        threading.Event().wait(0.002)
    with other_writer(emu, OTHER_KEY) as other:
        other.servicemesh.grant([principal_id], PrincipalKind.RAM_USER, grants)


def test_a_grant_overwritten_before_apply_ends_is_reported_failed_with_its_request_id(
    emu: Emulator, tmp_path: Path
) -> None:
    theirs = frozenset({MeshRole(PROD, "istio-admin")})
    other = threading.Thread(target=overwrite_once_granted, args=(emu, BOB, theirs))
    other.start()
    code, report, _ = apply_json(str(write_file(tmp_path, busy_permissions(NEWCOMERS))))
    other.join()
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


def deny_reads_once_granted(emu: Emulator, principal_id: str) -> None:
    """Waits in its own thread for permctl's grant to `principal_id`, then refuses reads of it."""
    while not any(isinstance(w, GrantWrite) and w.principal_id == principal_id for w in emu.writes):
        threading.Event().wait(0.002)
    emu.set_knobs(deny=(DenyRule("DescribeUserPermissions", frozenset({principal_id})),))


def test_a_grant_that_cannot_be_read_back_is_reported_failed_with_the_read_request_id(
    emu: Emulator, tmp_path: Path
) -> None:
    watcher = threading.Thread(target=deny_reads_once_granted, args=(emu, BOB))
    watcher.start()
    code, report, _ = apply_json(str(write_file(tmp_path, busy_permissions(NEWCOMERS))))
    watcher.join()
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
