"""Pydantic's validation errors, told the way a person editing the YAML file needs them.

Each error's `loc` is a path into the document; the position recorded for that path while
reading gives file, line and column. The message names what was found and what is expected,
with a close match for a misspelt key or value.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from permctl.config.schema import PATTERN_HINTS, Config, is_model
from permctl.config.sources import Positions, Where, YamlPath, dotted, problem_at
from permctl.errors import ConfigProblem
from permctl.vocabulary import ASM_ROLES

_KEY = "[key]"  # pydantic's marker for an error in a mapping key rather than its value


def translate(error: ValidationError, positions: Positions) -> list[ConfigProblem]:
    where = Where.of(positions)
    return [_problem(details, where) for details in error.errors(include_url=False)]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'roles'?` when a choice is close to `word`, else nothing."""
    close = difflib.get_close_matches(word[:100], sorted(choices), n=1, cutoff=0.8)
    return f"; did you mean {close[0]!r}?" if close else ""


def one_of(choices: Sequence[str]) -> str:
    """`a, b or c`."""
    names = list(choices)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def show(value: Any) -> str:
    """A value as a message may quote it: repr (escapes anything odd), cut short."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(details: ErrorDetails, where: Where) -> ConfigProblem:
    loc = tuple(details["loc"])
    on_key = bool(loc) and loc[-1] == _KEY
    path: YamlPath = loc[:-1] if on_key else loc
    about_key = on_key or details["type"] == "extra_forbidden"
    ref = where.key_at(path) if about_key else where.at(path)
    return problem_at(ref, dotted(path), _message(details, path, on_key))


def _message(details: ErrorDetails, path: YamlPath, on_key: bool) -> str:
    kind, value, ctx = details["type"], details.get("input"), details.get("ctx", {})
    if kind == "missing":
        return f"missing required key {path[-1]!r}"
    if kind == "extra_forbidden":
        return f"unknown key {path[-1]!r}" + _expected_keys(str(path[-1]), path[:-1])
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", ctx["expected"]) or [ctx["expected"]]
        return _not_allowed(value, allowed, path, on_key)
    if kind in ("value_error", "assertion_error"):
        return str(ctx["error"])
    if kind == "string_pattern_mismatch":
        return f"{show(value)} is not {PATTERN_HINTS.get(ctx['pattern'], 'in the expected form')}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _RANGE:
        words, bound = _RANGE[kind]
        return f"{show(value)} is out of range; expected {words} {ctx[bound]:g}"
    expected = _EXPECTED.get(kind)
    if expected:
        return f"expected {expected}, got {_kind(value)}" + _quote_hint(kind, value)
    return details["msg"]


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_RANGE = {
    "greater_than_equal": ("at least", "ge"),
    "less_than_equal": ("at most", "le"),
    "greater_than": ("more than", "gt"),
    "less_than": ("less than", "lt"),
}


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {show(value)}"
    if isinstance(value, date):
        return f"the date {value}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    return "a list" if isinstance(value, list) else "a mapping"


def _quote_hint(kind: str, value: Any) -> str:
    # YAML reads `no`, `1.5` and `2027-01-31` as a boolean, a number and a date.
    if kind == "string_type" and isinstance(value, bool | float | date):
        return "; put it in quotes if it is meant as text"
    return ""


def _not_allowed(value: Any, allowed: list[str], path: YamlPath, on_key: bool) -> str:
    if isinstance(value, list | dict):
        return f"expected {one_of(allowed)}, got {_kind(value)}"
    expected = f"expected {one_of(allowed)}" + did_you_mean(str(value), allowed)
    if on_key:
        return f"unknown key {show(value)}; {expected}"
    if set(allowed) == set(ASM_ROLES):
        noun = "a role"
    elif path == ("version",):
        noun = "a supported version"
    else:
        noun = f"a valid {next((p for p in reversed(path) if isinstance(p, str)), 'value')}"
    return f"{show(value)} is not {noun}; {expected}"


def _expected_keys(key: str, parent: YamlPath) -> str:
    fields = list(_model_at(parent).model_fields)
    hint = did_you_mean(key, fields)
    return hint or f"; expected {one_of(fields)}"


def _model_at(path: YamlPath) -> type[BaseModel]:
    """The model that validates the mapping at `path` (pydantic reports unknown keys only there)."""
    current: Any = Config
    for part in path:
        if is_model(current):
            current = current.model_fields[str(part)].annotation
        else:  # a list index or a mapping key: step to the item type
            current = get_args(current)[-1]
        current = _without_none(current)
    model: type[BaseModel] = current
    return model


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        return next(a for a in get_args(annotation) if a is not type(None))
    return annotation
