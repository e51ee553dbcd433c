"""CloudSSO 2021-05-15: directories, users, groups, access configurations, access assignments
and the asynchronous tasks that change assignments.

An assignment change is a task: the response says InProgress, and the change is visible (or
the task Failed, changing nothing) only once the task completes, `task_delay_s` later.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import ApiFault, not_found
from permctl.emulator.filters import parse_filter
from permctl.emulator.pagination import Page, by_token, in_order
from permctl.emulator.schema import (
    DEFAULT_TIME,
    AccessConfigurationDoc,
    SsoGroupDoc,
    SsoUserDoc,
)
from permctl.emulator.state import AssignmentKey, Directory, ProvisioningKey, Task

VERSION = "2021-05-15"
SERVICE = "cloudsso"
TARGET_TYPE = "RD-Account"
PRINCIPAL_TYPES = ("User", "Group")
DEPROVISION_STRATEGIES = ("DeprovisionForLastAccessAssignmentOnAccount", "None")
CREATE, DELETE = "CreateAccessAssignment", "DeleteAccessAssignment"
FAILURE_REASON = "The access configuration failed to be provisioned on the account."
_TIMES = {"CreateTime": DEFAULT_TIME, "UpdateTime": DEFAULT_TIME}
_MANUALLY_CREATED = {"ProvisionType": "Manual", **_TIMES}

E = TypeVar("E", SsoUserDoc, SsoGroupDoc, AccessConfigurationDoc)


def list_directories(ctx: Context) -> dict[str, Any]:
    directories = [
        {
            "DirectoryId": d.doc.id,
            "DirectoryName": d.doc.name,
            "Region": d.doc.region,
            **_TIMES,
        }
        for d in ctx.state.directories.values()
    ]
    return {"Directories": directories, "TotalCounts": len(directories)}


def _directory(ctx: Context) -> Directory:
    directory_id = ctx.params.require("DirectoryId")
    directory = ctx.state.directories.get(directory_id)
    if directory is None:
        raise not_found("EntityNotExists.Directory", "directory", directory_id)
    return directory


def _page_fields(ctx: Context, page: Page[Any], size: int) -> dict[str, Any]:
    """As the documented examples show, a NextToken comes back even with IsTruncated false;
    `native_shapes` leaves it out of the last page instead."""
    fields = {"TotalCounts": page.total, "MaxResults": size, "IsTruncated": page.is_truncated}
    token = page.next_token or (None if ctx.knobs.native_shapes else page.end_token)
    return fields | ({"NextToken": token} if token else {})


# -- users, groups, access configurations: one listing and one Get each, alike ----------------


def _list_entities(
    ctx: Context,
    entities: Iterable[E],
    attribute: str,
    field: str,
    render: Callable[[E], dict[str, Any]],
) -> dict[str, Any]:
    size = ctx.params.integer("MaxResults", 10, 1, 100)
    matches = list(entities)
    if text := ctx.params.get("Filter"):
        wanted = parse_filter(text, (attribute,), ctx.knobs.filter_quotes)
        matches = [e for e in matches if wanted.matches(e.name)]
    page = by_token(in_order(matches), ctx.params.get("NextToken"), size, "NextToken")
    return {field: [render(e) for e in page.items], **_page_fields(ctx, page, size)}


def _get_entity(
    ctx: Context,
    catalog: Mapping[str, E],
    singular: str,
    what: str,
    render: Callable[[E], dict[str, Any]],
) -> dict[str, Any]:
    return {singular: render(_find(ctx, catalog, singular, what))}


def _find(ctx: Context, catalog: Mapping[str, E], singular: str, what: str) -> E:
    """The entity the `<singular>Id` parameter names, or its EntityNotExists error."""
    entity_id = ctx.params.require(f"{singular}Id")
    entity = catalog.get(entity_id)
    if entity is None:
        raise not_found(f"EntityNotExists.{singular}", what, entity_id)
    return entity


def _user(user: SsoUserDoc) -> dict[str, Any]:
    return {
        "UserId": user.id,
        "UserName": user.name,
        "DisplayName": user.display_name or user.name,
        "Email": user.email or "",
        "Status": user.status,
        **_MANUALLY_CREATED,
    }


def _group(group: SsoGroupDoc) -> dict[str, Any]:
    return {
        "GroupId": group.id,
        "GroupName": group.name,
        "Description": group.description or "",
        **_MANUALLY_CREATED,
    }


def list_users(ctx: Context) -> dict[str, Any]:
    users = _directory(ctx).users.values()
    return _list_entities(ctx, users, "UserName", "Users", _user)


def get_user(ctx: Context) -> dict[str, Any]:
    return _get_entity(ctx, _directory(ctx).users, "User", "user", _user)


def list_groups(ctx: Context) -> dict[str, Any]:
    groups = _directory(ctx).groups.values()
    return _list_entities(ctx, groups, "GroupName", "Groups", _group)


def get_group(ctx: Context) -> dict[str, Any]:
    return _get_entity(ctx, _directory(ctx).groups, "Group", "group", _group)


# -- group memberships: who is in a group, and which groups a user is in -----------------------


def list_group_members(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    group = _find(ctx, directory.groups, "Group", "group")
    members = [directory.users[user_id] for user_id in group.members]
    return _membership_page(
        ctx, "GroupMembers", members, lambda user: _group_member(user, group.id)
    )


def list_joined_groups_for_user(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    user = _find(ctx, directory.users, "User", "user")
    joined = [g for g in directory.groups.values() if user.id in g.members]
    return _membership_page(
        ctx, "JoinedGroups", joined, lambda group: _joined_group(group, user.id)
    )


def _membership_page(
    ctx: Context, field: str, entities: list[E], render: Callable[[E], dict[str, Any]]
) -> dict[str, Any]:
    size = ctx.params.integer("MaxResults", 10, 1, 100)
    page = by_token(in_order(entities), ctx.params.get("NextToken"), size, "NextToken")
    return {field: [render(e) for e in page.items], **_page_fields(ctx, page, size)}


def _group_member(user: SsoUserDoc, group_id: str) -> dict[str, Any]:
    """ListGroupMembersResponseBodyGroupMembers: the user, the group, and when they joined."""
    person = {k: v for k, v in _user(user).items() if k not in _TIMES}
    return {**person, "Description": "", "GroupId": group_id, "JoinTime": DEFAULT_TIME}


def _joined_group(group: SsoGroupDoc, user_id: str) -> dict[str, Any]:
    """ListJoinedGroupsForUserResponseBodyJoinedGroups."""
    return {
        "GroupId": group.id,
        "GroupName": group.name,
        "Description": group.description or "",
        "ProvisionType": "Manual",
        "UserId": user_id,
        "JoinTime": DEFAULT_TIME,
    }


# -- access assignments -----------------------------------------------------------------------


def list_access_assignments(ctx: Context) -> dict[str, Any]:
    directory, params = _directory(ctx), ctx.params
    size = params.integer("MaxResults", 10, 1, 20)
    keys: Iterable[AssignmentKey] = directory.assignments
    # Each filter applies only when both of its halves are given, as the API documents.
    target_type, target_id = params.get("TargetType"), params.get("TargetId")
    if target_type and target_id:
        keys = directory.by_target.get(target_id, ()) if target_type == TARGET_TYPE else ()
    if configuration_id := params.get("AccessConfigurationId"):
        keys = [k for k in keys if k.access_configuration_id == configuration_id]
    principal_type, principal_id = params.get("PrincipalType"), params.get("PrincipalId")
    if principal_type and principal_id:
        keys = [
            k for k in keys if (k.principal_type, k.principal_id) == (principal_type, principal_id)
        ]
    keyed = ((f"{directory.assignments[k].order:012d}", k) for k in keys)
    page = by_token(keyed, params.get("NextToken"), size, "NextToken")
    entries = [
        {**_assignment_fields(ctx, directory, k), "CreateTime": directory.assignments[k].created}
        for k in page.items
    ]
    return {"AccessAssignments": entries, **_page_fields(ctx, page, size)}


def _assignment_fields(ctx: Context, directory: Directory, key: AssignmentKey) -> dict[str, Any]:
    """What an assignment and a task on it both say about it, names included."""
    return {
        **configuration_on_target(ctx, directory, key.access_configuration_id, key.target_id),
        "PrincipalId": key.principal_id,
        "PrincipalName": directory.principal_name(key.principal_type, key.principal_id),
        "PrincipalType": key.principal_type,
    }


def configuration_on_target(
    ctx: Context, directory: Directory, configuration_id: str, target_id: str
) -> dict[str, Any]:
    """What an assignment, a provisioning and a task on either say of the access configuration
    and the account, names included."""
    rd = ctx.state.rd
    account = rd.accounts.get(target_id) if rd else None
    configuration = directory.access_configurations.get(configuration_id)
    return {
        "AccessConfigurationId": configuration_id,
        "AccessConfigurationName": configuration.name if configuration else "",
        "TargetId": target_id,
        "TargetName": account.name if account else "",
        "TargetPath": rd.account_path(account) if rd and account else "",
        "TargetPathName": rd.account_path_name(account) if rd and account else "",
        "TargetType": TARGET_TYPE,
    }


def _requested_assignment(ctx: Context, directory: Directory) -> AssignmentKey:
    """The assignment a Create or Delete names, every part of it checked to exist."""
    params = ctx.params
    configuration_id = params.require("AccessConfigurationId")
    params.choice("TargetType", (TARGET_TYPE,))
    target_id = params.require("TargetId")
    principal_type = params.choice("PrincipalType", PRINCIPAL_TYPES)
    principal_id = params.require("PrincipalId")
    if configuration_id not in directory.access_configurations:
        raise not_found(
            "EntityNotExists.AccessConfiguration", "access configuration", configuration_id
        )
    rd = ctx.state.rd
    if rd is None or target_id not in rd.accounts:
        raise not_found("EntityNotExists.Account", "account", target_id)
    principals = directory.users if principal_type == "User" else directory.groups
    if principal_id not in principals:
        raise not_found(f"EntityNotExists.{principal_type}", principal_type.lower(), principal_id)
    return AssignmentKey(configuration_id, target_id, principal_type, principal_id)


def _submit(ctx: Context, task_type: str, deprovision_strategy: str | None) -> dict[str, Any]:
    directory = _directory(ctx)
    key = _requested_assignment(ctx, directory)
    if key in directory.pending:
        raise ApiFault(
            "OperationConflict.Task",
            f"Task {directory.pending[key].task_id} on this access assignment is in progress.",
            409,
        )
    exists = key in directory.assignments
    if task_type == CREATE and exists:
        raise ApiFault(
            "EntityAlreadyExists.AccessAssignment", "The access assignment already exists.", 409
        )
    if task_type == DELETE and not exists:
        raise not_found("EntityNotExists.AccessAssignment", "access assignment", str(key))
    task = start_task(ctx, directory, task_type, key, deprovision_strategy)
    fields = _assignment_fields(ctx, directory, key)
    return {
        "Task": {**fields, "TaskId": task.task_id, "TaskType": task_type, "Status": task.status}
    }


def start_task(
    ctx: Context,
    directory: Directory,
    task_type: str,
    key: AssignmentKey | ProvisioningKey,
    deprovision_strategy: str | None = None,
) -> Task:
    """A task that completes `task_delay_s` from now, its outcome drawn now."""
    fails = ctx.dice.rng.random() < ctx.knobs.task_failure_rate
    task = Task(
        task_id=_task_id(ctx),
        task_type=task_type,
        directory_id=directory.doc.id,
        key=key,
        due=ctx.now + ctx.knobs.task_delay_s,
        failure_reason=FAILURE_REASON if fails else None,
        start_time=ctx.timestamp,
        request_id=ctx.request_id,
        deprovision_strategy=deprovision_strategy,
    )
    ctx.state.submit(directory, task)
    return task


def _task_id(ctx: Context) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "t-" + "".join(ctx.dice.rng.choice(alphabet) for _ in range(20))


def create_access_assignment(ctx: Context) -> dict[str, Any]:
    return _submit(ctx, CREATE, None)


def delete_access_assignment(ctx: Context) -> dict[str, Any]:
    strategy = ctx.params.choice("DeprovisionStrategy", DEPROVISION_STRATEGIES, default="None")
    return _submit(ctx, DELETE, strategy)


def get_task_status(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    task_id = ctx.params.require("TaskId")
    task = directory.tasks.get(task_id)
    if task is None:
        raise not_found("EntityNotExists.Task", "task", task_id)
    status = {
        "TaskId": task.task_id,
        "TaskType": task.task_type,
        "Status": task.status,
        "StartTime": task.start_time,
        "EndTime": task.end_time,
        "FailureReason": task.failure_reason if task.status == "Failed" else None,
    }
    return {"TaskStatus": {k: v for k, v in status.items() if v is not None}}


HANDLERS: dict[str, Handler] = {
    "ListDirectories": list_directories,
    "ListUsers": list_users,
    "GetUser": get_user,
    "ListGroups": list_groups,
    "GetGroup": get_group,
    "ListAccessAssignments": list_access_assignments,
    "CreateAccessAssignment": create_access_assignment,
    "DeleteAccessAssignment": delete_access_assignment,
    "GetTaskStatus": get_task_status,
    "ListGroupMembers": list_group_members,
    "ListJoinedGroupsForUser": list_joined_groups_for_user,
}
WRITES = frozenset({CREATE, DELETE})
