"""Ctrl-C and SIGTERM during apply, as a terminal and a cancelled pipeline send them to a real
process: no new write starts, the writes in flight end and reach the audit log, the report
says how far each item got, the exit status names the signal, and the next apply converges."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from apply_support import (
    WRITE_ACTIONS,
    apply_json,
    grants_lost_outside_managed,
    has_changes,
    permissions,
    signal_apply,
    write_calls,
    write_file,
)

from permctl.emulator import Emulator, Knobs

SIGINT, SIGTERM = signal.SIGINT, signal.SIGTERM
TOTAL_WRITES = 19  # permissions(): 11 grants, 8 CloudSSO tasks


def first(action: str) -> Callable[[Emulator], bool]:
    return lambda emu: emu.count(action) >= 1


def reading_back(emu: Emulator) -> bool:
    """Past the grants: apply reads each granted principal once more."""
    return emu.count("GrantUserPermissions") >= 4 and emu.count("GetTaskStatus") >= 1


@pytest.mark.parametrize(
    ("when", "signals", "status"),
    [
        (first("GrantUserPermissions"), (SIGINT,), 130),
        (first("CreateAccessAssignment"), (SIGTERM,), 143),
        (first("CreateAccessAssignment"), (SIGINT, SIGTERM), 130),  # a cancelled pipeline
        (reading_back, (SIGTERM,), 143),
    ],
    ids=["sigint-at-first-grant", "sigterm-at-first-task", "sigint-then-sigterm", "late-sigterm"],
)
def test_a_stopped_apply_reports_its_writes_and_the_next_apply_converges(
    serve: Callable[..., Emulator],
    tmp_path: Path,
    when: Callable[[Emulator], bool],
    signals: tuple[signal.Signals, ...],
    status: int,
) -> None:
    emu = serve(Knobs(seed=2, latency_ms=20, task_delay_s=0.1))
    file = write_file(tmp_path, permissions())
    audit = tmp_path / "audit.jsonl"
    run = signal_apply(emu, file, lambda: when(emu), signals, "--audit-log", str(audit))
    assert run.reached, run.stdout
    assert run.returncode == status, run.stdout
    assert f"Apply stopped by {signals[0].name}:" in run.stdout
    if when is reading_back:
        assert "not read back: apply was stopped" in run.stdout
    else:
        assert "not started: apply was stopped" in run.stdout
    sent = write_calls(emu)
    assert sent < TOTAL_WRITES
    # Every write the API answered is in the audit log, under its RequestId.
    answered = {c.request_id for c in emu.calls if c.action in WRITE_ACTIONS and c.status}
    logged = {json.loads(line)["request_id"] for line in audit.read_text().splitlines()}
    assert answered <= logged
    code, _, err = apply_json(str(file))
    assert code == 0, err
    assert not has_changes(file)
    assert grants_lost_outside_managed(emu) == []


def test_a_signal_before_any_write_ends_apply_at_once_having_changed_nothing(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve(Knobs(seed=2, latency_ms=20))
    file = write_file(tmp_path, permissions())
    run = signal_apply(emu, file, lambda: first("DescribeUserPermissions")(emu), (SIGTERM,))
    assert run.returncode == 143, run.stderr
    assert run.stderr.splitlines()[-1] == (
        "apply stopped by SIGTERM before any write; nothing was changed"
    )
    assert write_calls(emu) == 0
