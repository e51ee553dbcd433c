"""CloudSSO: names to ids, access assignments on accounts, and the tasks that change them."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from alibabacloud_cloudsso20210515 import models as sso_models

from permctl.errors import ApiError
from permctl.model import Assignment, GroupMember, GroupMembers
from permctl.providers.connection import Connection, Page

TARGET_TYPE = "RD-Account"
PERMISSION_DENIED = ("NoPermission", "Forbidden")  # error codes of a call the caller may not make
BUSY_REASON = "another task on this access assignment is still running"
ASSIGNMENT_PAGE_SIZE = 20  # the API's maximum
DIRECTORY_PAGE_SIZE = 100  # the API's maximum for users, groups, members, configurations


@dataclass(frozen=True)
class EntityKind:
    """Users, groups and access configurations resolve the same way, through SDK methods and
    fields that follow one naming pattern: ListUsers / GetUser, user_id / user_name."""

    noun: str
    id_prefix: str
    singular: str  # "AccessConfiguration"
    plural: str  # "AccessConfigurations"

    @property
    def filter_attribute(self) -> str:
        return f"{self.singular}Name"

    @property
    def field(self) -> str:
        return _snake(self.singular)

    def entries(self, body: Any) -> dict[str, str]:
        """id -> name of the entities in one listing page."""
        items = getattr(body, _snake(self.plural)) or []
        return {getattr(i, f"{self.field}_id"): getattr(i, f"{self.field}_name") for i in items}


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel).lstrip("_")


USER = EntityKind("user", "u-", "User", "Users")
GROUP = EntityKind("group", "g-", "Group", "Groups")
ACCESS_CONFIGURATION = EntityKind(
    "access configuration", "ac-", "AccessConfiguration", "AccessConfigurations"
)


# What a filter value may hold and still mean one thing however the server reads it: the API
# pages show values unquoted (`UserName eq alice`), so a space or a quote would be ambiguous.
_FILTER_SAFE = re.compile(r"[A-Za-z0-9_.@+-]+")


def filter_eq(attribute: str, value: str) -> str | None:
    """`Attribute eq value` in the documented, unquoted form; None when `value` holds anything
    that form cannot carry unambiguously, so that it is looked up in the full listing instead."""
    return f"{attribute} eq {value}" if _FILTER_SAFE.fullmatch(value) else None


def filter_refused(error: ApiError) -> bool:
    """The server would not take the filter (not a throttle that outlasted the retries)."""
    return error.status == 400 and not error.code.startswith("Throttling")


@dataclass(frozen=True)
class AssignmentListing:
    assignments: frozenset[Assignment]
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Task:
    """A submitted change. `task_id` is None when the API said there was nothing to do."""

    task_id: str | None
    request_id: str | None
    already_done: bool = False  # EntityAlreadyExists on create, EntityNotExists on delete
    # OperationConflict: a task on the same assignment is still running (one submitted by an
    # earlier, interrupted run, say); nothing was submitted, so submit again once it ends.
    busy: bool = False


@dataclass(frozen=True)
class TaskResult:
    task_id: str | None
    succeeded: bool
    failure_reason: str | None = None
    already_done: bool = False


@dataclass(frozen=True)
class TaskPolling:
    """Most tasks finish within a second: poll soon, then back off to a cap."""

    first_delay_s: float = 0.25
    factor: float = 1.6
    max_delay_s: float = 3.0
    timeout_s: float = 300.0

    def next_delay(self, delay: float) -> float:
        return min(delay * self.factor, self.max_delay_s)


@dataclass
class _Catalog:
    """What is known of one kind in one directory: id -> name, filled page by page."""

    names: dict[str, str] = field(default_factory=dict)
    next_token: str | None = None
    total: int | None = None
    listed: int = 0  # entries the full listing has returned so far
    complete: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Held while the rest of the listing is read, so that lookups falling back to it at the
    # same time read it once.
    listing: threading.Lock = field(default_factory=threading.Lock)

    def id_of(self, ref: str) -> str | None:
        if ref in self.names:
            return ref
        matches = [i for i, name in self.names.items() if name == ref] or [
            i for i, name in self.names.items() if name.lower() == ref.lower()
        ]
        return matches[0] if len(matches) == 1 else None

    def remaining_pages(self) -> int:
        if self.complete or self.total is None:
            return 0
        return -(-(self.total - self.listed) // DIRECTORY_PAGE_SIZE)


class CloudSsoProvider:
    def __init__(self, connection: Connection, polling: TaskPolling = TaskPolling()) -> None:
        self._connection = connection.service("cloudsso")
        self._client = self._connection.client
        self.polling = polling
        self._catalogs: dict[tuple[str, EntityKind], _Catalog] = {}

    # -- names -> ids -----------------------------------------------------------------------

    def resolve(
        self, directory_id: str, kind: EntityKind, refs: Collection[str]
    ) -> dict[str, str | None]:
        """Each ref (a name, or an id such as u-...) -> its id, or None when it does not exist.

        The first page of the full listing comes back with the total count. After it, each
        unresolved ref costs one call (a filtered listing, or a Get for an id) while the rest of
        the listing costs one call per 100 entries: whichever is fewer is done. Small
        directories thus take one call whatever the file names; a large one with a handful of
        names takes one call per name plus one.
        """
        if not refs:
            return {}
        catalog = self._catalog(directory_id, kind)
        if catalog.total is None:
            self._list_page(directory_id, kind, catalog)
        unresolved = [ref for ref in dict.fromkeys(refs) if catalog.id_of(ref) is None]
        if unresolved and catalog.remaining_pages() <= len(unresolved):
            self._list_rest(directory_id, kind, catalog)
        elif unresolved:
            self._connection.map(
                lambda ref: self._look_up(directory_id, kind, catalog, ref),
                unresolved,
                label=f"Resolving CloudSSO {kind.noun}s",
            )
        return {ref: catalog.id_of(ref) for ref in refs}

    def all_names(self, directory_id: str, kind: EntityKind) -> list[str]:
        """Every name of a kind, for suggesting one when a name is not found."""
        catalog = self._catalog(directory_id, kind)
        self._list_rest(directory_id, kind, catalog)
        return sorted(catalog.names.values())

    def known_names(self) -> dict[str, str]:
        """id -> name of everything seen so far, for display."""
        return {i: n for catalog in self._catalogs.values() for i, n in catalog.names.items()}

    def _catalog(self, directory_id: str, kind: EntityKind) -> _Catalog:
        return self._catalogs.setdefault((directory_id, kind), _Catalog())

    def _list_rest(self, directory_id: str, kind: EntityKind, catalog: _Catalog) -> None:
        """The rest of the full listing; read once per run, then known."""
        with catalog.listing:
            while not catalog.complete:
                self._list_page(directory_id, kind, catalog)

    def _list_page(self, directory_id: str, kind: EntityKind, catalog: _Catalog) -> None:
        body = self._list(directory_id, kind, None, catalog.next_token)
        with catalog.lock:
            page = kind.entries(body)
            catalog.names.update(page)
            catalog.listed += len(page)
            catalog.total = int(body.total_counts or 0)
            catalog.next_token = body.next_token if body.is_truncated else None
            catalog.complete = not catalog.next_token

    def _look_up(self, directory_id: str, kind: EntityKind, catalog: _Catalog, ref: str) -> None:
        """An id by Get; a name by a filtered listing, trusted only for an exact match. A name
        no filter can carry, a filter the server refuses, and a filter that finds no exact
        match all fall back to the full listing: a name is unknown only when it is not there."""
        if ref.startswith(kind.id_prefix):
            found = self._get(directory_id, kind, ref)
            with catalog.lock:
                catalog.names.update(found)
            return
        if self._filtered(directory_id, kind, catalog, ref):
            return
        self._list_rest(directory_id, kind, catalog)

    def _filtered(self, directory_id: str, kind: EntityKind, catalog: _Catalog, ref: str) -> bool:
        """Whether a filtered listing found `ref` exactly."""
        filter_ = filter_eq(kind.filter_attribute, ref)
        if filter_ is None:
            return False
        try:
            body = self._list(directory_id, kind, filter_, None)
        except ApiError as error:
            if filter_refused(error):
                return False
            raise
        exact = {i: name for i, name in kind.entries(body).items() if name == ref}
        with catalog.lock:
            catalog.names.update(exact)
        return bool(exact)

    def _list(
        self, directory_id: str, kind: EntityKind, filter_: str | None, token: str | None
    ) -> Any:
        request = getattr(sso_models, f"List{kind.plural}Request")(
            directory_id=directory_id,
            filter=filter_,
            max_results=DIRECTORY_PAGE_SIZE,
            next_token=token,
        )
        send = getattr(self._client, f"list_{_snake(kind.plural)}")
        return self._connection.call(f"List{kind.plural}", partial(send, request)).body

    def _get(self, directory_id: str, kind: EntityKind, entity_id: str) -> dict[str, str]:
        """{id: name} for an id that exists, {} for one that does not."""
        request = getattr(sso_models, f"Get{kind.singular}Request")(
            directory_id=directory_id, **{f"{kind.field}_id": entity_id}
        )
        send = getattr(self._client, f"get_{kind.field}")
        try:
            body = self._connection.call(f"Get{kind.singular}", partial(send, request)).body
        except ApiError as error:
            if error.code.startswith("EntityNotExists"):
                return {}
            raise
        return {entity_id: getattr(getattr(body, kind.field), f"{kind.field}_name")}

    # -- assignments ------------------------------------------------------------------------

    def list_assignments(
        self, directory_id: str, account_ids: Iterable[str]
    ) -> frozenset[Assignment]:
        return self.read_assignments(directory_id, account_ids).assignments

    def list_all_assignments(self, directory_id: str) -> frozenset[Assignment]:
        return self.read_all_assignments(directory_id).assignments

    def read_assignments(self, directory_id: str, account_ids: Iterable[str]) -> AssignmentListing:
        """One paginated ListAccessAssignments per account, in parallel, with display names."""
        per_account = self._connection.map(
            lambda account_id: self._assignment_entries(directory_id, account_id),
            sorted(set(account_ids)),
            label="Reading CloudSSO assignments",
        )
        return assignment_listing(entry for entries in per_account for entry in entries)

    def read_all_assignments(self, directory_id: str) -> AssignmentListing:
        return assignment_listing(self._assignment_entries(directory_id, None))

    def _assignment_entries(self, directory_id: str, account_id: str | None) -> list[Any]:
        return self.every_page(
            "ListAccessAssignments",
            partial(
                sso_models.ListAccessAssignmentsRequest,
                directory_id=directory_id,
                target_type=TARGET_TYPE if account_id else None,
                target_id=account_id,
                max_results=ASSIGNMENT_PAGE_SIZE,
            ),
            "access_assignments",
        )

    def every_page(self, action: str, request: Callable[..., Any], field_name: str) -> list[Any]:
        """The entries of a NextToken listing (`request` makes a page's request from its
        `next_token`), page after page until it is no longer truncated."""
        entries: list[Any] = []
        token: str | None = None
        while True:
            page, token = self._page(action, request, field_name, token)
            entries += page
            if not token:
                return entries

    def _page(
        self, action: str, request: Callable[..., Any], field_name: str, token: str | None
    ) -> tuple[list[Any], str | None]:
        """One page of a NextToken listing, and the token of the next (None after the last)."""
        send = getattr(self._client, _snake(action))
        body = self._connection.call(action, partial(send, request(next_token=token))).body
        return list(getattr(body, field_name) or []), body.next_token if body.is_truncated else None

    # -- group members ----------------------------------------------------------------------

    def read_group_members(self, directory_id: str, group_ids: Iterable[str]) -> GroupMembers:
        """Every member of each group, every page: the groups' first pages are queued together,
        as fast as the pace lets them start, and each group's next page as soon as its previous
        one answers. A group deleted since it
        was seen has no members; one whose members the caller may not read is left out, so
        that its access is shown by group rather than a report or plan failing."""
        groups = sorted(set(group_ids))
        per_group = self._connection.map_pages(
            partial(self._group_members_page, directory_id),
            groups,
            label="Reading CloudSSO group members",
        )
        read = zip(groups, per_group, strict=True)
        return MappingProxyType(
            {group: tuple(members) for group, members in read if members is not None}
        )

    def _group_members_page(
        self, directory_id: str, group_id: str, token: str | None
    ) -> Page[GroupMember]:
        request = partial(
            sso_models.ListGroupMembersRequest,
            directory_id=directory_id,
            group_id=group_id,
            max_results=DIRECTORY_PAGE_SIZE,
        )
        try:
            entries, next_token = self._page("ListGroupMembers", request, "group_members", token)
        except ApiError as error:
            if error.code.startswith("EntityNotExists.Group"):
                return [], None
            if error.code.startswith(PERMISSION_DENIED):
                return None, None
            raise
        return [GroupMember(e.user_id, e.user_name or e.user_id) for e in entries], next_token

    # -- changes ----------------------------------------------------------------------------

    def create_assignment(self, directory_id: str, assignment: Assignment) -> Task:
        request = sso_models.CreateAccessAssignmentRequest(
            directory_id=directory_id, **_assignment_fields(assignment)
        )
        return self._submit(
            "CreateAccessAssignment",
            lambda: self._client.create_access_assignment(request),
            done_code="EntityAlreadyExists",
        )

    def delete_assignment(
        self, directory_id: str, assignment: Assignment, deprovision_strategy: str
    ) -> Task:
        request = sso_models.DeleteAccessAssignmentRequest(
            directory_id=directory_id,
            deprovision_strategy=deprovision_strategy,
            **_assignment_fields(assignment),
        )
        return self._submit(
            "DeleteAccessAssignment",
            lambda: self._client.delete_access_assignment(request),
            done_code="EntityNotExists",
        )

    def _submit(self, action: str, send: Callable[[], Any], done_code: str) -> Task:
        try:
            body = self._connection.call(action, send).body
        except ApiError as error:
            if error.code.startswith(done_code):
                return Task(None, error.request_id, already_done=True)
            if error.code.startswith("OperationConflict"):
                return Task(None, error.request_id, busy=True)
            raise
        return Task(body.task.task_id if body.task else None, body.request_id)

    def wait_for_task(self, directory_id: str, task: Task) -> TaskResult:
        """Poll GetTaskStatus until the task succeeds or fails; a failure is reported at once."""
        if task.busy:
            return TaskResult(None, succeeded=False, failure_reason=BUSY_REASON)
        if task.task_id is None:
            return TaskResult(None, succeeded=True, already_done=task.already_done)
        deadline = time.monotonic() + self.polling.timeout_s
        delay = self.polling.first_delay_s
        while True:
            time.sleep(delay)
            result = self.task_result(directory_id, task.task_id)
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                reason = f"still running after {self.polling.timeout_s:.0f} s"
                return TaskResult(task.task_id, succeeded=False, failure_reason=reason)
            delay = self.polling.next_delay(delay)

    def task_result(self, directory_id: str, task_id: str) -> TaskResult | None:
        """One GetTaskStatus: how the task ended, or None while it is still running."""
        status = self._task_status(directory_id, task_id)
        if status.status == "Success":
            return TaskResult(task_id, succeeded=True)
        if status.status == "Failed":
            reason = status.failure_reason or "the task failed and gave no reason"
            return TaskResult(task_id, succeeded=False, failure_reason=reason)
        return None

    def _task_status(self, directory_id: str, task_id: str) -> Any:
        request = sso_models.GetTaskStatusRequest(directory_id=directory_id, task_id=task_id)
        return self._connection.call(
            "GetTaskStatus", lambda: self._client.get_task_status(request)
        ).body.task_status


def _assignment_fields(assignment: Assignment) -> dict[str, str]:
    return {
        "access_configuration_id": assignment.access_configuration_id,
        "target_type": TARGET_TYPE,
        "target_id": assignment.account_id,
        "principal_type": assignment.principal_type,
        "principal_id": assignment.principal_id,
    }


def assignment_listing(entries: Iterable[Any]) -> AssignmentListing:
    assignments: set[Assignment] = set()
    names: dict[str, str] = {}
    for entry in entries:
        if entry.target_type != TARGET_TYPE or entry.principal_type not in ("User", "Group"):
            continue
        assignments.add(
            Assignment(
                access_configuration_id=entry.access_configuration_id,
                account_id=str(entry.target_id),
                principal_type=entry.principal_type,
                principal_id=entry.principal_id,
            )
        )
        names.update(
            {
                entry.access_configuration_id: entry.access_configuration_name,
                str(entry.target_id): entry.target_name,
                entry.principal_id: entry.principal_name,
            }
        )
    return AssignmentListing(
        frozenset(assignments), MappingProxyType({k: v for k, v in names.items() if v})
    )
