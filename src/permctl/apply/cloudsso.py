"""CloudSSO's part of apply: access configurations around the assignment changes.

Access configurations are created, updated and re-provisioned first (`access_configurations.py`),
in the apply's own thread; an assignment of one this run created then carries its new id.
Every assignment create is submitted and its task seen to the end before any delete starts, so
swapping one access configuration for another never leaves a principal without access; a
delete whose principal failed to get its new assignment on that account is skipped. Access
configurations are deleted last, once the assignments that used them are gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import partial

from permctl.apply.access_configurations import ConfigurationApply
from permctl.apply.changes import AssignmentStep, Changes
from permctl.apply.report import ItemRef, ItemResult, Outcome
from permctl.apply.results import IN_FLIGHT, NOT_STARTED, Results
from permctl.apply.scheduler import FINISH, START, Scheduler
from permctl.errors import ApiError
from permctl.model import NEW_ACCESS_CONFIGURATION, Assignment
from permctl.plan.changes import AssignmentCreate, AssignmentDelete, CloudSsoChange, unhandled
from permctl.providers import AccessConfigurationProvider, CloudSsoProvider
from permctl.providers.base import ServiceApply
from permctl.providers.cloudsso import Task


class CloudSsoApply(ServiceApply):
    """Access configurations and assignments, through the CloudSSO section's identity."""

    def __init__(
        self,
        changes: Changes,
        cloudsso: CloudSsoProvider,
        access_configurations: AccessConfigurationProvider | None,
        scheduler: Scheduler,
        results: Results,
    ) -> None:
        self._changes = changes
        self._results = results
        self._configurations = ConfigurationApply(
            changes.directory_id or "",
            access_configurations,
            cloudsso,
            results.add,
            results.count_write,
            results.audit,
            changes.names,
            stopped=lambda: scheduler.stopped,
        )
        self._assignments = _AssignmentApply(changes, cloudsso, scheduler, results)

    def before_scheduled(self) -> None:
        self._configurations.before_assignments(self._changes.configurations)

    def start(self) -> None:
        created = self._configurations.created
        self._assignments.start(
            _with_created_ids(self._changes.assignments, created, self._results)
        )

    def after_scheduled(self) -> None:
        # Only once every assignment change has ended: they may have used what is deleted.
        self._configurations.after_assignments(self._changes.configurations)

    def start_verification(self) -> None:
        """Nothing to read back: each change is done once its task has ended."""

    def report_unfinished(self) -> None:
        self._assignments.report_unfinished()


def _with_created_ids(
    steps: Iterable[AssignmentStep], created: Mapping[str, str], results: Results
) -> tuple[AssignmentStep, ...]:
    """Assignments of access configurations this run created carry their new ids; those of
    one whose creation failed are skipped."""
    ready: list[AssignmentStep] = []
    for step in steps:
        configuration_id = step.assignment.access_configuration_id
        if not configuration_id.startswith(NEW_ACCESS_CONFIGURATION):
            ready.append(step)
        elif configuration_id in created:
            assignment = replace(step.assignment, access_configuration_id=created[configuration_id])
            ready.append(replace(step, change=replace(step.change, assignment=assignment)))
        else:
            why = "its access configuration was not created"
            results.add(_sso_ref(step).result("skipped", why))
    return tuple(ready)


def _holder(assignment: Assignment) -> tuple[str, str, str]:
    return (assignment.principal_type, assignment.principal_id, assignment.account_id)


class _AssignmentApply:
    def __init__(
        self,
        changes: Changes,
        cloudsso: CloudSsoProvider,
        scheduler: Scheduler,
        results: Results,
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
        self._creates_left = 0
        self._failed_holders: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        # For the report of a stopped run: submissions in flight, and tasks (with the
        # submission's RequestId) not yet followed to their end.
        self._submitting: set[AssignmentStep] = set()
        self._running_tasks: dict[AssignmentStep, Task] = {}

    def start(self, steps: Iterable[AssignmentStep]) -> None:
        for step in steps:
            match step.change:
                case AssignmentCreate():
                    self._creates.append(step)
                case AssignmentDelete():
                    self._deletes.append(step)
                case _:
                    unhandled(step.change)
        self._creates_left = len(self._creates)
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
