"""RAM: user and role names to the numeric ids Service Mesh grants are keyed by, and why a call
was denied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from alibabacloud_ram20150501 import models as ram_models

from permctl.errors import ApiError
from permctl.providers.connection import Connection
from permctl.roles import is_principal_id

_NOT_FOUND = ("EntityNotExist.User", "EntityNotExist.Role")
_PAGE_SIZE = 1000


@dataclass(frozen=True)
class DecodedDenial:
    """RAM's reading of an EncodedDiagnosticMessage: who was refused what, on what, by which
    kind of policy."""

    auth_action: str
    auth_resource: str
    principal_type: str
    principal_name: str
    principal_account_id: str
    policy_type: str  # NoPermissionPolicyType: AccountLevelIdentityBasedPolicy, ControlPolicy...
    explicit_deny: bool
    matched_policies: tuple[str, ...]  # "PolicyType PolicyIdentifier" of the denying policies


class RamProvider:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection.service("ram")
        self._client = self._connection.client

    def resolve_user(self, ref: str) -> str | None:
        """The id of a RAM user given by name or id; None when no such user exists."""
        if is_principal_id(ref):
            return ref
        request = ram_models.GetUserRequest(user_name=ref)
        response = self._lookup("GetUser", lambda: self._client.get_user(request))
        return str(response.body.user.user_id) if response else None

    def resolve_role(self, ref: str) -> str | None:
        """The id of a RAM role given by name or id; None when no such role exists."""
        if is_principal_id(ref):
            return ref
        request = ram_models.GetRoleRequest(role_name=ref)
        response = self._lookup("GetRole", lambda: self._client.get_role(request))
        return str(response.body.role.role_id) if response else None

    def user_names(self) -> list[str]:
        """Every RAM user name; only read to suggest a name when one is not found."""
        return list(self.user_names_by_id().values())

    def role_names(self) -> list[str]:
        """Every RAM role name; only read to suggest a name when one is not found."""
        return list(self.role_names_by_id().values())

    def user_names_by_id(self) -> dict[str, str]:
        """id -> name of every RAM user: GetUser only takes a name, so naming an id lists."""
        users = self._list_all(
            "ListUsers",
            lambda marker: self._client.list_users(
                ram_models.ListUsersRequest(marker=marker, max_items=_PAGE_SIZE)
            ),
            lambda body: (body.users.user if body.users else None) or [],
        )
        return {str(u.user_id): u.user_name for u in users}

    def role_names_by_id(self) -> dict[str, str]:
        """id -> name of every RAM role: GetRole only takes a name, so naming an id lists."""
        roles = self._list_all(
            "ListRoles",
            lambda marker: self._client.list_roles(
                ram_models.ListRolesRequest(marker=marker, max_items=_PAGE_SIZE)
            ),
            lambda body: (body.roles.role if body.roles else None) or [],
        )
        return {str(r.role_id): r.role_name for r in roles}

    def decode_diagnostic(self, encoded: str) -> DecodedDenial:
        request = ram_models.DecodeDiagnosticMessageRequest(encoded_diagnostic_message=encoded)
        body = self._connection.call(
            "DecodeDiagnosticMessage", lambda: self._client.decode_diagnostic_message(request)
        ).body
        decoded = body.decoded_diagnostic_message
        principal = decoded.auth_principal
        return DecodedDenial(
            auth_action=str(decoded.auth_action or ""),
            auth_resource=str(decoded.auth_resource or "*"),
            principal_type=str(principal.auth_principal_type or "") if principal else "",
            principal_name=str(principal.auth_principal_display_name or "") if principal else "",
            principal_account_id=str(principal.auth_principal_owner_id or "") if principal else "",
            policy_type=str(decoded.no_permission_policy_type or ""),
            explicit_deny=bool(decoded.explicit_deny),
            matched_policies=tuple(
                f"{p.policy_type} {p.policy_identifier}" for p in decoded.matched_policies or []
            ),
        )

    def _lookup(self, action: str, send: Callable[[], Any]) -> Any | None:
        try:
            return self._connection.call(action, send)
        except ApiError as error:
            if error.code in _NOT_FOUND:
                return None
            raise

    def _list_all(
        self,
        action: str,
        send: Callable[[str | None], Any],
        items_of: Callable[[Any], list[Any]],
    ) -> list[Any]:
        items: list[Any] = []
        marker: str | None = None
        while True:
            page = self._connection.call(action, partial(send, marker)).body
            items += items_of(page)
            if not page.is_truncated or not page.marker:
                return items
            marker = page.marker
