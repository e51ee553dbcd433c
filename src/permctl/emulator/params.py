"""Typed access to the flat string parameters of an RPC call, failing as the API does."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from permctl.emulator.errors import invalid, missing


class Params:
    """The merged query and form parameters of one call. An empty value counts as absent,
    as the SDK never sends one for an unset field."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise missing(name)
        return value

    def choice(self, name: str, allowed: Collection[str], default: str | None = None) -> str:
        value = self.get(name) or default
        if value is None:
            raise missing(name)
        if value not in allowed:
            raise invalid(name, f"{name} must be one of {', '.join(sorted(allowed))}.")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(name, f"{name} must be an integer.") from None
        if not low <= value <= high:
            raise invalid(name, f"{name} must be between {low} and {high}.")
        return value

    def json_list(self, name: str) -> list[Any] | None:
        raw = self.get(name)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise invalid(name, f"{name} must be a JSON array.") from None
        if not isinstance(value, list):
            raise invalid(name, f"{name} must be a JSON array.")
        return value
