"""What apply executes, in one form whether it comes from a fresh plan or a saved one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from permctl.errors import PermctlError
from permctl.model import (
    DEFAULT_DEPROVISION_STRATEGY,
    Assignment,
    DeprovisionStrategy,
    MeshRole,
    PrincipalKind,
    outside_meshes,
)
from permctl.plan import Plan, Snapshot
from permctl.plan.access_configurations import AccessConfigurationChange
from permctl.plan.changes import CloudSsoChange
from permctl.providers import MeshAccount, accounts_of_meshes


class InconsistentChanges(PermctlError):
    """The changes would drop grants the plan does not manage; nothing is applied."""


@dataclass(frozen=True)
class PrincipalGrant:
    """Replace the principal's whole list, which the plan saw as `before`, with `after`."""

    principal_id: str
    kind: PrincipalKind
    display: str
    before: frozenset[MeshRole]
    after: frozenset[MeshRole]


@dataclass(frozen=True)
class AssignmentStep:
    change: CloudSsoChange
    display: str

    @property
    def assignment(self) -> Assignment:
        return self.change.assignment


@dataclass(frozen=True)
class Changes:
    grants: tuple[PrincipalGrant, ...]
    assignments: tuple[AssignmentStep, ...]
    snapshot: Snapshot
    managed_mesh_ids: frozenset[str]
    directory_id: str | None
    deprovision_strategy: DeprovisionStrategy = DEFAULT_DEPROVISION_STRATEGY
    # id -> name, for messages about what the plan touches
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    configurations: tuple[AccessConfigurationChange, ...] = ()

    def __post_init__(self) -> None:
        """Every new list must keep, verbatim, what the principal holds on meshes outside the
        managed ones: a grant replaces the whole list, so anything left out is revoked."""
        for grant in self.grants:
            if outside_meshes(grant.before, self.managed_mesh_ids) != outside_meshes(
                grant.after, self.managed_mesh_ids
            ):
                raise InconsistentChanges(
                    f"refusing to apply: the new list of {grant.display} would change grants on "
                    "meshes the file does not manage; run permctl plan again"
                )
        if (self.assignments or self.configurations) and self.directory_id is None:
            raise InconsistentChanges("refusing to apply: CloudSSO changes without a directory")

    def by_mesh_account(
        self, accounts: Sequence[MeshAccount]
    ) -> list[tuple[MeshAccount, tuple[PrincipalGrant, ...]]]:
        """The grants of each mesh account: a principal's list is read and written through the
        identity of the account its managed meshes are in, the only account it exists in."""
        grouped: dict[str, list[PrincipalGrant]] = {account.label: [] for account in accounts}
        for grant in self.grants:
            meshes = {g.mesh_id for g in grant.before | grant.after} & self.managed_mesh_ids
            grouped[accounts_of_meshes(accounts, meshes)[0].label].append(grant)
        return [(a, tuple(grouped[a.label])) for a in accounts if grouped[a.label]]

    @property
    def item_count(self) -> int:
        """What apply works through, for its progress."""
        return len(self.grants) + len(self.assignments) + len(self.configurations)

    @property
    def is_empty(self) -> bool:
        return not (self.grants or self.assignments or self.configurations)

    @classmethod
    def from_plan(cls, plan: Plan) -> Changes:
        return cls(
            grants=tuple(
                PrincipalGrant(
                    u.principal_id,
                    u.kind,
                    plan.describe(u.principal_id, u.label),
                    frozenset(u.before),
                    frozenset(u.after),
                )
                for u in plan.asm_updates
            ),
            assignments=tuple(
                AssignmentStep(c, plan.describe_assignment(c.assignment)) for c in plan.sso_changes
            ),
            snapshot=plan.snapshot,
            managed_mesh_ids=frozenset(plan.managed_mesh_ids),
            directory_id=plan.directory_id,
            deprovision_strategy=plan.deprovision_strategy,
            names=plan.names,
            configurations=plan.access_configuration_changes,
        )
