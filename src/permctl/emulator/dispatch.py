"""One call, from an HTTP request to a JSON answer: route, authenticate, inject faults, run the
action under the state lock, and log it."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from permctl.emulator.context import Context
from permctl.emulator.errors import ApiFault, missing
from permctl.emulator.faults import (
    INTERNAL,
    ApiQpsWindows,
    Dice,
    Knobs,
    QpsWindow,
    after_write_fault,
    denied,
    injected_fault,
    latency_s,
    throttled,
)
from permctl.emulator.handlers import ROUTES, VERSIONS, Route
from permctl.emulator.journal import AssignmentWrite, Call, Journal
from permctl.emulator.params import Params
from permctl.emulator.signing import HttpRequest, Verifier, authorization_key_id
from permctl.emulator.state import EmulatorState

log = logging.getLogger("permctl.emulator")


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def request_parameters(request: HttpRequest) -> dict[str, str]:
    """Query parameters, then form body parameters over them: how RPC calls send them."""
    params = dict(request.query)
    if (request.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


@dataclass(frozen=True)
class Incoming:
    """One call as it arrived, with what was drawn for it."""

    request: HttpRequest
    params: Mapping[str, str]
    action: str
    version: str
    sequence: int
    request_id: str
    arrived: float  # epoch seconds
    started: float  # perf_counter, for elapsed_ms
    knobs: Knobs  # the snapshot the whole call runs with
    dice: Dice


class Dispatcher:
    def __init__(
        self,
        state: EmulatorState,
        knobs: Knobs,
        journal: Journal,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.clock = clock  # epoch seconds: call times, the QPS window, task completion
        self.knobs = knobs  # replaced whole, never mutated: each call reads one snapshot
        self.journal = journal
        self.verifier = Verifier(state.keys)
        self._qps = QpsWindow()
        self._api_qps = ApiQpsWindows()

    def handle(self, request: HttpRequest) -> Response:
        call = self._arrive(request)
        headers: Mapping[str, str] = {}
        failure: ApiFault | None = None
        try:
            if delay := latency_s(call.knobs, call.dice):
                time.sleep(delay)
            status, body = 200, self._run(call)
        except ApiFault as fault:
            status, headers, body = fault.status, fault.headers, self._error_body(fault, call)
            failure = fault
        except Exception as error:  # a bug must still answer, and be seen
            log.exception("emulator failed on %s", call.action)
            failure = ApiFault(INTERNAL[0], f"{INTERNAL[1]} ({type(error).__name__})", 500)
            status, body = 500, self._error_body(failure, call)
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._record(call, status, failure)
        return Response(status, {**headers, "x-acs-request-id": call.request_id}, payload)

    def _arrive(self, request: HttpRequest) -> Incoming:
        arrived, started = self.clock(), time.perf_counter()
        sequence, knobs = self.journal.next_sequence(), self.knobs
        return Incoming(
            request,
            request_parameters(request),
            request.header("x-acs-action") or request.query.get("Action") or "",
            request.header("x-acs-version") or request.query.get("Version") or "",
            sequence,
            str(uuid.uuid4()).upper(),
            arrived,
            started,
            knobs,
            Dice(knobs.seed, sequence),
        )

    def _record(self, call: Incoming, status: int, failure: ApiFault | None) -> None:
        key = self.state.keys.get(authorization_key_id(call.request) or "")
        self.journal.record_call(
            Call(
                call.sequence,
                call.arrived,
                call.action,
                call.version,
                authorization_key_id(call.request),
                MappingProxyType(dict(call.params)),
                status,
                failure.code if failure else None,
                call.request_id,
                (time.perf_counter() - call.started) * 1000,
                self.state.account_of(key).account_id if key else None,
                failure.message if failure else None,
                failure.extra.get("AccessDeniedDetail") if failure else None,
                call.request.method,
                call.request.path or "/",
                route.service if (route := ROUTES.get((call.version, call.action))) else "",
            )
        )

    def _run(self, call: Incoming) -> dict[str, Any]:
        """Authenticate, route, inject faults, then run the action under the state lock."""
        credential = self.verifier.verify(call.request)
        route = self._route(call.action, call.version)
        now, knobs = self.clock(), call.knobs
        state = self.state.account_of(credential)
        caller = state.caller(credential)
        fault = denied(knobs, route.service, call.action, call.params, caller, state.account_id)
        if fault is None and not (
            self._qps.admit(knobs.qps_cap, now)
            and self._api_qps.admit(knobs, route.service, call.action, state.account_id, now)
        ):
            fault = throttled(knobs)
        fault = fault or injected_fault(knobs, call.dice)
        if fault:
            raise fault
        with self.state.lock:
            self.settle(now)
            ctx = Context(
                Params(call.params), state, knobs, call.dice, caller, call.request_id,
                call.sequence, now, self.journal,
            )  # fmt: skip
            body = route.handler(ctx)
            self.journal.record_writes(ctx.writes)
        if route.writes and (fault := after_write_fault(knobs, call.dice)):
            raise fault
        return {"RequestId": call.request_id, **body}

    @staticmethod
    def _route(action: str, version: str) -> Route:
        if not action:
            raise missing("Action")
        if version not in VERSIONS:
            raise ApiFault("InvalidVersion", "Specified parameter Version is not valid.", 400)
        route = ROUTES.get((version, action))
        if route is None:
            raise ApiFault(
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
                404,
            )
        return route

    def settle(self, now: float, everything: bool = False) -> int:
        """Complete due tasks and log them; the state lock must be held."""
        done = self.state.settle(now, everything)
        self.journal.record_writes(AssignmentWrite.completed(task) for task in done)
        return len(done)

    @staticmethod
    def _error_body(fault: ApiFault, call: Incoming) -> dict[str, Any]:
        return {
            "RequestId": call.request_id,
            "HostId": call.request.header("host") or "",
            "Code": fault.code,
            "Message": fault.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={fault.code}",
            **fault.extra,
        }
