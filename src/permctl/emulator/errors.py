"""The one error type of the emulator: an API error as the cloud would answer it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ApiFault(Exception):
    """An error response: `Code`, `Message` and the HTTP status the real API uses.

    `extra` adds fields to the JSON body (AccessDeniedDetail); `headers` adds response headers
    (x-acs-retry-after, which makes the SDK raise ThrottlingException instead of ClientException).
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        extra: Mapping[str, Any] = _EMPTY,
        headers: Mapping[str, str] = _EMPTY,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra
        self.headers = headers


def not_found(code: str, what: str, value: str) -> ApiFault:
    """`EntityNotExists.User`, `EntityNotExist.Role`, ... always with HTTP 404."""
    return ApiFault(code, f"The specified {what} {value!r} does not exist.", 404)


def invalid(name: str, message: str) -> ApiFault:
    return ApiFault(f"InvalidParameter.{name}", message, 400)


def missing(name: str) -> ApiFault:
    return ApiFault(
        "MissingParameter",
        f"The input parameter {name!r} that is mandatory for processing this request is not "
        "supplied.",
        400,
    )
