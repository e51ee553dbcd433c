"""One call, from an HTTP request to a JSON answer: route, authenticate, inject faults, run the
action under the state lock, and log it."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from permctl.emulator.context import Context, iso_time
from permctl.emulator.errors import ApiFault, missing
from permctl.emulator.faults import (
    INTERNAL,
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
from permctl.emulator.state import EmulatorState, Task

log = logging.getLogger("permctl.emulator")


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def request_parameters(request: HttpRequest) -> dict[str, str]:
    """Query parameters, then form (or JSON) body parameters over them."""
    params = dict(request.query)
    content_type = request.header("content-type") or ""
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    elif content_type.startswith("application/json") and request.body:
        try:
            document = json.loads(request.body)
        except ValueError:
            raise ApiFault("InvalidParameter", "The request body is not valid JSON.") from None
        if isinstance(document, dict):
            params.update(
                {k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}
            )
    return params


def completed(task: Task) -> AssignmentWrite:
    return AssignmentWrite(
        task.task_id,
        task.request_id,
        task.task_type,
        task.directory_id,
        task.key,
        task.status,
        task.failure_reason,
        task.deprovision_strategy,
    )


class Dispatcher:
    def __init__(self, state: EmulatorState, knobs: Knobs, journal: Journal) -> None:
        self.state = state
        self.knobs = knobs  # replaced whole, never mutated: each call reads one snapshot
        self.journal = journal
        self.verifier = Verifier(state.keys)
        self._qps = QpsWindow()

    def handle(self, request: HttpRequest) -> Response:
        arrived, started = time.time(), time.perf_counter()
        sequence = self.journal.next_sequence()
        request_id = str(uuid.uuid4()).upper()
        knobs = self.knobs
        dice = Dice(knobs.seed, sequence)
        action = request.header("x-acs-action") or request.query.get("Action") or ""
        version = request.header("x-acs-version") or request.query.get("Version") or ""
        headers: Mapping[str, str] = {}
        params: dict[str, str] = {}
        try:
            params = request_parameters(request)
            if delay := latency_s(knobs, dice):
                time.sleep(delay)
            body = self._run(request, params, action, version, knobs, dice, request_id, sequence)
            status = 200
        except ApiFault as fault:
            status, headers = fault.status, fault.headers
            body = self._error_body(fault, request, request_id)
        except Exception as error:  # a bug must still answer, and be seen
            log.exception("emulator failed on %s", action)
            bug = ApiFault(INTERNAL[0], f"{INTERNAL[1]} ({type(error).__name__})", 500)
            status, body = 500, self._error_body(bug, request, request_id)
        payload = json.dumps(body, separators=(",", ":")).encode()
        self.journal.record_call(
            Call(
                sequence,
                arrived,
                action,
                version,
                authorization_key_id(request),
                MappingProxyType(params),
                status,
                body.get("Code") if status != 200 else None,
                request_id,
                (time.perf_counter() - started) * 1000,
            )
        )
        return Response(status, {**headers, "x-acs-request-id": request_id}, payload)

    def _run(
        self,
        request: HttpRequest,
        params: dict[str, str],
        action: str,
        version: str,
        knobs: Knobs,
        dice: Dice,
        request_id: str,
        sequence: int,
    ) -> dict[str, Any]:
        credential = self.verifier.verify(request)
        route = self._route(action, version)
        now = time.time()
        with self.state.lock:
            caller = self.state.caller(credential)
        fault = denied(knobs, route.service, action, params, caller, self.state.account_id)
        if fault is None and not self._qps.admit(knobs.qps_cap, now):
            fault = throttled(knobs)
        fault = fault or injected_fault(knobs, dice)
        if fault:
            raise fault
        with self.state.lock:
            self.settle(now)
            ctx = Context(
                Params(params), self.state, knobs, dice, caller, request_id, sequence, now
            )
            body = route.handler(ctx)
            self.journal.record_writes(ctx.writes)
        if route.writes and (fault := after_write_fault(knobs, dice)):
            raise fault
        return {"RequestId": request_id, **body}

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
        done = self.state.settle(now, iso_time(now), everything)
        self.journal.record_writes(completed(task) for task in done)
        return len(done)

    @staticmethod
    def _error_body(fault: ApiFault, request: HttpRequest, request_id: str) -> dict[str, Any]:
        return {
            "RequestId": request_id,
            "HostId": request.header("host") or "",
            "Code": fault.code,
            "Message": fault.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={fault.code}",
            **fault.extra,
        }
