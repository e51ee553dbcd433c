"""What the desired-state file and the domain model both speak of: where a declaration was
written, the kinds of principal, the roles, the deprovision strategies, the safety limits.

Kept apart from `permctl.model` so that reading and checking files (validate, fmt) does not
build the live and desired state types, which only planning needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

ASM_ROLES: tuple[str, ...] = ("istio-admin", "istio-ops", "istio-readonly")

# What DeleteAccessAssignment does with the last assignment of a configuration on an account.
DeprovisionStrategy = Literal["DeprovisionForLastAccessAssignmentOnAccount", "None"]
DEFAULT_DEPROVISION_STRATEGY: DeprovisionStrategy = "DeprovisionForLastAccessAssignmentOnAccount"
DEFAULT_SESSION_DURATION = 3600  # seconds, CreateAccessConfiguration's default


class PrincipalKind(str, Enum):
    """What a Service Mesh principal is; GrantUserPermissions' IsRamRole is `kind is RAM_ROLE`."""

    RAM_USER = "ram_user"
    RAM_ROLE = "ram_role"


# How messages, plans and reports name each kind.
KIND_NAMES = {PrincipalKind.RAM_USER: "RAM user", PrincipalKind.RAM_ROLE: "RAM role"}


@dataclass(frozen=True, order=True)
class SourceRef:
    """Where a desired item was declared, so errors and plans can point back at the file."""

    file: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
        )


@dataclass(frozen=True)
class SafetySettings:
    max_delete_percent: float = 30.0
    min_existing_for_threshold: int = 10
    protected_principals: frozenset[str] = frozenset()  # labels, names or ids
