"""OpenAPI Explorer 2024-11-30 (ROA, GET /getRequestLog): GetRequestLog over the emulator's own
call log, for the calls made in the caller's account."""

from __future__ import annotations

from typing import Any

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import ApiFault
from permctl.emulator.journal import Call
from permctl.emulator.schema import iso_time

VERSION = "2024-11-30"
SERVICE = "openapiexplorer"
# Signature parameters are how a call was sent, not what it asked.
_SIGNING = frozenset(
    {"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce",
     "SecurityToken", "Timestamp", "Format", "Action", "Version"}
)  # fmt: skip


def get_request_log(ctx: Context) -> dict[str, Any]:
    request_id = ctx.params.require("logRequestId")
    call = ctx.journal.find(request_id)
    if call is None or call.account_id != ctx.state.account_id:
        raise ApiFault(
            "RequestLog.NotFound",
            f"No call with RequestId {request_id} was made in account {ctx.state.account_id}.",
            404,
        )
    return {"requestId": ctx.request_id, "logInfo": _log_info(call, ctx)}


def _log_info(call: Call, ctx: Context) -> dict[str, Any]:
    basic: dict[str, Any] = {
        "product": call.product,
        "api": call.action,
        "apiVersion": call.version,
        "apiStyle": "rpc" if call.path == "/" else "roa",
        "httpMethod": call.method,
        "httpStatusCode": str(call.status),
        "errorCode": call.code or "",
        "errorMessage": call.message or "",
        "logRequestId": call.request_id,
        "throttlingResult": "FC.DENY" if call.throttled else "FC.PASS",
        "gatewayProcessTime": iso_time(call.time),
        "requestDuration": round(call.elapsed_ms),
    }
    if call.access_denied:
        basic["accessDeniedDetail"] = {
            key[0].lower() + key[1:]: value for key, value in call.access_denied.items()
        }
    caller = ctx.state.keys.get(call.access_key_id or "")
    return {
        "basicInfo": basic,
        "callerInfo": {
            "callerAccountId": call.account_id,
            "masterAccountId": call.account_id,
            "callerType": _caller_type(ctx, caller.principal_id if caller else None),
        },
        "parameters": [
            {"name": name, "value": value, "type": "String", "required": False}
            for name, value in sorted(call.params.items())
            if name not in _SIGNING
        ],
        "authenticationInfo": {"authenticationType": "AK"},
    }


def _caller_type(ctx: Context, principal_id: str | None) -> str:
    """customer (the account), sub (a RAM user) or AssumedRoleUser, as the API says."""
    if principal_id is None or principal_id not in ctx.state.principals:
        return "customer"
    return "AssumedRoleUser" if ctx.state.is_role(principal_id) else "sub"


HANDLERS: dict[str, Handler] = {"GetRequestLog": get_request_log}
WRITES: frozenset[str] = frozenset()
