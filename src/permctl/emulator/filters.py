"""CloudSSO list filters: `UserName eq alice`, `GroupName sw "platform "`.

A value is the rest of the filter, as the API pages show it (`UserName eq alice`). Whether a
double-quoted value (with backslash escapes) is unquoted, taken literally or refused is not
documented: `quotes` picks one, so that clients are tested against each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from permctl.emulator.errors import invalid

_FILTER = re.compile(r"^\s*(?P<attribute>\w+)\s+(?P<operator>\w+)\s+(?P<value>.*?)\s*$", re.S)
OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda candidate, value: candidate == value,
    "sw": lambda candidate, value: candidate.startswith(value),
}


@dataclass(frozen=True)
class Filter:
    attribute: str
    operator: str
    value: str

    def matches(self, candidate: str) -> bool:
        return OPERATORS[self.operator](candidate, self.value)


def parse_filter(text: str, attributes: Collection[str], quotes: str = "unquote") -> Filter:
    match = _FILTER.match(text)
    if match is None or not match["value"]:
        raise invalid("Filter", f"Filter {text!r} is not `Attribute operator value`.")
    operator = match["operator"].lower()
    if operator not in OPERATORS:
        raise invalid("Filter", f"Filter operator {match['operator']!r} is not eq or sw.")
    if match["attribute"] not in attributes:
        raise invalid(
            "Filter", f"Filter attribute {match['attribute']!r} is not {', '.join(attributes)}."
        )
    value = match["value"]
    if value.startswith('"') and quotes == "reject":
        raise invalid("Filter", f"Filter {text!r}: a value must not be quoted.")
    return Filter(
        match["attribute"], operator, value if quotes == "literal" else _unquote(value, text)
    )


def _unquote(value: str, text: str) -> str:
    if not value.startswith('"'):
        return value
    chars: list[str] = []
    escaped = False
    for index, char in enumerate(value[1:], start=1):
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            if index != len(value) - 1:
                break
            return "".join(chars)
        else:
            chars.append(char)
    raise invalid("Filter", f"Filter {text!r} has an unterminated or misplaced quote.")
