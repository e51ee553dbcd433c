"""The apply stage: carry out a plan through the providers, safely and idempotently.

`Changes` is what gets executed, built from a fresh `Plan` or a saved one; `check_not_stale`
refuses a saved plan once what it touches has moved; `apply_changes` executes and returns an
`ApplyReport` of every item: done, failed or skipped. A Service Mesh grant is done only if the
principal, read back after every write of the run, still holds what was written.
"""

from permctl.apply.audit import AuditLog, AuditLogError
from permctl.apply.batching import GRANT_BATCH_SIZE, GrantBatch, grant_batches
from permctl.apply.changes import (
    AssignmentStep,
    Changes,
    InconsistentChanges,
    PrincipalGrant,
)
from permctl.apply.executor import apply_changes
from permctl.apply.report import ApplyReport, ItemResult
from permctl.apply.servicemesh import CHANGED_AFTER_WRITE
from permctl.apply.stale import (
    PlanAlreadyApplied,
    PlanForOtherFiles,
    PlanMovedOn,
    check_made_from,
    check_not_stale,
)

__all__ = [
    "CHANGED_AFTER_WRITE",
    "GRANT_BATCH_SIZE",
    "ApplyReport",
    "AssignmentStep",
    "AuditLog",
    "AuditLogError",
    "Changes",
    "GrantBatch",
    "InconsistentChanges",
    "ItemResult",
    "PlanAlreadyApplied",
    "PlanForOtherFiles",
    "PlanMovedOn",
    "PrincipalGrant",
    "apply_changes",
    "check_made_from",
    "check_not_stale",
    "grant_batches",
]
