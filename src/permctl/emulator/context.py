"""What an action handler gets: the call's parameters, the world, and the call's own dice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from permctl.emulator.faults import Dice, Knobs
from permctl.emulator.journal import Write
from permctl.emulator.params import Params
from permctl.emulator.signing import Caller
from permctl.emulator.state import EmulatorState


def iso_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass
class Context:
    params: Params
    state: EmulatorState
    knobs: Knobs
    dice: Dice
    caller: Caller
    request_id: str
    sequence: int
    now: float  # epoch seconds
    writes: list[Write] = field(default_factory=list)  # what the action changed, for the log

    @property
    def timestamp(self) -> str:
        return iso_time(self.now)


# Returns the response body without RequestId; raises ApiFault to answer with an error.
Handler = Callable[[Context], dict[str, Any]]
