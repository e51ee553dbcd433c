"""Every SDK call of permctl, behind one object per service.

Above this package nobody sees the wire: providers take and return the normalized, immutable
types of `permctl.model`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from permctl.providers.cloudsso import CloudSsoProvider, TaskPolling
from permctl.providers.connection import (
    AccessKey,
    Connection,
    ConnectionSettings,
    RetryPolicy,
)
from permctl.providers.ram import RamProvider
from permctl.providers.resourcedirectory import ResourceDirectoryProvider
from permctl.providers.servicemesh import ServiceMeshProvider
from permctl.providers.sts import StsProvider

__all__ = [
    "AccessKey",
    "CloudSsoProvider",
    "Connection",
    "ConnectionSettings",
    "Providers",
    "RamProvider",
    "ResourceDirectoryProvider",
    "RetryPolicy",
    "ServiceMeshProvider",
    "StsProvider",
    "TaskPolling",
    "open_providers",
]


@dataclass(frozen=True)
class Providers:
    connection: Connection
    servicemesh: ServiceMeshProvider
    cloudsso: CloudSsoProvider
    resourcedirectory: ResourceDirectoryProvider
    ram: RamProvider
    sts: StsProvider


@contextmanager
def open_providers(
    settings: ConnectionSettings, polling: TaskPolling = TaskPolling()
) -> Iterator[Providers]:
    """Clients are built here but nothing is called: credentials are first used by a call."""
    connection = Connection(settings)
    try:
        yield Providers(
            connection=connection,
            servicemesh=ServiceMeshProvider(connection),
            cloudsso=CloudSsoProvider(connection, polling),
            resourcedirectory=ResourceDirectoryProvider(connection),
            ram=RamProvider(connection),
            sts=StsProvider(connection),
        )
    finally:
        connection.close()
