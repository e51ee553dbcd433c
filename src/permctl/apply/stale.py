"""A saved plan is applied only while everything it touches is still as it was planned."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from permctl.apply.changes import Changes
from permctl.config import Config
from permctl.errors import StalePlan
from permctl.model import AsmPrincipalLive, LiveAccessConfigurations, LiveState
from permctl.plan import Snapshot, describe, take_snapshot
from permctl.plan.access_configurations import (
    AccessConfigurationCreate,
    AccessConfigurationDelete,
    AccessConfigurationUpdate,
)
from permctl.plan.changes import unhandled
from permctl.plan.safety import MAX_GRANTS_IN_MESSAGE, more_than_shown
from permctl.plan.saved import SavedPlan
from permctl.providers import AccessConfigurationProvider, CloudSsoProvider, MeshAccount


class PlanMovedOn(StalePlan):
    def __init__(self, moved: list[str]) -> None:
        listing = [*moved[:MAX_GRANTS_IN_MESSAGE], more_than_shown(moved)]
        super().__init__(
            "refusing the saved plan: live state changed since it was made "
            f"({'; '.join(m for m in listing if m)}); nothing was applied; run permctl plan again"
        )


class PlanAlreadyApplied(StalePlan):
    """Everything the plan touches already holds what the plan would give it."""

    def __init__(self) -> None:
        super().__init__("this plan is already applied: nothing to do")


def check_not_stale(
    changes: Changes,
    *,
    mesh_accounts: Sequence[MeshAccount],
    cloudsso: CloudSsoProvider,
    access_configurations: AccessConfigurationProvider | None = None,
) -> None:
    """Re-read every principal and account the plan touches, each principal through its mesh
    account's identity; raise PlanMovedOn, naming each that changed, unless their snapshot is
    exactly the one the plan recorded."""
    principals = [(p.principal_id, p.kind) for p in changes.snapshot.asm]
    account_of = {
        grant.principal_id: account
        for account, grants in changes.by_mesh_account(mesh_accounts)
        for grant in grants
    }
    asm: dict[str, AsmPrincipalLive] = {}
    for account in mesh_accounts:
        mine = [p for p in principals if account_of.get(p[0], mesh_accounts[0]) is account]
        if mine:
            asm.update(account.providers.servicemesh.read_principals(mine))
    accounts = [a.account_id for a in changes.snapshot.cloudsso]
    configuration_ids = [c.configuration_id for c in changes.snapshot.access_configurations]
    records = (
        access_configurations.read(changes.directory_id, configuration_ids).read
        if access_configurations and configuration_ids and changes.directory_id
        else {}
    )
    live = LiveState(
        asm=MappingProxyType(asm),
        assignments=(
            cloudsso.list_assignments(changes.directory_id, accounts)
            if accounts and changes.directory_id
            else frozenset()
        ),
        access_configurations=LiveAccessConfigurations(records=MappingProxyType(records)),
    )
    now = take_snapshot(live, principals, accounts, configuration_ids)
    if now.fingerprint() == changes.snapshot.fingerprint():
        return
    if _as_planned(changes, now):
        raise PlanAlreadyApplied()
    raise PlanMovedOn(_moved(changes.snapshot, now, changes.names))


def _as_planned(changes: Changes, now: Snapshot) -> bool:
    """Whether live state is what applying the plan leads to: every principal holds its new
    list, every account its assignments with the creates made and the deletes done, every
    updated access configuration grants what the file says and every deleted one is gone. A
    plan that creates an access configuration is never taken as applied: its assignments name
    the new one by a placeholder, so a moved one is reported as moved."""
    return (
        _grants_as_planned(changes, now)
        and _assignments_as_planned(changes, now)
        and _configurations_as_planned(changes, now)
    )


def _grants_as_planned(changes: Changes, now: Snapshot) -> bool:
    held = {p.principal_id: set(p.permissions) for p in now.asm}
    return all(held.get(g.principal_id, set()) == set(g.after) for g in changes.grants)


def _assignments_as_planned(changes: Changes, now: Snapshot) -> bool:
    created = {s.assignment for s in changes.assignments if s.change.gives_access}
    deleted = {s.assignment for s in changes.assignments if not s.change.gives_access}
    planned = {a.account_id: set(a.assignments) for a in changes.snapshot.cloudsso}
    on_account = {a.account_id: set(a.assignments) for a in now.cloudsso}
    return all(
        on_account.get(account, set())
        == (had - deleted) | {a for a in created if a.account_id == account}
        for account, had in planned.items()
    )


def _configurations_as_planned(changes: Changes, now: Snapshot) -> bool:
    granted_now = {c.configuration_id: c.granted for c in now.access_configurations}
    for change in changes.configurations:
        match change:
            case AccessConfigurationCreate():
                return False
            case AccessConfigurationUpdate():
                if granted_now.get(change.configuration_id) != change.after:
                    return False
            case AccessConfigurationDelete():
                if granted_now.get(change.configuration_id) is not None:
                    return False
            case _:
                unhandled(change)
    return True


def _moved(planned: Snapshot, now: Snapshot, names: Mapping[str, str]) -> list[str]:
    held_now = {p.principal_id: set(p.permissions) for p in now.asm}
    on_account_now = {a.account_id: set(a.assignments) for a in now.cloudsso}
    moved = [
        f"principal {describe(p.principal_id, names)}"
        for p in planned.asm
        if set(p.permissions) != held_now.get(p.principal_id, set())
    ]
    moved += [
        f"account {describe(a.account_id, names)}"
        for a in planned.cloudsso
        if set(a.assignments) != on_account_now.get(a.account_id, set())
    ]
    granted_now = {c.configuration_id: c.granted for c in now.access_configurations}
    moved += [
        f"access configuration {describe(c.configuration_id, names)}"
        for c in planned.access_configurations
        if c.granted != granted_now.get(c.configuration_id)
    ]
    return moved


class PlanForOtherFiles(StalePlan):
    def __init__(self) -> None:
        super().__init__(
            "refusing the saved plan: it was made from other permission files than these "
            "(their digest differs); nothing was applied; run permctl plan again"
        )


def check_made_from(saved: SavedPlan, config: Config) -> None:
    """The files give the identities and endpoints apply acts through: they must be the ones
    the plan was made from."""
    if not hmac.compare_digest(saved.config_digest, config.digest()):
        raise PlanForOtherFiles()
