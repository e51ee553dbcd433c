"""The reliability scenarios: apply the busy example organisation's file against the emulator
under one kind of fault, apply again once the faults stop where they allow it, and check what
every run must keep true. tests/reliability runs a few seeds of each, bench/reliability.py the
full matrix.

A run drives permctl as `permctl apply --auto-approve` does (plan, then apply_changes), through
explicit endpoints and keys on an emulator of its own, so that runs can share a process; the
kill -9 scenario runs the CLI in a process of its own. permctl and the other writer sign with
different AccessKeys, which tells their writes apart in the emulator's logs.

What every run must keep true (`Run.violations` lists each breach):
- no write, at any point, took a grant on an unmanaged mesh from anyone (the write log);
- permctl wrote nothing outside the managed meshes and accounts, and nothing there differs at
  the end from what it was before the run;
- after the converging apply, a fresh plan has no changes (`Run.converged`);
- every failure reported carries the RequestId of a call the emulator answered
  (`Run.without_request_id` lists those that do not).
"""

from __future__ import annotations

import copy
import random
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from apply_support import (
    DEV_SANDBOX,
    DEV_TEST,
    DIRECTORY,
    MANAGED,
    busy_permissions,
    emulator_settings,
    grants_lost_outside_managed,
    kill_apply,
    organisation,
    other_writer,
    total_calls,
    write_file,
)

from permctl.apply import (
    CHANGED_AFTER_WRITE,
    ApplyReport,
    Changes,
    PrincipalGrant,
    apply_changes,
    grant_batches,
)
from permctl.config import load_file
from permctl.emulator import AssignmentWrite, Call, Emulator, GrantWrite, Knobs, MeshGrant
from permctl.errors import ApiError
from permctl.model import ASM_ROLES, DEFAULT_DEPROVISION_STRATEGY, MeshRole
from permctl.plan import AssignmentCreate, AssignmentDelete
from permctl.providers import (
    AccessKey,
    Providers,
    RetryPolicy,
    Session,
    TaskPolling,
    open_providers,
)
from permctl.workflow import plan_run

NEWCOMERS = 6  # extra users the file grants, in shared lists: grant batches of several
MANAGED_ACCOUNTS = frozenset({DEV_TEST, DEV_SANDBOX})
OTHER_KEY = AccessKey("other-writer-key", "other-writer-secret-not-real")
# Tasks end quickly and are polled soon, so that a run takes a fraction of a second.
TASK_DELAY_S = 0.02
POLLING = TaskPolling(first_delay_s=0.02, max_delay_s=0.2, timeout_s=60)
CONCURRENCY = 8
QUICK_RETRY = RetryPolicy(base_delay_ms=20, max_delay_ms=1000)


@dataclass
class Run:
    scenario: str
    seed: int
    converged: bool = False
    complete: bool = False  # the apply under faults did everything by itself
    failures: list[str] = field(default_factory=list)  # failed items and errors reported
    without_request_id: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    tally: Counter[str] = field(default_factory=Counter)  # what the scenario saw, by kind

    def failed(self, what: str, request_id: str | None, answered: frozenset[str]) -> None:
        self.failures.append(what)
        if request_id is None or request_id not in answered:
            self.without_request_id.append(what)


@dataclass(frozen=True)
class Scenario:
    name: str
    play: Callable[[Permctl, Path, Run], None]  # the faulty part; converging comes after
    knobs: Knobs = field(default_factory=Knobs)
    # The SDK's retries: a short backoff keeps runs quick where only the number of tries
    # matters; the default where the time between them does (a QPS cap).
    retry: RetryPolicy = QUICK_RETRY

    def run(self, seed: int) -> Run:
        run = Run(self.name, seed)
        with (
            tempfile.TemporaryDirectory() as workdir,
            Emulator(emulator_state()) as emu,
            Permctl.connect(emu, self.retry) as permctl,
        ):
            file = write_file(Path(workdir), busy_permissions(NEWCOMERS))
            before = emu.dump()
            delay = self.knobs.task_delay_s or TASK_DELAY_S
            emu.set_knobs(self.knobs, seed=seed, task_delay_s=delay)
            self.play(permctl, file, run)
            run.tally["calls answered with an error"] = sum(1 for c in emu.calls if c.code)
            emu.set_knobs(Knobs(seed=seed, task_delay_s=TASK_DELAY_S))
            changes = permctl.plan(file)
            if not changes.is_empty:
                _check_report(permctl.apply(changes), emu, run)
                changes = permctl.plan(file)
            run.converged = changes.is_empty
            check_scope(emu, before, run)
        return run


