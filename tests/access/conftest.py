"""The access organisation on a free port, reached as a user points permctl at an endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from access_org import organisation

from permctl.emulator import Emulator


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with Emulator(organisation()) as emulator:
        point_at(emulator)
        yield emulator
