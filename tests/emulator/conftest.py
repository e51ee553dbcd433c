"""Emulators for the tests: `shared` (one per module) for tests that only read, `emu` (one per
test) for tests that write or change knobs, `frozen` (one per test) whose time moves only by
`clock.advance(seconds)`; `sdk`, `shared_sdk` and `frozen_sdk` are SDK clients for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_support import Clients, clients, org_state
from manual_clock import ManualClock

from permctl.emulator import Emulator, Knobs


@pytest.fixture(scope="module")
def shared() -> Iterator[Emulator]:
    with Emulator(org_state(), knobs=Knobs(seed=1)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def shared_sdk(shared: Emulator) -> Clients:
    return clients(shared)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(org_state(), knobs=Knobs(seed=1)) as emulator:
        yield emulator


@pytest.fixture
def sdk(emu: Emulator) -> Clients:
    return clients(emu)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def frozen(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(org_state(), knobs=Knobs(seed=1), clock=clock) as emulator:
        yield emulator


@pytest.fixture
def frozen_sdk(frozen: Emulator) -> Clients:
    return clients(frozen)
