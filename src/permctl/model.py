"""Normalized, immutable domain types shared by every stage.

Everything here is keyed by cloud ids, never by the names a user wrote: `resolve` turns the
file's names into these types and `providers` turn wire responses into them, so `plan` can do
plain set arithmetic. All types are frozen and hashable.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from permctl.policydocument import canonical_policy

# What the file and the model both speak of, defined apart for the config stage: see there.
from permctl.vocabulary import ASM_ROLES as ASM_ROLES
from permctl.vocabulary import (
    DEFAULT_DEPROVISION_STRATEGY,
    DEFAULT_SESSION_DURATION,
    DeprovisionStrategy,
    PrincipalKind,
    SafetySettings,
    SourceRef,
)

ADMIN_ROLE = "istio-admin"

CloudSsoPrincipalType = Literal["User", "Group"]
CloudSsoScope = Literal["accounts", "directory"]
# The services permctl manages, in the order every plan and report shows them.
Service = Literal["asm", "cloudsso"]
SERVICES: tuple[Service, ...] = ("asm", "cloudsso")


@dataclass(frozen=True, order=True)
class MeshRole:
    """One entry of a principal's Service Mesh permission list.

    `role_type` is kept verbatim from the wire so that entries on meshes permctl does not manage
    are sent back exactly as they were read.
    """

    mesh_id: str
    role: str
    role_type: str = "custom"


@dataclass(frozen=True)
class AsmPrincipalLive:
    """Everything one RAM user or role holds in Service Mesh, on every mesh, managed or not."""

    principal_id: str
    kind: PrincipalKind  # as the file declares it, or as DescribeUsersWithPermissions listed it
    permissions: frozenset[MeshRole]
    # What DescribeUserPermissions' IsRamRole said, read as GrantUserPermissions' page reads it
    # (true: a RAM role); None when nothing held said. The two API pages disagree on what the
    # field means, so it only ever warns: it never decides the kind.
    wire_kind: PrincipalKind | None = field(default=None, compare=False)

    def on_meshes(self, mesh_ids: frozenset[str]) -> frozenset[MeshRole]:
        return frozenset(p for p in self.permissions if p.mesh_id in mesh_ids)


def outside_meshes(grants: Iterable[MeshRole], mesh_ids: Collection[str]) -> frozenset[MeshRole]:
    """The grants on meshes other than `mesh_ids`: what a new list must keep verbatim, because
    a grant replaces the whole list and anything left out of it is revoked."""
    return frozenset(g for g in grants if g.mesh_id not in mesh_ids)


@dataclass(frozen=True, order=True)
class Assignment:
    """One CloudSSO access assignment: a principal holds a configuration on an account."""

    access_configuration_id: str
    account_id: str
    principal_type: CloudSsoPrincipalType
    principal_id: str


@dataclass(frozen=True)
class AccessConfiguration:
    """What an access configuration grants, every field as the API holds it: equal values
    grant the same. `inline_policy` is the policy document in `permctl.policydocument`'s
    canonical form (None: no inline policy)."""

    name: str
    description: str = ""
    session_duration: int = DEFAULT_SESSION_DURATION
    relay_state: str = ""
    system_policies: tuple[str, ...] = ()  # sorted
    inline_policy: str | None = None

    @classmethod
    def written(
        cls,
        name: str,
        description: str,
        session_duration: int,
        relay_state: str,
        system_policies: Iterable[str],
        inline_policy: Mapping[str, Any] | None,
    ) -> AccessConfiguration:
        """One as a file or a plan document writes it: policies in any order, the inline
        policy as a document."""
        return cls(
            name=name,
            description=description,
            session_duration=session_duration,
            relay_state=relay_state,
            system_policies=tuple(sorted(set(system_policies))),
            inline_policy=canonical_policy(inline_policy) if inline_policy is not None else None,
        )


@dataclass(frozen=True, order=True)
class Provisioning:
    """An access configuration deployed on an account; ReprovisionRequired once it changed."""

    account_id: str
    status: str  # Provisioned | ReprovisionRequired | DeprovisionFailed


@dataclass(frozen=True)
class LiveAccessConfiguration:
    configuration_id: str
    granted: AccessConfiguration
    inline_policy_name: str | None = None  # the API names the one inline policy
    provisionings: tuple[Provisioning, ...] = ()  # sorted by account


@dataclass(frozen=True)
class DesiredAccessConfiguration:
    granted: AccessConfiguration
    source: SourceRef


# The id an assignment carries for an access configuration the file declares and the directory
# does not have yet: apply swaps it for the id CreateAccessConfiguration returns.
NEW_ACCESS_CONFIGURATION = "new:"


def new_access_configuration_id(name: str) -> str:
    return NEW_ACCESS_CONFIGURATION + name


@dataclass(frozen=True)
class LiveAccessConfigurations:
    """The directory's access configurations: every id -> name, and the full record of each
    one the file manages (or, when deleting unlisted ones, of each one)."""

    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    records: Mapping[str, LiveAccessConfiguration] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True, order=True)
class GroupMember:
    """A CloudSSO user in a group: whoever holds the group's access configurations."""

    user_id: str
    user_name: str


