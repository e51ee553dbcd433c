"""What an action handler gets: the call's parameters, the world, and the call's own dice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from permctl.emulator.faults import Dice, Knobs
from permctl.emulator.journal import Journal, Write
from permctl.emulator.params import Params
from permctl.emulator.schema import iso_time
from permctl.emulator.signing import Caller
from permctl.emulator.state import EmulatorState


@dataclass
class Context:
    """Handlers run under the state lock, so they read and change `state` freely."""

    params: Params
    state: EmulatorState
    knobs: Knobs
    dice: Dice
    caller: Caller
    request_id: str
    sequence: int
    now: float  # epoch seconds
    journal: Journal  # the calls so far, for GetRequestLog
    writes: list[Write] = field(default_factory=list)  # what the action changed, for the log

    @property
    def timestamp(self) -> str:
        return iso_time(self.now)


# Returns the response body without RequestId; raises ApiFault to answer with an error.
Handler = Callable[[Context], dict[str, Any]]
