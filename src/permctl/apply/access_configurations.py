"""Access configurations, around the assignment changes: created, updated and re-provisioned
before them (an assignment can then use a new one, and new holders get the new version), and
deleted after them (the assignments that used one are gone first).

Calls: one CreateAccessConfiguration or UpdateAccessConfiguration (every attribute together),
one Add or Remove per system policy, one call for the inline policy, then, after an update,
one listing of where it needs re-provisioning and one ProvisionAccessConfiguration per account
there, each task followed to its end like an assignment's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from permctl.apply.audit import AuditLog
from permctl.apply.report import ItemAction, ItemRef, ItemResult, Outcome
from permctl.apply.results import NOT_STARTED
from permctl.errors import ApiError
from permctl.model import AccessConfiguration
from permctl.plan import describe
from permctl.plan.access_configurations import (
    AccessConfigurationChange,
    AccessConfigurationCreate,
    AccessConfigurationDelete,
    AccessConfigurationUpdate,
)
from permctl.providers import AccessConfigurationProvider, CloudSsoProvider
from permctl.providers.access_configurations import REPROVISION_REQUIRED
from permctl.providers.cloudsso import BUSY_REASON, Task

Record = Callable[[ItemResult], None]


@dataclass
class ConfigurationApply:
    """Runs in the apply's own thread, before and after the scheduled assignment changes."""

    directory_id: str
    given: AccessConfigurationProvider | None  # needed only when there are changes
    cloudsso: CloudSsoProvider
    record: Record
    count_write: Callable[[], None]
    audit: AuditLog | None = None
    names: Mapping[str, str] = field(default_factory=dict)  # account id -> name, for display
    stopped: Callable[[], bool] = lambda: False  # apply was asked to stop: start nothing new
    created: dict[str, str] = field(default_factory=dict)  # placeholder id -> real id

    @property
    def provider(self) -> AccessConfigurationProvider:
        if self.given is None:
            raise ValueError("access configuration changes need the access configuration provider")
        return self.given

    def before_assignments(self, changes: Iterable[AccessConfigurationChange]) -> None:
        """Creates, then updates, then re-provisioning of what was updated."""
        updated: list[AccessConfigurationUpdate] = []
        for change in changes:
            if self._not_started(change):
                continue
            if isinstance(change, AccessConfigurationCreate):
                self._create(change)
            elif isinstance(change, AccessConfigurationUpdate) and self._update(change):
                updated.append(change)
        self._await([task for change in updated for task in self._reprovision(change)])

    def after_assignments(self, changes: Iterable[AccessConfigurationChange]) -> None:
        for change in changes:
            if isinstance(change, AccessConfigurationDelete) and not self._not_started(change):
                self._delete(change)

    def _not_started(self, change: AccessConfigurationChange) -> bool:
        """Whether apply was asked to stop before this change; if so it is reported skipped
        (and an assignment of a configuration not created is skipped in turn)."""
        if not self.stopped():
            return False
        name = (
            change.after.name
            if isinstance(change, AccessConfigurationCreate)
            else change.before.name
        )
        ref = _ref(change.action, change.configuration_id, name)
        self.record(ref.result("skipped", NOT_STARTED))
        return True

    # -- create and update ------------------------------------------------------------------

    def _create(self, change: AccessConfigurationCreate) -> None:
        wanted = change.after
        ref = _ref("create", change.configuration_id, wanted.name)
        try:
            self.count_write()
            new_id = self.provider.create(self.directory_id, wanted)
            self.created[change.configuration_id] = new_id
            self._policies(new_id, AccessConfiguration(name=wanted.name), None, wanted)
        except ApiError as error:
            self._done(ref, "failed", error.api_message, error.code, error.request_id)
            return
        self._done(ref, "done", f"created as {new_id}", None, None, None, _audited(wanted))

    def _update(self, change: AccessConfigurationUpdate) -> bool:
        """Attributes and policies; True when it is to be re-provisioned."""
        ref = _ref("update", change.configuration_id, change.after.name)
        if not change.diff.has_changes:
            return True  # only out of date where it is provisioned
        try:
            if change.diff.attributes:
                self.count_write()
                self.provider.update(
                    self.directory_id, change.configuration_id, change.before, change.after
                )
            self._policies(
                change.configuration_id, change.before, change.inline_policy_name, change.after
            )
        except ApiError as error:
            self._done(ref, "failed", error.api_message, error.code, error.request_id)
            return False
        self._done(ref, "done", "", None, None, _audited(change.before), _audited(change.after))
        return True

    def _policies(
        self,
        configuration_id: str,
        before: AccessConfiguration,
        inline_name: str | None,
        after: AccessConfiguration,
    ) -> None:
        """One call per system policy added or removed, one for the inline policy."""
        for name in sorted(set(after.system_policies) - set(before.system_policies)):
            self.count_write()
            self.provider.add_system_policy(self.directory_id, configuration_id, name)
        for name in sorted(set(before.system_policies) - set(after.system_policies)):
            self.count_write()
            self.provider.remove_policy(self.directory_id, configuration_id, "System", name)
        if after.inline_policy == before.inline_policy:
            return
        self.count_write()
        if after.inline_policy is None:
            self.provider.remove_policy(
                self.directory_id, configuration_id, "Inline", inline_name or ""
            )
        else:
            existing = inline_name if before.inline_policy else None
            self.provider.put_inline_policy(
                self.directory_id, configuration_id, existing, after.inline_policy
            )

    # -- re-provisioning --------------------------------------------------------------------

    def _reprovision(self, change: AccessConfigurationUpdate) -> list[tuple[ItemRef, Task]]:
        """A task on every account where it is out of date; they are followed together."""
        name, configuration_id = change.after.name, change.configuration_id
        try:
            stale = self.provider.provisionings(
                self.directory_id, configuration_id, REPROVISION_REQUIRED
            )
        except ApiError as error:
            ref = _ref("provision", configuration_id, name)
            why = f"could not list where it needs re-provisioning: {error.api_message}"
            self._done(ref, "failed", why, error.code, error.request_id)
            return []
        submitted: list[tuple[ItemRef, Task]] = []
        for provisioning in stale:
            ref = ItemRef(
                "cloudsso", "provision", provisioning.account_id,
                f"{name} on account {describe(provisioning.account_id, self.names)}",
            )  # fmt: skip
            self.count_write()
            try:
                task = self.provider.provision(
                    self.directory_id, configuration_id, provisioning.account_id
                )
            except ApiError as error:
                self._done(ref, "failed", error.api_message, error.code, error.request_id)
                continue
            submitted.append((ref, task))
        return submitted

    def _await(self, submitted: list[tuple[ItemRef, Task]]) -> None:
        """Every task followed at once: one wait, then a GetTaskStatus per task still running,
        round after round, so a hundred accounts cost about as long as one."""
        polling = self.cloudsso.polling
        pending: list[tuple[ItemRef, str]] = []
        for ref, task in submitted:
            if task.busy:
                self._done(ref, "failed", BUSY_REASON, "OperationConflict", task.request_id)
            elif task.task_id is None:
                self._done(ref, "done", "already provisioned", None, task.request_id)
            else:
                pending.append((ref, task.task_id))
        deadline, delay = time.monotonic() + polling.timeout_s, polling.first_delay_s
        while pending:
            time.sleep(delay)
            running = []
            for ref, task_id in pending:
                try:
                    result = self.cloudsso.task_result(self.directory_id, task_id)
                except ApiError as error:
                    refused = ref.refused(error, f"its task {task_id} could not be followed")
                    self._done(ref, "failed", refused.detail, error.code, error.request_id)
                    continue
                if result is None:
                    running.append((ref, task_id))
                elif result.succeeded:
                    self._done(ref, "done", f"task {task_id}", None, None)
                else:
                    why = f"task {task_id} failed: {result.failure_reason}"
                    self._done(ref, "failed", why, "TaskFailed", None)
            if running and time.monotonic() >= deadline:
                for ref, task_id in running:
                    why = f"task {task_id} was still running after {polling.timeout_s:g} s"
                    self._done(ref, "failed", why, "TaskTimeout", None)
                running = []
            pending, delay = running, polling.next_delay(delay)

    # -- results ----------------------------------------------------------------------------

    def _delete(self, change: AccessConfigurationDelete) -> None:
        ref = _ref("delete", change.configuration_id, change.before.name)
        self.count_write()
        try:
            self.provider.delete(self.directory_id, change.configuration_id)
        except ApiError as error:
            self._done(ref, "failed", error.api_message, error.code, error.request_id)
            return
        self._done(ref, "done", "", None, None, _audited(change.before), None)

    def _done(
        self,
        ref: ItemRef,
        outcome: Outcome,
        detail: str,
        code: str | None,
        request_id: str | None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        self.record(ref.result(outcome, detail, code, request_id))
        if self.audit:
            self.audit.record(
                action=f"{ref.action.capitalize()}AccessConfiguration",
                section="cloudsso",
                subject={"access_configuration": ref.item_id, "name": ref.display},
                before=before,
                after=after,
                outcome=outcome,
                request_id=request_id,
                detail=detail,
            )


def _ref(action: ItemAction, configuration_id: str, name: str) -> ItemRef:
    return ItemRef("cloudsso", action, configuration_id, f"access configuration {name}")


def _audited(granted: AccessConfiguration) -> dict[str, Any]:
    return {
        "name": granted.name,
        "description": granted.description,
        "session_duration": granted.session_duration,
        "relay_state": granted.relay_state,
        "system_policies": list(granted.system_policies),
        "inline_policy": granted.inline_policy,
    }
