"""RAM policy documents, as an access configuration's inline policy holds them: their shape,
and one normal form in which two documents that grant the same are equal.

The normal form sorts and de-duplicates every list, writes a single Action or Resource as a
list of one, and keeps key order out of it: a document edited in the console compares equal
to the file's as long as it grants the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# AddPermissionPolicyToAccessConfigurationRequest.InlinePolicyDocument (and
# UpdateInlinePolicyForAccessConfigurationRequest.NewInlinePolicyDocument) in
# alibabacloud_cloudsso20210515: "The value can be up to 4,096 characters in length."
MAX_INLINE_POLICY_CHARS = 4096
EFFECTS = ("Allow", "Deny")
LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
STATEMENT_FIELDS = ("Sid", "Effect", *LIST_FIELDS, "Condition")

Path = tuple[str | int, ...]


def shape_problems(document: Any) -> Iterator[tuple[Path, str]]:
    """Where (a path inside the document) and what is wrong with its shape."""
    if not isinstance(document, Mapping):
        yield (), "an inline policy is a mapping with Version and Statement"
        return
    for key in document:
        if key not in ("Version", "Statement"):
            yield (key,), f"unknown key {key!r}; a policy has Version and Statement"
    if not isinstance(document.get("Version"), str):
        yield ("Version",), 'Version is required, a string such as "1"'
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        yield ("Statement",), "Statement is required, a list of one or more statements"
        return
    for index, statement in enumerate(statements):
        for path, message in _statement_problems(statement):
            yield ("Statement", index, *path), message


def _statement_problems(statement: Any) -> Iterator[tuple[Path, str]]:
    if not isinstance(statement, Mapping):
        yield (), "a statement is a mapping with Effect, Action and Resource"
        return
    for key in statement:
        if key not in STATEMENT_FIELDS:
            yield (key,), f"unknown key {key!r}; a statement has {', '.join(STATEMENT_FIELDS)}"
    if statement.get("Effect") not in EFFECTS:
        yield ("Effect",), "Effect is required: Allow or Deny"
    for pair in (("Action", "NotAction"), ("Resource", "NotResource")):
        given = [key for key in pair if key in statement]
        if len(given) != 1:
            yield (pair[0],), f"give exactly one of {pair[0]} or {pair[1]}"
    for key in LIST_FIELDS:
        if key in statement and not _strings(statement[key]):
            yield (key,), f"{key} is a string or a non-empty list of strings"
    condition = statement.get("Condition")
    if condition is not None and not (
        isinstance(condition, Mapping) and all(isinstance(v, Mapping) for v in condition.values())
    ):
        yield ("Condition",), "Condition is a mapping of operator -> {key: value(s)}"


def _strings(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def normalize(document: Mapping[str, Any]) -> dict[str, Any]:
    """The normal form of a document whose shape is valid."""
    return {
        "Version": str(document.get("Version", "1")),
        "Statement": sorted(
            (_normal_statement(s) for s in document.get("Statement", [])), key=canonical
        ),
    }


def _normal_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    normal: dict[str, Any] = {k: statement[k] for k in ("Sid", "Effect") if k in statement}
    for key in LIST_FIELDS:
        if key in statement:
            normal[key] = as_list(statement[key])
    if statement.get("Condition"):
        normal["Condition"] = {
            operator: {key: _condition_values(v) for key, v in entries.items()}
            for operator, entries in statement["Condition"].items()
        }
    return normal


def as_list(value: str | list[str]) -> list[str]:
    return sorted({value} if isinstance(value, str) else set(value))


def _condition_values(value: Any) -> list[Any]:
    """A condition's value(s), scalars as written, sorted: `"x"` and `["x"]` are one value."""
    values = value if isinstance(value, list) else [value]
    return [json.loads(v) for v in sorted({canonical(v) for v in values})]


def canonical(document: Any) -> str:
    """Compact JSON with sorted keys: what is compared, digested and sent."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_policy(document: Mapping[str, Any]) -> str:
    return canonical(normalize(document))


def parse(text: str) -> Any:
    """A document given as JSON text (as the API returns it, or as a file may write it)."""
    return json.loads(text)
