"""STS: who permctl is running as, so a plan can refuse to lock its own caller out."""

from __future__ import annotations

from permctl.errors import ApiError
from permctl.providers.connection import Connection


class StsProvider:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection.service("sts")
        self._client = self._connection.client

    def caller_principal_id(self) -> str | None:
        """The RAM user or role id of the caller; None for the account itself (it cannot be
        locked out) or where GetCallerIdentity is not served."""
        try:
            body = self._connection.call("GetCallerIdentity", self._client.get_caller_identity).body
        except ApiError as error:
            # Only its own refusal: a role that could not be assumed is an error to report.
            if error.action == "GetCallerIdentity" and error.status in (403, 404):
                return None
            raise
        if body.identity_type == "Account":
            return None
        return str(body.role_id or body.user_id or "") or None