@cache
def _organisation() -> dict[str, Any]:
    state = organisation(extra_users=NEWCOMERS)
    state["access_keys"].append(
        {"id": OTHER_KEY.access_key_id, "secret": OTHER_KEY.access_key_secret}
    )
    return state


def emulator_state() -> dict[str, Any]:
    """The organisation with NEWCOMERS extra users, and a key for the other writer."""
    return copy.deepcopy(_organisation())


# -- permctl, as apply --auto-approve runs it --------------------------------------------------


@dataclass(frozen=True)
class Permctl:
    """One permctl run's connection: plans and applies as one AccessKey."""

    emu: Emulator
    providers: Providers
    key_id: str

    @classmethod
    @contextmanager
    def connect(
        cls, emu: Emulator, retry: RetryPolicy, key: AccessKey | None = None
    ) -> Iterator[Permctl]:
        settings = replace(emulator_settings(emu, key), retry=retry, concurrency=CONCURRENCY)
        with open_providers(settings, POLLING) as providers:
            yield cls(emu, providers, settings.access_key.access_key_id)

    def plan(self, file: Path) -> Changes:
        config = load_file(file)
        return Changes.from_plan(plan_run(config, Session.of(self.providers)).plan)

    def apply(self, changes: Changes) -> ApplyReport:
        return apply_changes(
            changes,
            mesh_accounts=Session.of(self.providers).mesh_accounts,
            cloudsso=self.providers.cloudsso,
            concurrency=CONCURRENCY,
        )

    def plan_and_apply(self, file: Path, run: Run) -> ApplyReport | None:
        """None when planning failed, as the CLI would report it."""
        try:
            changes = self.plan(file)
        except ApiError as error:
            run.failed(str(error), error.request_id, _answered(self.emu))
            return None
        report = self.apply(changes)
        _check_report(report, self.emu, run)
        return report


# -- the checks ----------------------------------------------------------------------------


def _answered(emu: Emulator) -> frozenset[str]:
    return frozenset(call.request_id for call in emu.calls)


def _check_report(report: ApplyReport, emu: Emulator, run: Run) -> None:
    answered = _answered(emu)
    for item in report.of("failed"):
        run.failed(f"{item.action} {item.display}: {item.detail}", item.request_id, answered)


def _signers(emu: Emulator) -> dict[str, str | None]:
    """RequestId -> the AccessKey that signed the call."""
    return {call.request_id: call.access_key_id for call in emu.calls}


def _outside_scope(state: dict[str, Any]) -> set[tuple[str, ...]]:
    grants = {
        (principal["id"], grant["mesh"], grant["role"])
        for kind in ("users", "roles")
        for principal in state["ram"][kind]
        for grant in principal["grants"]
        if grant["mesh"] not in MANAGED
    }
    assignments = {
        (a["access_configuration"], a["account"], a["principal_type"], a["principal"])
        for directory in state["cloudsso"]["directories"]
        for a in directory["assignments"]
        if a["account"] not in MANAGED_ACCOUNTS
    }
    return grants | assignments


def _emulated(grants: Iterable[MeshGrant]) -> frozenset[tuple[str, str]]:
    return frozenset((g.mesh, g.role) for g in grants)


def _unmanaged(grants: Iterable[MeshGrant]) -> frozenset[tuple[str, str]]:
    return frozenset(g for g in _emulated(grants) if g[0] not in MANAGED)


def check_scope(emu: Emulator, before: dict[str, Any], run: Run) -> None:
    run.violations += [
        f"{principal} lost {role} on unmanaged mesh {mesh}"
        for principal, mesh, role in grants_lost_outside_managed(emu)
    ]
    signers = _signers(emu)
    for write in emu.writes:
        if signers.get(write.request_id) != emu.access_key_id:
            continue
        if isinstance(write, GrantWrite) and _unmanaged(write.before) != _unmanaged(write.after):
            run.violations.append(f"a grant to {write.principal_id} changed an unmanaged mesh")
        if (
            isinstance(write, AssignmentWrite)
            and write.status == "Success"
            and write.assignment.target_id not in MANAGED_ACCOUNTS
        ):
            run.violations.append(f"wrote an assignment on account {write.assignment.target_id}")
    changed = _outside_scope(before) ^ _outside_scope(emu.dump())
    run.violations += [f"outside scope, changed: {entry}" for entry in sorted(changed)]


