from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from apply_support import organisation

from permctl.emulator import Emulator, Knobs


@pytest.fixture
def serve(point_at: Callable[[Emulator], None]) -> Iterator[Callable[..., Emulator]]:
    """`serve(knobs=..., extra_users=...)`: the example organisation, permctl pointed at it."""
    running: list[Emulator] = []

    def start(knobs: Knobs | None = None, extra_users: int = 0) -> Emulator:
        emulator = Emulator(organisation(extra_users), knobs=knobs).start()
        running.append(emulator)
        point_at(emulator)
        return emulator

    yield start
    for emulator in running:
        emulator.stop()


@pytest.fixture
def emu(serve: Callable[..., Emulator]) -> Emulator:
    return serve()
