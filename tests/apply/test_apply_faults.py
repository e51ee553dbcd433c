"""Apply under faults: failed tasks, throttling and 5xx, writes answered with an error after
they were applied, someone else writing between plan and grant, and kill -9 at a random
write. Kill seeds: PERMCTL_APPLY_KILL_SEEDS (default 3) runs that many."""

from __future__ import annotations

import os
import pty
import random
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from apply_support import (
    BOB,
    DEV_TEST,
    DEVELOPERS,
    DIRECTORY,
    PROD,
    READ_ONLY,
    apply_json,
    busy_permissions,
    environment,
    grant_behind_our_back,
    grants_lost_outside_managed,
    has_changes,
    kill_apply,
    other_writer,
    permctl_command,
    permissions,
    write_calls,
    write_file,
)

from permctl.emulator import DenyRule, Emulator, GrantWrite, Knobs
from permctl.emulator.handlers.cloudsso import FAILURE_REASON
from permctl.model import Assignment, MeshRole

SSO_BOB = "u-00bobq42wiltcrkabcd"
KILL_SEEDS = int(os.environ.get("PERMCTL_APPLY_KILL_SEEDS", "3"))


def test_a_failed_task_is_reported_with_its_reason_and_its_swap_keeps_the_old_access(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve(Knobs(task_failure_rate=1.0))
    code, report, _ = apply_json(str(write_file(tmp_path, permissions())))
    assert code == 1 and not report["succeeded"]
    failed = [i for i in report["items"] if i["outcome"] == "failed"]
    assert {i["action"] for i in failed} == {"create"} and len(failed) == 6
    assert all(i["code"] == "TaskFailed" and FAILURE_REASON in i["detail"] for i in failed)
    submitted = {c.request_id for c in emu.calls if c.action == "CreateAccessAssignment"}
    assert {i["request_id"] for i in failed} == submitted
    skipped = [i for i in report["items"] if i["outcome"] == "skipped"]
    assert [i["action"] for i in skipped] == ["delete", "delete"]
    assert emu.count("DeleteAccessAssignment") == 0
    assert {i["outcome"] for i in report["items"] if i["service"] == "asm"} == {"done"}


def test_throttling_and_server_errors_still_converge(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve(Knobs(seed=11, throttle_rate=0.3, error_5xx_rate=0.05))
    file = write_file(tmp_path, permissions(prune_asm=True))
    code, report, err = apply_json(str(file))
    assert code == 0, err
    assert report["succeeded"]
    assert any(c.code and c.code.startswith("Throttling") for c in emu.calls)
    emu.set_knobs(throttle_rate=0.0, error_5xx_rate=0.0)
    assert not has_changes(file)
    assert grants_lost_outside_managed(emu) == []


def test_writes_answered_with_an_error_after_they_applied_converge(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    # The SDK retries the 503; a CloudSSO retry then meets its own task still running, or the
    # assignment already there, and counts as done either way.
    emu = serve(Knobs(seed=5, fail_after_write_rate=0.3, task_delay_s=0.3))
    file = write_file(tmp_path, permissions(prune_asm=True))
    code, _, err = apply_json(str(file))
    assert code == 0, err
    emu.set_knobs(fail_after_write_rate=0.0)
    assert not has_changes(file)
    assert grants_lost_outside_managed(emu) == []


def test_an_assignment_whose_task_is_still_running_is_submitted_again_once_it_ends(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    """A create left running by an earlier, interrupted apply."""
    emu = serve(Knobs(task_delay_s=1.5))
    with other_writer(emu) as providers:
        providers.cloudsso.create_assignment(
            DIRECTORY, Assignment(READ_ONLY, DEV_TEST, "User", SSO_BOB)
        )
    code, report, err = apply_json(str(write_file(tmp_path, permissions())))
    assert code == 0, err
    *waits, last = [c.code for c in emu.calls if c.code]
    assert waits and set(waits) == {"OperationConflict.Task"}
    assert last == "EntityAlreadyExists.AccessAssignment"
    bob = next(i for i in report["items"] if SSO_BOB in i["display"] and DEV_TEST in i["display"])
    assert bob["outcome"] == "done" and bob["detail"] == "already as planned"


def test_a_principal_changed_after_the_plan_is_skipped_not_overwritten(
    emu: Emulator, tmp_path: Path
) -> None:
    """Someone grants bob prod admin while apply waits for its yes on a terminal."""
    file = write_file(tmp_path, permissions())
    master, slave = pty.openpty()
    process = subprocess.Popen(
        permctl_command("apply", "--quiet", str(file)),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**environment(emu), "NO_COLOR": "1"},
    )
    os.close(slave)
    shown = _read_until(master, b"Only 'yes' is accepted")
    assert b"Plan:" in shown
    grant_behind_our_back(emu, BOB, MeshRole(PROD, "istio-admin"))
    os.write(master, b"yes\n")
    output = _read_until(master, None).decode()
    assert process.wait(timeout=30) == 1
    assert f"skipped  grant bob ({BOB}): changed since the plan was made" in output
    assert "Apply incomplete: 11 done, 0 failed, 1 skipped" in output
    bob_writes = [w for w in emu.writes if isinstance(w, GrantWrite) and w.principal_id == BOB]
    assert len(bob_writes) == 1  # only the other writer's


def _read_until(fd: int, marker: bytes | None, timeout_s: float = 30.0) -> bytes:
    """What the terminal shows until `marker` appears, or until the program ends (None)."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    while marker is None or marker not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the program ended and closed the terminal
            chunk = b""
        if not chunk:
            assert marker is None, seen.decode(errors="replace")
            return seen
        seen += chunk
    return seen


@pytest.mark.parametrize("seed", range(KILL_SEEDS))
def test_apply_killed_at_a_random_write_converges_on_the_next_apply(
    serve: Callable[..., Emulator], tmp_path: Path, seed: int
) -> None:
    emu = serve(Knobs(seed=seed, latency_ms=10, task_delay_s=0.2), extra_users=45)
    file = write_file(tmp_path, busy_permissions(newcomers=45))
    # Grants: 4 changed by the file, 4 pruned, 3 shared lists of 15; CloudSSO: 6 + 2.
    total_writes = 19
    kill_after = random.Random(seed).randint(1, total_writes - 1)
    killed = kill_apply(emu, file, lambda: write_calls(emu) >= kill_after)
    assert killed, "apply ended before it could be killed"
    assert write_calls(emu) < total_writes
    code, _, err = apply_json(str(file))
    assert code == 0, (kill_after, err)
    assert not has_changes(file)
    assert grants_lost_outside_managed(emu) == []
    # The developers swap on dev-test ended with the new access only.
    held = emu.dump()["cloudsso"]["directories"][0]["assignments"]
    on_dev_test = {
        a["access_configuration"]
        for a in held
        if a["account"] == DEV_TEST and a["principal"] == DEVELOPERS
    }
    assert READ_ONLY not in on_dev_test


def test_a_refused_grant_is_reported_with_its_request_id_and_the_rest_still_applies(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve(Knobs(deny=(DenyRule("GrantUserPermissions", frozenset({BOB})),)))
    code, report, _ = apply_json(str(write_file(tmp_path, permissions())))
    assert code == 1
    (failed,) = [i for i in report["items"] if i["outcome"] == "failed"]
    refused = next(c for c in emu.calls if c.action == "GrantUserPermissions" and c.code)
    assert (failed["item_id"], failed["code"], failed["request_id"]) == (
        BOB,
        "NoPermission",
        refused.request_id,
    )
    assert "not authorized" in failed["detail"]
    assert report["summary"] == {"done": 11, "failed": 1, "skipped": 0}
