"""apply_changes: carry out a plan's changes through the providers, as few calls as possible,
each item independent of the others' failures.

The executor knows no managed service: it builds each one's part (`providers/base.py:
ServiceApply`) and drives them all through the same phases: what other changes depend on,
then the concurrent work of every part together, then what waits for it, then the read-backs,
last so that they see whatever any other writer did while this run was writing. How each
service sequences its own changes is in its module: `servicemesh.py`, `cloudsso.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from permctl.apply.audit import AuditLog
from permctl.apply.batching import GRANT_BATCH_SIZE
from permctl.apply.changes import Changes
from permctl.apply.cloudsso import CloudSsoApply
from permctl.apply.interrupt import Interrupt
from permctl.apply.report import ApplyReport
from permctl.apply.results import Results
from permctl.apply.scheduler import Scheduler
from permctl.apply.servicemesh import servicemesh_parts
from permctl.providers import AccessConfigurationProvider, CloudSsoProvider, MeshAccount
from permctl.providers.base import ServiceApply
from permctl.providers.connection import NO_PROGRESS, Progress
from permctl.providers.pacing import DEFAULT_CEILING


def apply_changes(
    changes: Changes,
    *,
    mesh_accounts: Sequence[MeshAccount],
    cloudsso: CloudSsoProvider,
    access_configurations: AccessConfigurationProvider | None = None,
    concurrency: int = DEFAULT_CEILING,
    audit: AuditLog | None = None,
    progress: Progress = NO_PROGRESS,
    batch_size: int = GRANT_BATCH_SIZE,
    interrupt: Interrupt | None = None,
) -> ApplyReport:
    """Apply every change; never raises for a failed item (the report says what happened).
    Each principal is re-read and granted through the identity of its mesh account. Once
    `interrupt` is requested nothing new starts, and the report says how far each item got."""
    with progress.track("Applying", changes.item_count) as advance:
        results = Results(advance, audit)
        scheduler = Scheduler(concurrency)
        if interrupt is not None:
            interrupt.on_request(scheduler.stop)
        # Each managed service's part of the run; a new service adds its own here.
        parts: list[ServiceApply] = [
            *servicemesh_parts(changes, mesh_accounts, scheduler, results, batch_size),
            CloudSsoApply(changes, cloudsso, access_configurations, scheduler, results),
        ]
        for part in parts:
            part.before_scheduled()
        for part in parts:
            part.start()
        scheduler.run()
        for part in parts:
            part.after_scheduled()
        if not scheduler.stopped:
            for part in parts:
                part.start_verification()
            scheduler.run()
        if scheduler.stopped:
            for part in parts:
                part.report_unfinished()
    stopped_by = interrupt.signal.name if interrupt and interrupt.signal else None
    return results.report(stopped_by if scheduler.stopped else None)
