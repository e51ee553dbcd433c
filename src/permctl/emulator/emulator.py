"""The in-process emulator: a server on 127.0.0.1 and what tests read from it."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any

from permctl.emulator.dispatch import Dispatcher
from permctl.emulator.faults import Knobs
from permctl.emulator.journal import Call, Journal, Write
from permctl.emulator.schema import StateSource
from permctl.emulator.server import ApiServer
from permctl.emulator.state import EmulatorState


class Emulator:
    """`with Emulator("state.yaml", knobs=Knobs(seed=1)) as emu:` serves the state on a free
    port of 127.0.0.1 until the block ends. SDK clients reach it with
    `Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
    endpoint=emu.endpoint, protocol="HTTP")`."""

    def __init__(
        self,
        state: StateSource | EmulatorState,
        knobs: Knobs | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` (epoch seconds) is the emulator's time: when calls arrive, which fall in the
        QPS cap's second, when a delayed CloudSSO task completes. A clock a test moves by hand
        makes those independent of how fast the machine runs."""
        self.state = EmulatorState.load(state)
        self._journal = Journal()
        self._dispatcher = Dispatcher(self.state, knobs or Knobs(), self._journal, clock)
        self._address = (host, port)
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is None:
            self._server = ApiServer(self._address, self._dispatcher.handle)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"permctl-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where and how to connect --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:PORT`, the SDK Config's endpoint (with protocol="HTTP")."""
        return f"{self._address[0]}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def access_key_id(self) -> str:
        """The first configured AccessKey (or the generated one)."""
        return next(iter(self.state.keys.values())).access_key_id

    @property
    def access_key_secret(self) -> str:
        return next(iter(self.state.keys.values())).access_key_secret

    # -- knobs ---------------------------------------------------------------------------------

    @property
    def knobs(self) -> Knobs:
        return self._dispatcher.knobs

    def set_knobs(self, knobs: Knobs | None = None, **changes: Any) -> Knobs:
        """Replace the knobs, or change some: `emu.set_knobs(throttle_rate=0.2)`. Calls already
        in flight finish with the knobs they started with."""
        updated = dataclasses.replace(knobs or self._dispatcher.knobs, **changes)
        self._dispatcher.knobs = updated
        return updated

    # -- what happened -------------------------------------------------------------------------

    @property
    def calls(self) -> tuple[Call, ...]:
        return self._journal.calls

    @property
    def writes(self) -> tuple[Write, ...]:
        """Grants as applied and assignment tasks as completed (due tasks complete first)."""
        self._settle()
        return self._journal.writes

    def count(self, action: str) -> int:
        return self._journal.counts()[action]

    def counts(self) -> Counter[str]:
        return self._journal.counts()

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
        """Whether `condition()` held within `timeout_s`, asked again after each call or write:
        `emu.wait_until(lambda: emu.count("GrantUserPermissions") > 0)`."""
        return self._journal.wait_until(condition, timeout_s)

    def reset_log(self) -> None:
        self._journal.reset()

    def dump(self) -> dict[str, Any]:
        """The live state in the schema it was loaded from (due tasks complete first)."""
        self._settle()
        return self.state.dump()

    def complete_pending_tasks(self) -> int:
        """Complete every pending CloudSSO task now, however long its delay; returns how many."""
        return self._settle(everything=True)

    def _settle(self, everything: bool = False) -> int:
        with self.state.lock:
            return self._dispatcher.settle(self._dispatcher.clock(), everything)
