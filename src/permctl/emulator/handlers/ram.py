"""RAM 2015-05-01: users and roles by name, the ids Service Mesh grants are keyed by, and the
decoding of an access denial's diagnostic message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import invalid, not_found
from permctl.emulator.faults import decode_diagnostic
from permctl.emulator.pagination import by_token, in_order
from permctl.emulator.schema import DEFAULT_TIME, RamPrincipalDoc

VERSION = "2015-05-01"
SERVICE = "ram"


def _user(ctx: Context, user: RamPrincipalDoc) -> dict[str, Any]:
    return {
        "UserId": user.id,
        "UserName": user.name,
        "DisplayName": user.display_name or user.name,
        "Comments": "",
        "CreateDate": DEFAULT_TIME,
        "UpdateDate": DEFAULT_TIME,
    }


def _role(ctx: Context, role: RamPrincipalDoc) -> dict[str, Any]:
    return {
        "RoleId": role.id,
        "RoleName": role.name,
        "Arn": ctx.state.role_arn(role.name),
        "Description": role.display_name or "",
        "MaxSessionDuration": 3600,
        "CreateDate": DEFAULT_TIME,
        "UpdateDate": DEFAULT_TIME,
    }


Render = Callable[[Context, RamPrincipalDoc], dict[str, Any]]


def _get(
    ctx: Context, by_name: Mapping[str, RamPrincipalDoc], noun: str, render: Render
) -> dict[str, Any]:
    name = ctx.params.require(f"{noun}Name")
    principal = by_name.get(name)
    if principal is None:
        raise not_found(f"EntityNotExist.{noun}", f"RAM {noun.lower()}", name)
    return {noun: render(ctx, principal)}


def _list(
    ctx: Context, by_name: Mapping[str, RamPrincipalDoc], noun: str, render: Render
) -> dict[str, Any]:
    size = ctx.params.integer("MaxItems", 100, 1, 1000)
    page = by_token(in_order(by_name.values()), ctx.params.get("Marker"), size, "Marker")
    body: dict[str, Any] = {
        f"{noun}s": {noun: [render(ctx, p) for p in page.items]},
        "IsTruncated": page.is_truncated,
    }
    return body | ({"Marker": page.next_token} if page.next_token else {})


def decode_diagnostic_message(ctx: Context) -> dict[str, Any]:
    """Only the caller's own account may read why one of its calls was denied."""
    name = "EncodedDiagnosticMessage"
    document = decode_diagnostic(ctx.params.require(name))
    owner = document["AuthPrincipal"]["AuthPrincipalOwnerId"] if document else None
    if document is None or owner != ctx.state.account_id:
        raise invalid(name, f"The {name} cannot be decoded by this account.")
    return {"DecodedDiagnosticMessage": {**document, "AuthConditions": []}}


HANDLERS: dict[str, Handler] = {
    "DecodeDiagnosticMessage": decode_diagnostic_message,
    "GetUser": lambda ctx: _get(ctx, ctx.state.users_by_name, "User", _user),
    "GetRole": lambda ctx: _get(ctx, ctx.state.roles_by_name, "Role", _role),
    "ListUsers": lambda ctx: _list(ctx, ctx.state.users_by_name, "User", _user),
    "ListRoles": lambda ctx: _list(ctx, ctx.state.roles_by_name, "Role", _role),
}
WRITES: frozenset[str] = frozenset()
