"""The vocabulary of failure. The CLI turns each of these into one sentence and an exit code."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The credentials package signs AssumeRole the old way, in the query string, next to the
# caller's SecurityToken: an SDK error quoting that URL would carry the token.
_CREDENTIAL_IN_TEXT = re.compile(
    r"(?P<name>SecurityToken|AccessKeySecret|Signature|x-acs-security-token|security_token"
    r"|access_key_secret)(?P<separator>\"?\s*[=:]\s*\"?)[^&\s\"',;)]+"
)


def without_credentials(text: str) -> str:
    """`text` with the value of every credential-bearing parameter in it replaced."""
    return _CREDENTIAL_IN_TEXT.sub(r"\g<name>\g<separator><redacted>", text)


class PermctlError(Exception):
    """Base of every error permctl reports to a user without a traceback."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the desired-state file, located as precisely as the YAML allows."""

    file: str
    line: int
    column: int
    path: str  # field path such as asm.principals[2].roles.prod
    message: str

    def __str__(self) -> str:
        # Line 0: the problem is the file itself (missing, unreadable), not a place in it.
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class ConfigError(PermctlError):
    """The file is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


class ApiError(PermctlError):
    """A cloud API call failed for good (after retries)."""

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        request_id: str | None,
        status: int | None = None,
    ) -> None:
        # Every message from the SDK or the wire passes here: none may carry a credential.
        message = without_credentials(message)
        self.action = action
        self.code = code
        self.api_message = message
        self.request_id = request_id
        self.status = status
        super().__init__(api_failure(action, code, message, request_id))


def api_failure(action: str, code: str | None, message: str, request_id: str | None) -> str:
    """`GrantUserPermissions failed: Forbidden.RAM: ... (RequestId ...)`: how every refused call
    reads, whether it stops a command or fails one item of an apply."""
    rid = f" (RequestId {request_id})" if request_id else ""
    return f"{action} failed: {code or 'an error without a code'}: {message}{rid}"


def diagnose_hint(request_id: str) -> str:
    return f"to see why: permctl diagnose {request_id}"


class CredentialsError(PermctlError):
    """No usable credentials were found in the default chain."""


class UnsafePlan(PermctlError):
    """The plan would do something the safety settings forbid; `--force` or a flag overrides."""


class StalePlan(PermctlError):
    """A saved plan no longer matches live state; it must be planned again."""