# -- the scenarios -----------------------------------------------------------------------------


def _one_apply(permctl: Permctl, file: Path, run: Run) -> None:
    report = permctl.plan_and_apply(file, run)
    run.complete = report is not None and report.succeeded


def _edit_behind_plan(permctl: Permctl, file: Path, run: Run) -> None:
    """Between plan and apply, the other writer changes some planned principals (on managed
    meshes only, as a careful colleague would) and makes some planned CloudSSO changes itself.
    Apply must skip those principals and leave the other writer's lists in place."""
    emu = permctl.emu
    changes = permctl.plan(file)
    rng = random.Random(run.seed)
    edited = {
        grant.principal_id: (grant, _edit(grant, rng))
        for grant in rng.sample(list(changes.grants), min(3, len(changes.grants)))
    }
    creates = [s.assignment for s in changes.assignments if isinstance(s.change, AssignmentCreate)]
    deletes = [s.assignment for s in changes.assignments if isinstance(s.change, AssignmentDelete)]
    with other_writer(emu, OTHER_KEY) as other:
        for grant, theirs in edited.values():
            other.servicemesh.grant([grant.principal_id], grant.kind, theirs)
        for assignment in rng.sample(creates, min(2, len(creates))):
            task = other.cloudsso.create_assignment(DIRECTORY, assignment)
            other.cloudsso.wait_for_task(DIRECTORY, task)
        for assignment in rng.sample(deletes, min(1, len(deletes))):
            task = other.cloudsso.delete_assignment(
                DIRECTORY, assignment, DEFAULT_DEPROVISION_STRATEGY
            )
            other.cloudsso.wait_for_task(DIRECTORY, task)
    report = permctl.apply(changes)
    _check_report(report, emu, run)
    run.complete = report.succeeded
    skipped = {item.item_id for item in report.of("skipped") if item.service == "asm"}
    held = _held(emu)
    for principal_id, (_, theirs) in edited.items():
        if principal_id not in skipped:
            run.violations.append(f"{principal_id}, changed after the plan, was not skipped")
        if held[principal_id] != _as_held(theirs):
            run.violations.append(f"the other writer's list of {principal_id} was overwritten")
    run.tally["principals edited and skipped"] += len(skipped & set(edited))


def _edit(grant: PrincipalGrant, rng: random.Random) -> frozenset[MeshRole]:
    """`grant.before` with one managed role changed to one neither list has."""
    mesh = rng.choice(sorted(MANAGED))
    taken = {g.role for g in grant.before | grant.after if g.mesh_id == mesh}
    role = rng.choice([r for r in ASM_ROLES if r not in taken])
    return frozenset({g for g in grant.before if g.mesh_id != mesh} | {MeshRole(mesh, role)})


def _held(emu: Emulator) -> dict[str, frozenset[tuple[str, str]]]:
    return {
        principal["id"]: frozenset((g["mesh"], g["role"]) for g in principal["grants"])
        for kind in ("users", "roles")
        for principal in emu.dump()["ram"][kind]
    }


def _as_held(grants: Iterable[MeshRole]) -> frozenset[tuple[str, str]]:
    return frozenset((g.mesh_id, g.role) for g in grants)


def _kill_and_reapply(permctl: Permctl, file: Path, run: Run) -> None:
    """kill -9 of `permctl apply` at a random call once its plan is made (before that it has
    written nothing) and before it reads back what it wrote (so that the kill, polled from
    another thread, always comes before apply ends); the converging apply is the fresh one."""
    before = total_calls(permctl.emu)
    changes = permctl.plan(file)
    planning = total_calls(permctl.emu) - before
    # At least: each principal re-read and each batch granted, each CloudSSO change submitted
    # and its task polled.
    writing = len(changes.grants) + len(grant_batches(changes.grants))
    writing += 2 * len(changes.assignments)
    kill_after = planning + random.Random(run.seed).randint(1, writing)
    started = total_calls(permctl.emu)
    if kill_apply(permctl.emu, file, lambda: total_calls(permctl.emu) - started >= kill_after):
        run.tally["killed mid-apply"] += 1
    else:
        run.violations.append(f"apply ended before its call {kill_after}")


def rival_permissions() -> dict[str, Any]:
    """The busy file with other roles for most of the same principals: a rival plan."""
    document = busy_permissions(NEWCOMERS)
    roles = {"istio-readonly": "istio-ops", "istio-ops": "istio-admin", "istio-admin": "istio-ops"}
    for principal in document["asm"]["principals"]:
        principal["roles"] = {mesh: roles[role] for mesh, role in principal["roles"].items()}
    return document


