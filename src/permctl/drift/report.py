"""The drift report: the classified differences of one plan, when it was made, and what a
baseline left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from permctl.config import Config
from permctl.model import SERVICES, Service
from permctl.plan import (
    ACCESS_CONFIGURATION,
    DRIFT_KINDS,
    DRIFT_KINDS_OF,
    DriftItem,
    DriftKind,
    Plan,
    drift_items,
)
from permctl.render.common import KIND_NAMES, count_of

FORMAT_VERSION = "1"  # of the JSON report, which is also the baseline format

KIND_TITLES: dict[DriftKind, str] = {
    "live_not_in_file": "live but not in the file",
    "in_file_missing_live": "in the file but missing live",
    "role_mismatch": "role mismatch",
    "expired_still_live": "expired but still live",
    "access_configuration_differs": "access configuration differs from the file",
    "reprovision_required": "access configuration changed but not re-provisioned",
}
NO_DRIFT = "No drift: live state matches the file."


@dataclass(frozen=True)
class Baseline:
    """The item keys of a previous JSON report. A baseline file that does not exist yet (the
    first scheduled run) has no keys, so everything is new."""

    path: str
    keys: frozenset[str]
    found: bool = True


@dataclass(frozen=True)
class Acceptance:
    """Unmanaged access drift does not report: `principal`'s, on `target` only when given (a
    mesh of `service` asm, an account of cloudsso), each by id or name."""

    principal: str
    target: str | None = None
    service: Service | None = None

    def covers(self, item: DriftItem, plan: Plan) -> bool:
        def named(ref: str, object_id: str) -> bool:
            return ref in (object_id, plan.names.get(object_id))

        return (
            item.kind == "live_not_in_file"
            and named(self.principal, item.principal_id)
            and (self.service is None or self.service == item.service)
            and (self.target is None or named(self.target, item.target_id))
        )


def acceptances(config: Config) -> tuple[Acceptance, ...]:
    """The file's `drift.accept` entries, and every protected principal."""
    protected = [Acceptance(p) for p in config.settings.safety.protected_principals]
    entries = config.drift.accept if config.drift else []
    return (
        *protected,
        *(
            Acceptance(e.principal, e.mesh, "asm")
            if e.mesh is not None
            else Acceptance(e.principal, e.account, "cloudsso" if e.account else None)
            for e in entries
        ),
    )


@dataclass(frozen=True)
class DriftReport:
    plan: Plan
    items: tuple[DriftItem, ...]
    generated_at: datetime
    baseline: Baseline | None = None
    known: tuple[DriftItem, ...] = ()  # left out because the baseline already had them
    accepted: tuple[DriftItem, ...] = ()  # left out by drift.accept or protected principals

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    def counts(self, include_known: bool = False) -> dict[tuple[Service, DriftKind], int]:
        """Items per service and kind, every kind the service can have (zero included)."""
        items = self.items + self.known if include_known else self.items
        found = Counter((item.service, item.kind) for item in items)
        return {(s, k): found[(s, k)] for s in SERVICES for k in DRIFT_KINDS_OF[s]}

    def of_service(self, service: Service) -> tuple[DriftItem, ...]:
        return tuple(item for item in self.items if item.service == service)

    def since(self, baseline: Baseline) -> DriftReport:
        """Only the items the baseline report did not have."""
        new = tuple(item for item in self.items if item.key not in baseline.keys)
        known = tuple(item for item in self.items if item.key in baseline.keys)
        return replace(self, items=new, baseline=baseline, known=self.known + known)

    def summary_line(self) -> str:
        """`Drift: 3 items: 2 live but not in the file; 1 role mismatch.` or the no-drift sentence,
        then what the baseline left out."""
        totals = Counter(item.kind for item in self.items)
        if self.items:
            parts = "; ".join(f"{totals[k]} {KIND_TITLES[k]}" for k in DRIFT_KINDS if totals[k])
            line = f"Drift: {count_of(len(self.items), 'item')}: {parts}."
        else:
            line = NO_DRIFT if self.baseline is None else "No new drift."
        if self.baseline is not None and self.known:
            known = count_of(len(self.known), "item")
            line += f" {known} already in {self.baseline.path} not shown."
        if self.accepted:
            accepted = count_of(len(self.accepted), "accepted item")
            line += f" {accepted} not shown (drift.accept, protected principals)."
        return line


def drift_report(
    plan: Plan, generated_at: datetime, accepted: Sequence[Acceptance] = ()
) -> DriftReport:
    items = drift_items(plan)
    covered = tuple(i for i in items if any(a.covers(i, plan) for a in accepted))
    shown = tuple(i for i in items if i not in covered)
    return DriftReport(plan, shown, generated_at, accepted=covered)


_PRINCIPAL_NOUNS = {
    **{kind.value: noun for kind, noun in KIND_NAMES.items()},
    "User": "User",
    "Group": "Group",
}


def principal_noun(item: DriftItem) -> str:
    return _PRINCIPAL_NOUNS.get(item.principal_type, item.principal_type)


def describe_item(plan: Plan, item: DriftItem) -> str:
    """`RAM user carol (278...) on mesh staging (c4e...): live istio-ops, file istio-readonly`."""
    if item.principal_type == ACCESS_CONFIGURATION:
        return _describe_configuration(plan, item)
    target = "mesh" if item.service == "asm" else "account"
    file_side = "expired" if item.kind == "expired_still_live" else _held(plan, item.in_file)
    return (
        f"{principal_noun(item)} {plan.describe(item.principal_id)} "
        f"on {target} {plan.describe(item.target_id)}: "
        f"live {_held(plan, item.live)}, file {file_side}"
    )


def _describe_configuration(plan: Plan, item: DriftItem) -> str:
    """`access configuration ECS-Admin (ac-...): + statement Allow ecs:* on *; ! widens: ...`"""
    what = f"access configuration {plan.describe(item.principal_id)}"
    if item.kind == "reprovision_required":
        account = plan.describe(item.target_id)
        return f"{what} on account {account}: not re-provisioned since it changed"
    if item.kind == "in_file_missing_live":
        return f"{what}: in the file, not in the directory"
    changes = [*item.details, *(f"! widens: {w}" for w in item.widening)]
    return f"{what}: " + "; ".join(changes)


def _held(plan: Plan, what: str | None) -> str:
    return plan.describe(what) if what else "nothing"
