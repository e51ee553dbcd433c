"""Service Mesh's part of apply: the grants of one mesh account, through its identity.

Every principal is re-read just before its grant. Live still as the plan saw it: granted
(together with the others of its batch). Already as wanted: done without a write. Anything
else: skipped as changed since the plan was made, because a grant replaces the whole list and
would overwrite whatever the other writer did. The API has no compare-and-set, so another
writer may still land between that re-read and the grant, or after the grant: once every other
call of the run has ended, each principal written is read once more, and one whose list is no
longer what was written is reported failed, changed by another writer after the write. A write
landing after that last read goes unseen until the next plan (docs/reliability.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from permctl.apply.batching import GrantBatch, grant_batches
from permctl.apply.changes import Changes, PrincipalGrant
from permctl.apply.report import ItemRef, Outcome
from permctl.apply.results import IN_FLIGHT, NOT_STARTED, STOPPED, Results, failure
from permctl.apply.scheduler import FINISH, START, Scheduler
from permctl.errors import ApiError, PermctlError
from permctl.model import MeshRole
from permctl.providers import MeshAccount
from permctl.providers.base import ServiceApply


def servicemesh_parts(
    changes: Changes,
    mesh_accounts: Sequence[MeshAccount],
    scheduler: Scheduler,
    results: Results,
    batch_size: int,
) -> list[MeshAccountApply]:
    """One part per mesh account with grants: each reads and writes through its identity."""
    return [
        MeshAccountApply(account, scheduler, results, grant_batches(grants, batch_size))
        for account, grants in changes.by_mesh_account(mesh_accounts)
    ]


@dataclass
class _BatchRun:
    batch: GrantBatch
    unread: int
    ready: list[PrincipalGrant] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, grant: PrincipalGrant, ready: bool) -> list[PrincipalGrant] | None:
        """Record one re-read; once the last is in, the principals to grant (maybe none)."""
        with self.lock:
            if ready:
                self.ready.append(grant)
            self.unread -= 1
            return list(self.ready) if self.unread == 0 else None


class MeshAccountApply(ServiceApply):
    """The grants of one mesh account, through its identity."""

    def __init__(
        self,
        account: MeshAccount,
        scheduler: Scheduler,
        results: Results,
        batches: Iterable[GrantBatch],
    ) -> None:
        self._servicemesh = account.providers.servicemesh
        self._account = account.label
        self._scheduler = scheduler
        self._results = results
        self._written_lock = threading.Lock()
        # The grants, those whose call is in flight, and those written (with the grant's
        # RequestId) but not yet read back: what the read-backs verify, and what the report of
        # a stopped run says of each.
        self._batches = tuple(batches)
        self._grants = [grant for batch in self._batches for grant in batch.grants]
        self._granting: set[str] = set()
        self._unverified: dict[str, str | None] = {}

    def before_scheduled(self) -> None:
        """Nothing else depends on a grant."""

    def start(self) -> None:
        for batch in self._batches:
            run = _BatchRun(batch, unread=len(batch.grants))
            for grant in batch.grants:
                self._scheduler.add(partial(self._reread, run, grant), priority=START)

    def _reread(self, run: _BatchRun, grant: PrincipalGrant) -> None:
        ready = False
        try:
            held = self._servicemesh.read_principal(grant.principal_id, grant.kind).permissions
        except PermctlError as error:
            why = "re-reading it before the grant failed; nothing was written"
            self._results.add(failure(_asm_ref(grant), error, why))
        else:
            if held == grant.after:
                self._results.add(_asm_ref(grant).result("done", "already as planned; not written"))
            elif held != grant.before:
                why = (
                    f"changed since the plan was made: it holds {_roles(held)}, the plan saw "
                    f"{_roles(grant.before)}; run permctl plan again"
                )
                self._results.add(_asm_ref(grant).result("skipped", why))
            else:
                ready = True
        to_grant = run.read(grant, ready)
        if to_grant:
            self._scheduler.add(partial(self._grant, run.batch, to_grant), priority=FINISH)

    def _grant(self, batch: GrantBatch, grants: list[PrincipalGrant]) -> None:
        ids = [g.principal_id for g in grants]
        self._results.count_write()
        outcome: Outcome = "done"
        refusal: ApiError | None = None
        detail = ""
        with self._written_lock:
            self._granting.update(ids)
        try:
            request_id: str | None = self._servicemesh.grant(ids, batch.kind, batch.after)
        except ApiError as error:
            refusal, request_id, detail = error, error.request_id, error.api_message
            outcome = "failed"
        with self._written_lock:
            # At once, so that a stopped run never sees a written grant as neither.
            self._granting.difference_update(ids)
            if refusal is None:
                self._unverified.update(dict.fromkeys(ids, request_id))
        for grant in grants:
            if refusal is not None:
                self._results.add(_asm_ref(grant).refused(refusal, _grant_refusal_advice(grant)))
            if self._results.audit:
                self._results.audit.record(
                    action="GrantUserPermissions",
                    section=self._account,
                    subject={"principal": grant.principal_id, "kind": grant.kind.value},
                    before=_grant_list(grant.before),
                    after=_grant_list(grant.after),
                    outcome=outcome,
                    request_id=request_id,
                    detail=detail,
                )

    def after_scheduled(self) -> None:
        """Nothing waits for the grants."""

    def start_verification(self) -> None:
        with self._written_lock:
            unverified = dict(self._unverified)
        for grant in self._grants:
            if grant.principal_id in unverified:
                verify = partial(self._verify, grant, unverified[grant.principal_id])
                self._scheduler.add(verify, priority=START)

    def report_unfinished(self) -> None:
        """After a stop: each grant not reported yet, by how far it got."""
        for grant in self._grants:
            ref = _asm_ref(grant)
            if self._results.has(ref):
                continue
            with self._written_lock:
                written = grant.principal_id in self._unverified
                request_id = self._unverified.get(grant.principal_id)
                in_flight = grant.principal_id in self._granting
            if written:
                self._results.add(
                    ref.result("done", f"granted; not read back: {STOPPED}", None, request_id)
                )
            elif in_flight:
                self._results.add(ref.result("skipped", f"its grant was in flight {IN_FLIGHT}"))
            else:
                self._results.add(ref.result("skipped", NOT_STARTED))

    def _verify(self, grant: PrincipalGrant, grant_request_id: str | None) -> None:
        """The grant is done only if the principal still holds what it was given."""
        ref = _asm_ref(grant)
        with self._written_lock:
            self._unverified.pop(grant.principal_id, None)
        self._results.count_verification_read()
        try:
            held = self._servicemesh.read_principal(grant.principal_id, grant.kind).permissions
        except PermctlError as error:
            why = (
                f"granted (RequestId {grant_request_id}), but reading it back failed, so whether "
                "another writer changed it since is unknown; run permctl plan again"
            )
            self._results.add(failure(ref, error, why))
            return
        if held == grant.after:
            self._results.add(ref.result("done", "", None, grant_request_id))
        else:
            why = (
                f"changed by another writer after our write: it holds {_roles(held)}, we wrote "
                f"{_roles(grant.after)}; run permctl plan again"
            )
            self._results.add(ref.result("failed", why, CHANGED_AFTER_WRITE, grant_request_id))


# The code of a grant that was applied and then overwritten before apply ended.
CHANGED_AFTER_WRITE = "ChangedByAnotherWriter"


def _grant_refusal_advice(grant: PrincipalGrant) -> str:
    """What to do when a grant is refused; an empty list (the principal loses every role) is
    the one request some accounts may refuse while taking others."""
    if grant.after:
        return ""
    return (
        "the grant was of an empty list (it was to lose every Service Mesh role); remove its "
        "roles in the Service Mesh console, or keep one role for it in the file, then run "
        "permctl plan again"
    )


def _asm_ref(grant: PrincipalGrant) -> ItemRef:
    return ItemRef("asm", "grant", grant.principal_id, grant.display)


def _roles(grants: frozenset[MeshRole]) -> str:
    return ", ".join(f"{g.role} on {g.mesh_id}" for g in sorted(grants)) or "nothing"


def _grant_list(grants: frozenset[MeshRole]) -> list[dict[str, str]]:
    return [{"mesh_id": g.mesh_id, "role": g.role} for g in sorted(grants)]