# group id -> its members, for the groups whose members could be read
GroupMembers = Mapping[str, tuple[GroupMember, ...]]


@dataclass(frozen=True)
class Mesh:
    alias: str
    mesh_id: str


@dataclass(frozen=True)
class DesiredPrincipal:
    """A principal as the file wants it, resolved to its id: one role per managed mesh."""

    label: str
    principal_id: str
    kind: PrincipalKind
    roles: Mapping[str, str]  # mesh id -> role
    source: SourceRef
    expires: date | None = None
    # The mesh account (`permctl.providers.MeshAccount.label`) the principal belongs to.
    account: str = "asm"

    def __hash__(self) -> int:
        return hash((self.principal_id, self.kind, tuple(sorted(self.roles.items()))))


@dataclass(frozen=True)
class DesiredAsm:
    meshes: tuple[Mesh, ...]
    principals: tuple[DesiredPrincipal, ...]
    prune_unlisted: bool = False

    @property
    def managed_mesh_ids(self) -> frozenset[str]:
        return frozenset(m.mesh_id for m in self.meshes)


@dataclass(frozen=True)
class DesiredAssignment:
    assignment: Assignment
    source: SourceRef
    expires: date | None = None


@dataclass(frozen=True)
class DesiredCloudSso:
    """The CloudSSO part of the file, resolved.

    `managed_account_ids` is the scope: with scope `accounts` the accounts the file names (folders
    expanded); with scope `directory` every account of the resource directory.
    """

    directory_id: str
    scope: CloudSsoScope
    managed_account_ids: frozenset[str]
    assignments: tuple[DesiredAssignment, ...]
    prune_unlisted: bool = False
    deprovision_strategy: DeprovisionStrategy = DEFAULT_DEPROVISION_STRATEGY
    access_configurations: tuple[DesiredAccessConfiguration, ...] = ()
    prune_access_configurations: bool = False


@dataclass(frozen=True)
class DesiredState:
    asm: DesiredAsm | None
    cloudsso: DesiredCloudSso | None
    safety: SafetySettings = field(default_factory=SafetySettings)
    # id -> human name for every id the plan may show (principals, meshes, accounts, ...).
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class LiveState:
    """What the providers read. Only what the plan needs: managed principals (and unlisted ones
    when pruning or reporting drift) and assignments on managed accounts."""

    asm: Mapping[str, AsmPrincipalLive] = field(default_factory=lambda: MappingProxyType({}))
    assignments: frozenset[Assignment] = frozenset()
    # Who runs permctl in each mesh account: the principals a grant change could lock out.
    caller_principal_ids: frozenset[str] = frozenset()
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    access_configurations: LiveAccessConfigurations = LiveAccessConfigurations()
    # The members of the groups the caller asked for (`read_live_state(members_of=...)`).
    group_members: GroupMembers = field(default_factory=lambda: MappingProxyType({}))
