"""The actions the emulator serves, by (API version, action name): versions tell the products
apart where action names collide (RAM and CloudSSO both have GetUser and ListUsers)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from permctl.emulator.context import Handler
from permctl.emulator.handlers import (
    access_configurations,
    cloudsso,
    openapiexplorer,
    ram,
    resourcedirectory,
    servicemesh,
    sts,
)


@dataclass(frozen=True)
class Route:
    service: str  # the RAM service code, as in a policy's Action "servicemesh:GrantUserPermissions"
    handler: Handler
    writes: bool


PRODUCTS = (
    servicemesh,
    cloudsso,
    access_configurations,
    resourcedirectory,
    ram,
    sts,
    openapiexplorer,
)
ROUTES = MappingProxyType(
    {
        (product.VERSION, action): Route(product.SERVICE, handler, action in product.WRITES)
        for product in PRODUCTS
        for action, handler in product.HANDLERS.items()
    }
)
VERSIONS = frozenset(version for version, _ in ROUTES)
