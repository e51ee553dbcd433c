"""Every SDK call of permctl, behind one object per service.

Above this package nobody sees the wire: providers take and return the normalized, immutable
types of `permctl.model`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType

from permctl.providers.access_configurations import AccessConfigurationProvider
from permctl.providers.cloudsso import CloudSsoProvider, TaskPolling
from permctl.providers.connection import AccessKey, Connection, ConnectionSettings, RetryPolicy
from permctl.providers.openapiexplorer import OpenApiExplorerProvider
from permctl.providers.pacing import Pacing
from permctl.providers.ram import RamProvider
from permctl.providers.resourcedirectory import ResourceDirectoryProvider
from permctl.providers.servicemesh import ServiceMeshProvider
from permctl.providers.sts import StsProvider
from permctl.roles import ASM, MeshAccountSpec, RoleAccess, accounts_of_meshes

__all__ = [
    "ASM",
    "AccessConfigurationProvider",
    "AccessKey",
    "CloudSsoProvider",
    "Connection",
    "ConnectionSettings",
    "MeshAccount",
    "MeshAccountSpec",
    "OpenApiExplorerProvider",
    "Providers",
    "RamProvider",
    "ResourceDirectoryProvider",
    "RetryPolicy",
    "RoleAccess",
    "ServiceMeshProvider",
    "Session",
    "StsProvider",
    "TaskPolling",
    "accounts_of_meshes",
    "open_providers",
    "open_session",
]


@dataclass(frozen=True)
class Providers:
    connection: Connection
    servicemesh: ServiceMeshProvider
    cloudsso: CloudSsoProvider
    access_configurations: AccessConfigurationProvider
    resourcedirectory: ResourceDirectoryProvider
    ram: RamProvider
    sts: StsProvider
    openapiexplorer: OpenApiExplorerProvider


@contextmanager
def open_providers(
    settings: ConnectionSettings, polling: TaskPolling = TaskPolling(), pacing: Pacing | None = None
) -> Iterator[Providers]:
    """Clients are built here but nothing is called: credentials are first used by a call.
    `pacing` is the run's, when several identities share it."""
    connection = Connection(settings, pacing)
    cloudsso = CloudSsoProvider(connection, polling)
    try:
        yield Providers(
            connection=connection,
            servicemesh=ServiceMeshProvider(connection),
            cloudsso=cloudsso,
            access_configurations=AccessConfigurationProvider(connection, cloudsso),
            resourcedirectory=ResourceDirectoryProvider(connection),
            ram=RamProvider(connection),
            sts=StsProvider(connection),
            openapiexplorer=OpenApiExplorerProvider(connection),
        )
    finally:
        connection.close()


@dataclass(frozen=True)
class MeshAccount:
    """Managed meshes and the providers acting in their account: the RAM principals holding
    roles on them, and their permission lists, exist only there."""

    label: str
    mesh_ids: frozenset[str]
    providers: Providers

    @property
    def identity(self) -> str:
        return self.providers.connection.settings.identity()


@dataclass(frozen=True)
class Session:
    """The providers of each section of the file, each acting as that section's identity:
    `asm` for Service Mesh and the RAM users and roles it grants to, `cloudsso` for CloudSSO
    and the resource directory. Sections reached as the same identity share one connection.
    `identities` says, per section (per mesh account when meshes are reached as several
    identities), who acts: a role ARN with its session name, or the caller's own credentials.

    `mesh_accounts` holds one entry per identity the managed meshes are reached as; `asm` is
    the first one's providers."""

    asm: Providers
    cloudsso: Providers
    identities: Mapping[str, str]
    mesh_accounts: tuple[MeshAccount, ...]

    @classmethod
    def of(cls, providers: Providers) -> Session:
        """Every section as one identity."""
        identity = providers.connection.settings.identity()
        return cls(
            providers,
            providers,
            MappingProxyType(dict.fromkeys(SECTIONS, identity)),
            (MeshAccount(ASM, frozenset(), providers),),
        )


SECTIONS = (ASM, "cloudsso")


@contextmanager
def open_session(
    settings: ConnectionSettings,
    roles: Mapping[str, RoleAccess | None],
    mesh_accounts: Sequence[MeshAccountSpec] = (),
    polling: TaskPolling = TaskPolling(),
) -> Iterator[Session]:
    """`roles` names the role each section assumes (absent or None: the caller's own
    credentials), `mesh_accounts` the role of each group of meshes. Each distinct role is
    assumed once, on its first call, and its session is kept for the run. The identities
    share one `Pacing`: those in one account share its limits."""
    pacing = Pacing(settings.concurrency, published_limits=settings.published_limits)
    with ExitStack() as stack:
        stack.callback(pacing.log_summary)
        by_role: dict[RoleAccess | None, Providers] = {}
        wanted = [*(roles.get(section) for section in SECTIONS), *(a.role for a in mesh_accounts)]
        for role in dict.fromkeys(wanted):
            opened = open_providers(replace(settings, assume_role=role), polling, pacing)
            by_role[role] = stack.enter_context(opened)
        asm, sso = (by_role[roles.get(section)] for section in SECTIONS)
        accounts = tuple(
            MeshAccount(a.label, frozenset(a.mesh_ids), by_role[a.role]) for a in mesh_accounts
        ) or (MeshAccount(ASM, frozenset(), asm),)
        identities = {a.label: a.identity for a in accounts}
        identities["cloudsso"] = sso.connection.settings.identity()
        yield Session(
            asm=asm,
            cloudsso=sso,
            identities=MappingProxyType(identities),
            mesh_accounts=accounts,
        )
