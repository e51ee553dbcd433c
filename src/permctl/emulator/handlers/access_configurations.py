"""CloudSSO 2021-05-15: access configurations, their permission policies, and their
provisioning on accounts.

An access configuration takes effect on an account when it is provisioned there (a RAM role
with its policies): creating an assignment provisions it, and changing it afterwards marks each
of its provisionings ReprovisionRequired until ProvisionAccessConfiguration, a task like an
assignment change, deploys it again. Deleting one still assigned or provisioned is refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import ApiFault, invalid, not_found
from permctl.emulator.handlers.cloudsso import (
    SERVICE,
    TARGET_TYPE,
    VERSION,
    _directory,
    _get_entity,
    _list_entities,
    _page_fields,
    _task_id,
    configuration_on_target,
    start_task,
)
from permctl.emulator.pagination import by_token
from permctl.emulator.schema import AccessConfigurationDoc
from permctl.emulator.state import Directory, ProvisioningKey

__all__ = ["HANDLERS", "SERVICE", "VERSION", "WRITES"]

PROVISION = "ProvisionAccessConfiguration"
REPROVISION_REQUIRED = "ReprovisionRequired"
POLICY_TYPES = ("System", "Inline")
# CreateAccessConfigurationRequest: letters, digits or hyphens, up to 32 characters.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,32}$")
MAX_DESCRIPTION = 1024
# AddPermissionPolicyToAccessConfigurationRequest.InlinePolicyDocument: up to 4,096 characters.
MAX_INLINE_POLICY = 4096
SESSION_RANGE = (900, 43200)


def _render(directory: Directory) -> Any:
    def render(configuration: AccessConfigurationDoc) -> dict[str, Any]:
        notifications = (
            [REPROVISION_REQUIRED] if _reprovision_required(directory, configuration.id) else []
        )
        return {
            "AccessConfigurationId": configuration.id,
            "AccessConfigurationName": configuration.name,
            "Description": configuration.description or "",
            "SessionDuration": configuration.session_duration,
            "RelayState": configuration.relay_state or "",
            "StatusNotifications": notifications,
            "CreateTime": configuration.create_time,
            "UpdateTime": configuration.update_time,
        }

    return render


def _reprovision_required(directory: Directory, configuration_id: str) -> bool:
    return any(
        where.access_configuration_id == configuration_id and p.status == REPROVISION_REQUIRED
        for where, p in directory.provisionings.items()
    )


def _configuration(ctx: Context, directory: Directory) -> AccessConfigurationDoc:
    configuration_id = ctx.params.require("AccessConfigurationId")
    configuration = directory.access_configurations.get(configuration_id)
    if configuration is None:
        raise not_found(
            "EntityNotExists.AccessConfiguration", "access configuration", configuration_id
        )
    return configuration


def _change(
    ctx: Context, directory: Directory, configuration: AccessConfigurationDoc, **fields: Any
) -> AccessConfigurationDoc:
    """Store a changed access configuration; its provisionings are now out of date."""
    changed = configuration.model_copy(update={**fields, "update_time": ctx.timestamp})
    directory.access_configurations[configuration.id] = changed
    directory.mark_changed(configuration.id, ctx.timestamp)
    return changed


def _description(ctx: Context, name: str) -> str | None:
    description = ctx.params.get(name)
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise invalid(name, f"{name} must be at most {MAX_DESCRIPTION} characters.")
    return description


# -- the access configuration itself ----------------------------------------------------------


def list_access_configurations(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configurations = list(directory.access_configurations.values())
    if ctx.params.get("StatusNotifications") == REPROVISION_REQUIRED:
        configurations = [c for c in configurations if _reprovision_required(directory, c.id)]
    return _list_entities(
        ctx,
        configurations,
        "AccessConfigurationName",
        "AccessConfigurations",
        _render(directory),
    )


def get_access_configuration(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    return _get_entity(
        ctx,
        directory.access_configurations,
        "AccessConfiguration",
        "access configuration",
        _render(directory),
    )


def create_access_configuration(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    name = ctx.params.require("AccessConfigurationName")
    if not NAME_PATTERN.match(name):
        raise invalid(
            "AccessConfigurationName",
            "AccessConfigurationName must be 1 to 32 letters, digits or hyphens.",
        )
    if any(c.name.lower() == name.lower() for c in directory.access_configurations.values()):
        raise ApiFault(
            "EntityAlreadyExists.AccessConfiguration",
            f"The access configuration {name!r} already exists.",
            409,
        )
    configuration = AccessConfigurationDoc(
        id="ac-" + _task_id(ctx)[2:],
        name=name,
        description=_description(ctx, "Description"),
        session_duration=ctx.params.integer("SessionDuration", 3600, *SESSION_RANGE),
        relay_state=ctx.params.get("RelayState"),
        create_time=ctx.timestamp,
        update_time=ctx.timestamp,
    )
    directory.access_configurations[configuration.id] = configuration
    return {"AccessConfiguration": _render(directory)(configuration)}


def update_access_configuration(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    fields: dict[str, Any] = {}
    if (description := _description(ctx, "NewDescription")) is not None:
        fields["description"] = description
    if ctx.params.get("NewSessionDuration") is not None:
        fields["session_duration"] = ctx.params.integer("NewSessionDuration", 0, *SESSION_RANGE)
    if (relay_state := ctx.params.get("NewRelayState")) is not None:
        fields["relay_state"] = relay_state
    changed = _change(ctx, directory, configuration, **fields) if fields else configuration
    return {"AccessConfiguration": _render(directory)(changed)}


def delete_access_configuration(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    if any(k.access_configuration_id == configuration.id for k in directory.assignments):
        raise ApiFault(
            "DeletionConflict.AccessConfiguration.AccessAssignment",
            "The access configuration is still used by access assignments.",
            409,
        )
    if any(w.access_configuration_id == configuration.id for w in directory.provisionings):
        raise ApiFault(
            "DeletionConflict.AccessConfiguration.Provisioning",
            "The access configuration is still provisioned on accounts.",
            409,
        )
    has_policies = configuration.system_policies or configuration.inline_policy
    if has_policies and ctx.params.get("ForceRemovePermissionPolicies") != "true":
        raise ApiFault(
            "DeletionConflict.AccessConfiguration.Policy",
            "The access configuration still has permission policies.",
            409,
        )
    del directory.access_configurations[configuration.id]
    return {}


# -- permission policies ----------------------------------------------------------------------


def _policy_document(ctx: Context, name: str) -> str:
    document = ctx.params.require(name)
    if len(document) > MAX_INLINE_POLICY:
        raise invalid(name, f"{name} must be at most {MAX_INLINE_POLICY} characters.")
    try:
        parsed = json.loads(document)
    except json.JSONDecodeError:
        raise invalid(name, f"{name} is not a valid policy document.") from None
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise invalid(name, f"{name} is not a valid policy document.")
    return document


def add_permission_policy(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    policy_type = ctx.params.choice("PermissionPolicyType", POLICY_TYPES)
    name = ctx.params.require("PermissionPolicyName")
    exists = ApiFault(
        "EntityAlreadyExists.PermissionPolicy",
        f"The policy {name!r} is already attached to the access configuration.",
        409,
    )
    if policy_type == "System":
        if name in configuration.system_policies:
            raise exists
        _change(
            ctx, directory, configuration, system_policies=(*configuration.system_policies, name)
        )
        return {}
    if configuration.inline_policy is not None:
        raise exists  # one inline policy per access configuration
    document = _policy_document(ctx, "InlinePolicyDocument")
    _change(ctx, directory, configuration, inline_policy=document, inline_policy_name=name)
    return {}


def remove_permission_policy(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    policy_type = ctx.params.choice("PermissionPolicyType", POLICY_TYPES)
    name = ctx.params.require("PermissionPolicyName")
    if policy_type == "System" and name in configuration.system_policies:
        remaining = tuple(p for p in configuration.system_policies if p != name)
        _change(ctx, directory, configuration, system_policies=remaining)
        return {}
    if (
        policy_type == "Inline"
        and configuration.inline_policy is not None
        and configuration.inline_policy_name == name
    ):
        _change(ctx, directory, configuration, inline_policy=None)
        return {}
    raise not_found("EntityNotExists.PermissionPolicy", "policy", name)


def list_permission_policies(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    wanted = ctx.params.get("PermissionPolicyType")
    policies: list[dict[str, Any]] = []
    if wanted in (None, "System"):
        policies += [
            {
                "PermissionPolicyName": name,
                "PermissionPolicyType": "System",
                "AddTime": configuration.update_time,
            }
            for name in configuration.system_policies
        ]
    if wanted in (None, "Inline") and configuration.inline_policy is not None:
        policies.append(
            {
                "PermissionPolicyName": configuration.inline_policy_name,
                "PermissionPolicyType": "Inline",
                "PermissionPolicyDocument": configuration.inline_policy,
                "AddTime": configuration.update_time,
            }
        )
    return {"PermissionPolicies": policies, "TotalCounts": len(policies)}


def update_inline_policy(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    name = ctx.params.require("InlinePolicyName")
    if configuration.inline_policy is None or configuration.inline_policy_name != name:
        raise not_found("EntityNotExists.PermissionPolicy", "inline policy", name)
    document = _policy_document(ctx, "NewInlinePolicyDocument")
    _change(ctx, directory, configuration, inline_policy=document)
    return {}


# -- provisioning -----------------------------------------------------------------------------


def _target_id(ctx: Context) -> str:
    """The account TargetId names, checked to exist."""
    rd = ctx.state.rd
    target_id = ctx.params.require("TargetId")
    if rd is None or target_id not in rd.accounts:
        raise not_found("EntityNotExists.Account", "account", target_id)
    return target_id


def provision_access_configuration(ctx: Context) -> dict[str, Any]:
    directory = _directory(ctx)
    configuration = _configuration(ctx, directory)
    ctx.params.choice("TargetType", (TARGET_TYPE,))
    key = ProvisioningKey(configuration.id, _target_id(ctx))
    if key in directory.pending:
        raise ApiFault(
            "OperationConflict.Task",
            f"Task {directory.pending[key].task_id} on this access configuration is in progress.",
            409,
        )
    task = start_task(ctx, directory, PROVISION, key)
    entry = {
        **configuration_on_target(ctx, directory, configuration.id, key.target_id),
        "TaskId": task.task_id,
        "TaskType": PROVISION,
        "Status": task.status,
    }
    return {"Tasks": [entry]}


def list_provisionings(ctx: Context) -> dict[str, Any]:
    directory, params = _directory(ctx), ctx.params
    size = params.integer("MaxResults", 10, 1, 20)
    entries = sorted(directory.provisionings.items())
    if configuration_id := params.get("AccessConfigurationId"):
        entries = [e for e in entries if e[0].access_configuration_id == configuration_id]
    target_type, target_id = params.get("TargetType"), params.get("TargetId")
    if target_type and target_id:
        entries = [e for e in entries if e[0].target_id == target_id]
    if status := params.get("ProvisioningStatus"):
        entries = [e for e in entries if e[1].status == status]
    keyed = ((f"{k.access_configuration_id}/{k.target_id}", (k, p)) for k, p in entries)
    page = by_token(keyed, params.get("NextToken"), size, "NextToken")
    rendered = [
        {
            **configuration_on_target(ctx, directory, key.access_configuration_id, key.target_id),
            "Status": provisioning.status,
            "CreateTime": provisioning.created,
            "UpdateTime": provisioning.updated,
        }
        for key, provisioning in page.items
    ]
    return {"AccessConfigurationProvisionings": rendered, **_page_fields(ctx, page, size)}


HANDLERS: dict[str, Handler] = {
    "ListAccessConfigurations": list_access_configurations,
    "GetAccessConfiguration": get_access_configuration,
    "CreateAccessConfiguration": create_access_configuration,
    "UpdateAccessConfiguration": update_access_configuration,
    "DeleteAccessConfiguration": delete_access_configuration,
    "AddPermissionPolicyToAccessConfiguration": add_permission_policy,
    "RemovePermissionPolicyFromAccessConfiguration": remove_permission_policy,
    "ListPermissionPoliciesInAccessConfiguration": list_permission_policies,
    "UpdateInlinePolicyForAccessConfiguration": update_inline_policy,
    PROVISION: provision_access_configuration,
    "ListAccessConfigurationProvisionings": list_provisionings,
}
WRITES = frozenset(HANDLERS) - {
    "ListAccessConfigurations",
    "GetAccessConfiguration",
    "ListPermissionPoliciesInAccessConfiguration",
    "ListAccessConfigurationProvisionings",
}