def _two_applies_at_once(permctl: Permctl, file: Path, run: Run) -> None:
    """Two plans made from the same state, applied at the same time with different keys.
    Whichever write lands last wins; the other apply must not report its own as done, unless
    that last write landed after the other apply's read-back of it (the documented limit)."""
    emu = permctl.emu
    rival_file = write_file(file.parent, rival_permissions(), "rival.yaml")
    with Permctl.connect(emu, QUICK_RETRY, OTHER_KEY) as rival:
        plans = {permctl: permctl.plan(file), rival: rival.plan(rival_file)}
        reports: dict[str, ApplyReport] = {}
        start = threading.Barrier(len(plans), timeout=60)  # a writer that never starts fails

        def play(writer: Permctl) -> None:
            start.wait()
            reports[writer.key_id] = writer.apply(plans[writer])

        threads = [threading.Thread(target=play, args=(writer,)) for writer in plans]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for report in reports.values():
        _check_report(report, emu, run)
    run.complete = all(report.succeeded for report in reports.values())
    planned = {writer.key_id: changes for writer, changes in plans.items()}
    _check_lost_writes(emu, planned, reports, run)


def _check_lost_writes(
    emu: Emulator, plans: dict[str, Changes], reports: dict[str, ApplyReport], run: Run
) -> None:
    """A write is lost when a later one gave the principal another list. The apply that
    reported it done must have read it back after the write, and the loss must have landed
    after that read, or the read would have seen it."""
    calls = {call.request_id: call for call in emu.calls}
    last_write: dict[str, GrantWrite] = {}
    own_write: dict[tuple[str | None, str], GrantWrite] = {}  # (key, principal) -> last
    for write in emu.writes:
        if isinstance(write, GrantWrite):
            last_write[write.principal_id] = write
            own_write[calls[write.request_id].access_key_id, write.principal_id] = write
    for key_id, report in reports.items():
        written = {grant.principal_id: _as_held(grant.after) for grant in plans[key_id].grants}
        for item in report.items:
            if item.service != "asm":
                continue
            if item.outcome == "skipped":
                run.tally["caught before the write"] += 1
            elif item.code == CHANGED_AFTER_WRITE:
                run.tally["caught after the write"] += 1
            ours, last = own_write.get((key_id, item.item_id)), last_write.get(item.item_id)
            if (
                item.outcome != "done"
                or ours is None
                or last is None
                or _emulated(last.after) == written[item.item_id]
            ):
                continue
            read_back = _read_back(emu.calls, key_id, ours)
            if read_back is None or _ended(calls[last.request_id]) < read_back.time:
                run.violations.append(f"{item.item_id} reported done, but its write was lost")
            else:
                run.tally["lost after the read-back (limit)"] += 1


def _read_back(calls: Iterable[Call], key_id: str, write: GrantWrite) -> Call | None:
    """The last read of the written principal by the writer that began after its write."""
    reads = [
        call
        for call in calls
        if call.action == "DescribeUserPermissions"
        and call.access_key_id == key_id
        and call.code is None
        and call.sequence > write.call_sequence
        and call.params.get("SubAccountUserId") == write.principal_id
    ]
    return reads[-1] if reads else None


def _ended(call: Call) -> float:
    return call.time + call.elapsed_ms / 1000


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("throttling 30 %", _one_apply, Knobs(throttle_rate=0.3)),
    Scenario("5xx 5 %", _one_apply, Knobs(error_5xx_rate=0.05)),
    Scenario(
        "latency spikes",
        _one_apply,
        Knobs(latency_ms=1, latency_spike_rate=0.2, latency_spike_ms=150),
    ),
    Scenario("task failures 50 %", _one_apply, Knobs(task_failure_rate=0.5)),
    Scenario("QPS cap 20/s", _one_apply, Knobs(qps_cap=20), RetryPolicy()),
    Scenario("writes failing after applied", _one_apply, Knobs(fail_after_write_rate=0.3)),
    Scenario("out-of-band edits", _edit_behind_plan),
    Scenario("kill -9, fresh apply", _kill_and_reapply, Knobs(latency_ms=20)),
    Scenario(
        "two applies at once",
        _two_applies_at_once,
        Knobs(latency_ms=1, latency_spike_rate=0.3, latency_spike_ms=40),
    ),
)
