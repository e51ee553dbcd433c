"""OpenAPI Explorer: the gateway's log of one call, found by its RequestId."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from alibabacloud_openapiexplorer20241130 import models as explorer_models

from permctl.providers.connection import Connection


@dataclass(frozen=True)
class AccessDenied:
    """What the 403 itself said; `encoded_diagnostic_message` is what RAM can decode."""

    auth_action: str
    principal_type: str
    principal_name: str
    principal_account_id: str
    no_permission_type: str
    policy_type: str
    encoded_diagnostic_message: str


@dataclass(frozen=True)
class RequestLog:
    request_id: str
    api: str
    api_version: str
    product: str
    http_status: int | None
    error_code: str
    error_message: str
    throttling_result: str  # FC.PASS, FC.DENY
    caller_account_id: str
    caller_type: str  # customer, sub, AssumedRoleUser
    parameters: Mapping[str, str]
    access_denied: AccessDenied | None

    @property
    def throttled(self) -> bool:
        return self.throttling_result == "FC.DENY"


class OpenApiExplorerProvider:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection.service("openapiexplorer")
        self._client = self._connection.client

    def request_log(self, request_id: str) -> RequestLog:
        request = explorer_models.GetRequestLogRequest(log_request_id=request_id)
        body = self._connection.call(
            "GetRequestLog", lambda: self._client.get_request_log(request)
        ).body
        info = body.log_info
        basic = info.basic_info
        caller = info.caller_info or explorer_models.GetRequestLogResponseBodyLogInfoCallerInfo()
        return RequestLog(
            request_id=str(basic.log_request_id or request_id),
            api=str(basic.api or ""),
            api_version=str(basic.api_version or ""),
            product=str(basic.product or ""),
            http_status=_status(basic.http_status_code),
            error_code=str(basic.error_code or ""),
            error_message=str(basic.error_message or ""),
            throttling_result=str(basic.throttling_result or ""),
            caller_account_id=str(caller.caller_account_id or ""),
            caller_type=str(caller.caller_type or ""),
            parameters=MappingProxyType(
                {
                    str(p.name): str(p.value if p.value is not None else "")
                    for p in info.parameters or []
                }
            ),
            access_denied=_access_denied(basic.access_denied_detail),
        )


def _status(value: Any) -> int | None:
    """The log gives the status as text."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _access_denied(detail: Any) -> AccessDenied | None:
    if detail is None or not detail.encoded_diagnostic_message:
        return None
    return AccessDenied(
        auth_action=str(detail.auth_action or ""),
        principal_type=str(detail.auth_principal_type or ""),
        principal_name=str(detail.auth_principal_display_name or ""),
        principal_account_id=str(detail.auth_principal_owner_id or ""),
        no_permission_type=str(detail.no_permission_type or ""),
        policy_type=str(detail.policy_type or ""),
        encoded_diagnostic_message=str(detail.encoded_diagnostic_message),
    )
