"""STS: who permctl is running as, so a plan can refuse to lock its own caller out."""

from __future__ import annotations

from dataclasses import dataclass

from permctl.errors import ApiError
from permctl.providers.connection import Connection
from permctl.providers.together import Once


@dataclass(frozen=True)
class CallerIdentity:
    """Who the credentials are, as GetCallerIdentity answers."""

    arn: str
    account_id: str
    principal_id: str | None  # the RAM user or role id; None for the account itself


class StsProvider:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection.service("sts")
        self._client = self._connection.client
        # The credentials' identity holds for the run: asked once, by whichever needs it first
        # (a plan's lockout check, the audit log of the apply that follows).
        self._caller = Once(self._ask_caller_identity)

    def caller_principal_id(self) -> str | None:
        """The RAM user or role id of the caller; None for the account itself (it cannot be
        locked out) or where GetCallerIdentity is not served."""
        caller = self.caller_identity()
        return caller.principal_id if caller else None

    def caller_identity(self) -> CallerIdentity | None:
        """None where GetCallerIdentity is not served."""
        return self._caller.get()

    def _ask_caller_identity(self) -> CallerIdentity | None:
        try:
            body = self._connection.call("GetCallerIdentity", self._client.get_caller_identity).body
        except ApiError as error:
            # Only its own refusal: a role that could not be assumed is an error to report.
            if error.action == "GetCallerIdentity" and error.status in (403, 404):
                return None
            raise
        principal = None if body.identity_type == "Account" else body.role_id or body.user_id
        return CallerIdentity(str(body.arn or ""), str(body.account_id or ""), principal or None)
