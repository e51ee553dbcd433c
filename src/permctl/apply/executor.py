"""apply_changes: carry out a plan's changes through the providers, as few calls as possible,
each item independent of the others' failures.

Service Mesh: every principal is re-read just before its grant. Live still as the plan saw it:
granted (together with the others of its batch). Already as wanted: done without a write.
Anything else: skipped as changed since the plan was made, because a grant replaces the
whole list and would overwrite whatever the other writer did. The API has no compare-and-set,
so another writer may still land between that re-read and the grant, or after the grant: once
every other call of the run has ended, each principal written is read once more, and one whose
list is no longer what was written is reported failed, changed by another writer after the
write. A write landing after that last read goes unseen until the next plan (docs/reliability.md).

CloudSSO: every create is submitted and its task seen to the end before any delete starts, so
swapping one access configuration for another never leaves a principal without access; a
delete whose principal failed to get its new assignment on that account is skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from permctl.apply.audit import AuditLog
from permctl.apply.batching import GRANT_BATCH_SIZE, GrantBatch, grant_batches
from permctl.apply.changes import AssignmentStep, Changes, PrincipalGrant
from permctl.apply.interrupt import Interrupt
from permctl.apply.report import ApplyReport, ItemRef, ItemResult, Outcome
from permctl.apply.scheduler import FINISH, START, Scheduler
from permctl.errors import ApiError, PermctlError
from permctl.model import Assignment, MeshRole
from permctl.plan.changes import AssignmentCreate, AssignmentDelete, CloudSsoChange, unhandled
from permctl.providers import CloudSsoProvider, MeshAccount
from permctl.providers.cloudsso import Task
from permctl.providers.connection import NO_PROGRESS, Progress
from permctl.providers.pacing import DEFAULT_CEILING


def apply_changes(
    changes: Changes,
    *,
    mesh_accounts: Sequence[MeshAccount],
    cloudsso: CloudSsoProvider,
    concurrency: int = DEFAULT_CEILING,
    audit: AuditLog | None = None,
    progress: Progress = NO_PROGRESS,
    batch_size: int = GRANT_BATCH_SIZE,
    interrupt: Interrupt | None = None,
) -> ApplyReport:
    """Apply every change; never raises for a failed item (the report says what happened).
    Each principal is re-read and granted through the identity of its mesh account. Once
    `interrupt` is requested nothing new starts, and the report says how far each item got."""
    total = len(changes.grants) + len(changes.assignments)
    with progress.track("Applying", total) as advance:
        results = _Results(advance, audit)
        scheduler = Scheduler(concurrency)
        if interrupt is not None:
            interrupt.on_request(scheduler.stop)
        asm = [
            _AsmApply(account, scheduler, results, grant_batches(grants, batch_size))
            for account, grants in changes.by_mesh_account(mesh_accounts)
        ]
        sso = _SsoApply(changes, cloudsso, scheduler, results)
        sso.start()
        scheduler.run()
        # Last, so that it sees whatever any other writer did while this run was writing.
        if not scheduler.stopped:
            for account_apply in asm:
                account_apply.start_verification()
            scheduler.run()
        if scheduler.stopped:
            for account_apply in asm:
                account_apply.report_unfinished()
            sso.report_unfinished()
    stopped_by = interrupt.signal.name if interrupt and interrupt.signal else None
    return results.report(stopped_by if scheduler.stopped else None)


# How an item that a stop left unfinished reads in the report.
STOPPED = "apply was stopped"
NOT_STARTED = f"not started: {STOPPED}"
IN_FLIGHT = "when " + STOPPED + "; permctl plan shows whether it took effect"


class _Results:
    """Collects item results from the worker threads; counts write calls; feeds the audit log."""

    def __init__(self, advance: Callable[[], None], audit: AuditLog | None) -> None:
        self._advance = advance
        self.audit = audit
        self._lock = threading.Lock()
        self._items: list[ItemResult] = []
        self._write_calls = 0
        self._verification_reads = 0
        self._reported: set[ItemRef] = set()

    def add(self, item: ItemResult) -> None:
        with self._lock:
            self._items.append(item)
            self._reported.add(ItemRef(item.service, item.action, item.item_id, item.display))
            self._advance()

    def has(self, ref: ItemRef) -> bool:
        with self._lock:
            return ref in self._reported

    def count_write(self) -> None:
        with self._lock:
            self._write_calls += 1

    def count_verification_read(self) -> None:
        with self._lock:
            self._verification_reads += 1

    def report(self, stopped_by: str | None = None) -> ApplyReport:
        with self._lock:
            items = sorted(self._items, key=lambda i: (i.service, i.action != "create", i.display))
            return ApplyReport(
                tuple(items), self._write_calls, self._verification_reads, stopped_by
            )


# -- Service Mesh ---------------------------------------------------------------------------


@dataclass
class _BatchRun:
    batch: GrantBatch
    unread: int
    ready: list[PrincipalGrant] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, grant: PrincipalGrant, ready: bool) -> list[PrincipalGrant] | None:
        """Record one re-read; once the last is in, the principals to grant (maybe none)."""
        with self.lock:
            if ready:
                self.ready.append(grant)
            self.unread -= 1
            return list(self.ready) if self.unread == 0 else None


class _AsmApply:
    """The grants of one mesh account, through its identity; starts at once."""

    def __init__(
        self,
        account: MeshAccount,
        scheduler: Scheduler,
        results: _Results,
        batches: Iterable[GrantBatch],
    ) -> None:
        self._servicemesh = account.providers.servicemesh
        self._account = account.label
        self._scheduler = scheduler
        self._results = results
        self._written: list[tuple[PrincipalGrant, str | None]] = []  # with the grant's RequestId
        self._written_lock = threading.Lock()
        # For the report of a stopped run: the grants, those whose call is in flight, and those
        # written (with the grant's RequestId) but not yet read back.
        self._grants: list[PrincipalGrant] = []
        self._granting: set[str] = set()
        self._unverified: dict[str, str | None] = {}
        for batch in batches:
            self._grants += batch.grants
            run = _BatchRun(batch, unread=len(batch.grants))
            for grant in batch.grants:
                self._scheduler.add(partial(self._reread, run, grant), priority=START)

    def _reread(self, run: _BatchRun, grant: PrincipalGrant) -> None:
        ready = False
        try:
            held = self._servicemesh.read_principal(grant.principal_id, grant.kind).permissions
        except PermctlError as error:
            why = "re-reading it before the grant failed; nothing was written"
            self._results.add(_failure(_asm_ref(grant), error, why))
        else:
            if held == grant.after:
                self._results.add(_asm_ref(grant).result("done", "already as planned; not written"))
            elif held != grant.before:
                why = (
                    f"changed since the plan was made: it holds {_roles(held)}, the plan saw "
                    f"{_roles(grant.before)}; run permctl plan again"
                )
                self._results.add(_asm_ref(grant).result("skipped", why))
            else:
                ready = True
        to_grant = run.read(grant, ready)
        if to_grant:
            self._scheduler.add(partial(self._grant, run.batch, to_grant), priority=FINISH)

    def _grant(self, batch: GrantBatch, grants: list[PrincipalGrant]) -> None:
        ids = [g.principal_id for g in grants]
        self._results.count_write()
        outcome: Outcome = "done"
        refusal: ApiError | None = None
        detail = ""
        with self._written_lock:
            self._granting.update(ids)
        try:
            request_id: str | None = self._servicemesh.grant(ids, batch.kind, batch.after)
        except ApiError as error:
            refusal, request_id, detail = error, error.request_id, error.api_message
            outcome = "failed"
        with self._written_lock:
            # At once, so that a stopped run never sees a written grant as neither.
            self._granting.difference_update(ids)
            if refusal is None:
                self._written += [(grant, request_id) for grant in grants]
                self._unverified.update(dict.fromkeys(ids, request_id))
        for grant in grants:
            if refusal is not None:
                self._results.add(_asm_ref(grant).refused(refusal, _grant_refusal_advice(grant)))
            if self._results.audit:
                self._results.audit.record(
                    action="GrantUserPermissions",
                    section=self._account,
                    subject={"principal": grant.principal_id, "kind": grant.kind.value},
                    before=_grant_list(grant.before),
                    after=_grant_list(grant.after),
                    outcome=outcome,
                    request_id=request_id,
                    detail=detail,
                )

    def start_verification(self) -> None:
        with self._written_lock:
            written, self._written = self._written, []
        for grant, request_id in written:
            self._scheduler.add(partial(self._verify, grant, request_id), priority=START)

    def report_unfinished(self) -> None:
        """After a stop: each grant not reported yet, by how far it got."""
        for grant in self._grants:
            ref = _asm_ref(grant)
            if self._results.has(ref):
                continue
            with self._written_lock:
                written = grant.principal_id in self._unverified
                request_id = self._unverified.get(grant.principal_id)
                in_flight = grant.principal_id in self._granting
            if written:
                self._results.add(
                    ref.result("done", f"granted; not read back: {STOPPED}", None, request_id)
                )
            elif in_flight:
                self._results.add(ref.result("skipped", f"its grant was in flight {IN_FLIGHT}"))
            else:
                self._results.add(ref.result("skipped", NOT_STARTED))

    def _verify(self, grant: PrincipalGrant, grant_request_id: str | None) -> None:
        """The grant is done only if the principal still holds what it was given."""
        ref = _asm_ref(grant)
        with self._written_lock:
            self._unverified.pop(grant.principal_id, None)
        self._results.count_verification_read()
        try:
            held = self._servicemesh.read_principal(grant.principal_id, grant.kind).permissions
        except PermctlError as error:
            why = (
                f"granted (RequestId {grant_request_id}), but reading it back failed, so whether "
                "another writer changed it since is unknown; run permctl plan again"
            )
            self._results.add(_failure(ref, error, why))
            return
        if held == grant.after:
            self._results.add(ref.result("done", "", None, grant_request_id))
        else:
            why = (
                f"changed by another writer after our write: it holds {_roles(held)}, we wrote "
                f"{_roles(grant.after)}; run permctl plan again"
            )
            self._results.add(ref.result("failed", why, CHANGED_AFTER_WRITE, grant_request_id))


# The code of a grant that was applied and then overwritten before apply ended.
CHANGED_AFTER_WRITE = "ChangedByAnotherWriter"


def _failure(ref: ItemRef, error: PermctlError, context: str) -> ItemResult:
    if isinstance(error, ApiError):
        return ref.refused(error, context)
    return ref.result("failed", f"{context}: {error}")


def _grant_refusal_advice(grant: PrincipalGrant) -> str:
    """What to do when a grant is refused; an empty list (the principal loses every role) is
    the one request some accounts may refuse while taking others."""
    if grant.after:
        return ""
    return (
        "the grant was of an empty list (it was to lose every Service Mesh role); remove its "
        "roles in the Service Mesh console, or keep one role for it in the file, then run "
        "permctl plan again"
    )


def _asm_ref(grant: PrincipalGrant) -> ItemRef:
    return ItemRef("asm", "grant", grant.principal_id, grant.display)


def _roles(grants: frozenset[MeshRole]) -> str:
    return ", ".join(f"{g.role} on {g.mesh_id}" for g in sorted(grants)) or "nothing"


def _grant_list(grants: frozenset[MeshRole]) -> list[dict[str, str]]:
    return [{"mesh_id": g.mesh_id, "role": g.role} for g in sorted(grants)]


# -- CloudSSO -------------------------------------------------------------------------------


def _holder(assignment: Assignment) -> tuple[str, str, str]:
    return (assignment.principal_type, assignment.principal_id, assignment.account_id)


class _SsoApply:
    def __init__(
        self,
        changes: Changes,
        cloudsso: CloudSsoProvider,
        scheduler: Scheduler,
        results: _Results,
    ) -> None:
        self._directory_id = changes.directory_id or ""
        self._strategy = changes.deprovision_strategy
        self._cloudsso = cloudsso
        self._polling = cloudsso.polling
        self._scheduler = scheduler
        self._results = results
        # Every create ends before any delete starts, so a swap never leaves a gap in access.
        self._creates: list[AssignmentStep] = []
        self._deletes: list[AssignmentStep] = []
        for step in changes.assignments:
            match step.change:
                case AssignmentCreate():
                    self._creates.append(step)
                case AssignmentDelete():
                    self._deletes.append(step)
                case _:
                    unhandled(step.change)
        self._creates_left = len(self._creates)
        self._failed_holders: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        # For the report of a stopped run: submissions in flight, and tasks (with the
        # submission's RequestId) not yet followed to their end.
        self._submitting: set[AssignmentStep] = set()
        self._running_tasks: dict[AssignmentStep, Task] = {}

    def start(self) -> None:
        for step in self._creates:
            self._add_submit(step)
        if not self._creates:
            self._release_deletes()

    def _add_submit(self, step: AssignmentStep, delay_s: float = 0.0) -> None:
        deadline = time.monotonic() + self._polling.timeout_s
        self._scheduler.add(
            partial(self._submit, step, deadline, self._polling.first_delay_s),
            priority=START,
            delay_s=delay_s,
        )

    def _release_deletes(self) -> None:
        for step in self._deletes:
            if _holder(step.assignment) in self._failed_holders:
                self._results.add(
                    _sso_ref(step).result(
                        "skipped",
                        "kept, because the assignment meant to replace it on this account "
                        "was not created",
                    )
                )
            else:
                self._add_submit(step)

    def _submit(self, step: AssignmentStep, deadline: float, delay: float) -> None:
        self._results.count_write()
        with self._lock:
            self._submitting.add(step)
        try:
            task = self._send(step.change)
        except ApiError as error:
            self._finish_refused(step, error)
            return
        finally:
            with self._lock:
                self._submitting.discard(step)
        if task.task_id is not None:
            with self._lock:
                self._running_tasks[step] = task
        if task.busy and time.monotonic() < deadline:
            retry = partial(self._submit, step, deadline, self._polling.next_delay(delay))
            self._scheduler.add(retry, priority=START, delay_s=delay)
        elif task.busy:
            self._finish(step, "failed", "another task on it never ended", None, task.request_id)
        elif task.task_id is None:
            self._finish(step, "done", "already as planned", None, task.request_id)
        else:
            poll = partial(self._poll, step, task, deadline, self._polling.first_delay_s)
            self._scheduler.add(poll, priority=FINISH, delay_s=self._polling.first_delay_s)

    def _send(self, change: CloudSsoChange) -> Task:
        match change:
            case AssignmentCreate():
                return self._cloudsso.create_assignment(self._directory_id, change.assignment)
            case AssignmentDelete():
                return self._cloudsso.delete_assignment(
                    self._directory_id, change.assignment, self._strategy
                )
            case _:
                unhandled(change)

    def _poll(self, step: AssignmentStep, task: Task, deadline: float, delay: float) -> None:
        assert task.task_id is not None
        try:
            result = self._cloudsso.task_result(self._directory_id, task.task_id)
        except ApiError as error:
            self._finish_refused(step, error, f"its task {task.task_id} could not be followed")
            return
        if result is None and time.monotonic() < deadline:
            delay = self._polling.next_delay(delay)
            poll = partial(self._poll, step, task, deadline, delay)
            self._scheduler.add(poll, priority=FINISH, delay_s=delay)
        elif result is None:
            why = f"its task {task.task_id} was still running after {self._polling.timeout_s:g} s"
            self._finish(step, "failed", why, "TaskTimeout", task.request_id)
        elif result.succeeded:
            self._finish(step, "done", f"task {task.task_id}", None, task.request_id)
        else:
            why = f"task {task.task_id} failed: {result.failure_reason}"
            self._finish(step, "failed", why, "TaskFailed", task.request_id)

    def _finish_refused(self, step: AssignmentStep, error: ApiError, context: str = "") -> None:
        self._record(step, _sso_ref(step).refused(error, context))

    def _finish(
        self,
        step: AssignmentStep,
        outcome: Outcome,
        detail: str,
        code: str | None,
        request_id: str | None,
    ) -> None:
        self._record(step, _sso_ref(step).result(outcome, detail, code, request_id))

    def report_unfinished(self) -> None:
        """After a stop: each step not reported yet, by how far it got; a task left running is
        written to the audit log too, since its write was sent."""
        for step in (*self._creates, *self._deletes):
            if self._results.has(_sso_ref(step)):
                continue
            with self._lock:
                task = self._running_tasks.get(step)
                in_flight = step in self._submitting
            if task is not None:
                detail = f"submitted as task {task.task_id}, not followed to its end {IN_FLIGHT}"
                self._results.add(_sso_ref(step).result("skipped", detail, None, task.request_id))
                if self._results.audit:
                    self._audit(step, "unknown", detail, task.request_id)
            elif in_flight:
                detail = f"its submission was in flight {IN_FLIGHT}"
                self._results.add(_sso_ref(step).result("skipped", detail))
            else:
                self._results.add(_sso_ref(step).result("skipped", NOT_STARTED))

    def _record(self, step: AssignmentStep, result: ItemResult) -> None:
        with self._lock:
            self._running_tasks.pop(step, None)
        outcome = result.outcome
        self._results.add(result)
        if self._results.audit:
            self._audit(step, outcome, result.detail, result.request_id)
        if isinstance(step.change, AssignmentCreate):
            with self._lock:
                if outcome != "done":
                    self._failed_holders.add(_holder(step.assignment))
                self._creates_left -= 1
                last = self._creates_left == 0
            if last:
                self._release_deletes()

    def _audit(
        self, step: AssignmentStep, outcome: str, detail: str, request_id: str | None
    ) -> None:
        assert self._results.audit is not None
        a = step.assignment
        held = {"access_configuration_id": a.access_configuration_id}
        create = isinstance(step.change, AssignmentCreate)
        self._results.audit.record(
            action="CreateAccessAssignment" if create else "DeleteAccessAssignment",
            section="cloudsso",
            subject={
                "target": a.account_id,
                "principal": a.principal_id,
                "principal_type": a.principal_type,
            },
            before=None if create else held,
            after=held if create else None,
            outcome=outcome,
            request_id=request_id,
            detail=detail,
        )


def _sso_ref(step: AssignmentStep) -> ItemRef:
    return ItemRef("cloudsso", step.change.action, step.assignment.account_id, step.display)
