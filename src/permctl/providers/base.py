"""What a managed service provides to apply: its part of a run, in the executor's phases.

The executor (`apply/executor.py`) knows no service. It builds each managed service's part
from the changes and that service's providers, then drives every part through the same
phases, in this order:

1. `before_scheduled` — in the executor's own thread, one part after the other: what the
   concurrent changes of any service depend on (CloudSSO creates, updates and re-provisions
   access configurations, so that assignments can use them).
2. `start` — queue the concurrent work (re-reads, writes, task submissions) on the run's
   scheduler; the executor then runs every part's work together.
3. `after_scheduled` — once every scheduled change has ended: what they may have been using
   (CloudSSO deletes access configurations once the assignments using them are gone).
4. `start_verification` — only when the run was not stopped: queue read-backs of what was
   written, which see whatever another writer did meanwhile (Service Mesh re-reads every
   principal granted); the executor runs them last.
5. `report_unfinished` — only when the run was stopped: report every item not reported yet,
   by how far it got.

A part reports each item, counts its write calls and writes its audit records through the
run's results, handed to it when it is built.

Reading live state is not behind this contract: `providers/live.py` reads every service
together, shaped by what the file asks for, and the plan engine compares per service.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class ServiceApply(ABC):
    """One managed service's part of an apply run (see the module's phases); a part with
    nothing to do in a phase says so with an empty method."""

    @abstractmethod
    def before_scheduled(self) -> None: ...

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def after_scheduled(self) -> None: ...

    @abstractmethod
    def start_verification(self) -> None: ...

    @abstractmethod
    def report_unfinished(self) -> None: ...
