"""`--emulator STATE`: the local emulator, in this process, in place of Alibaba Cloud.

Every endpoint points at it and it signs with its own AccessKey pair, so no credentials are
read and nothing outside the machine is contacted. It stops when the command ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from permctl.emulator import Emulator
from permctl.emulator.schema import StateFileError
from permctl.errors import PermctlError
from permctl.providers import AccessKey, ConnectionSettings
from permctl.providers.connection import SERVICES


class EmulatorStateError(PermctlError):
    """The --emulator state file cannot be served."""


@contextmanager
def embedded_emulator(
    state_file: Path, settings: ConnectionSettings
) -> Iterator[ConnectionSettings]:
    """Serve `state_file` on a free loopback port; yield `settings` pointed at it."""
    try:
        emulator = Emulator(state_file)
    except StateFileError as error:
        raise EmulatorStateError(str(error)) from None
    with emulator:
        yield replace(
            settings,
            endpoints=MappingProxyType({service: emulator.url for service in SERVICES}),
            access_key=AccessKey(emulator.access_key_id, emulator.access_key_secret),
            profile=None,
            endpoints_from_env=False,
        )
