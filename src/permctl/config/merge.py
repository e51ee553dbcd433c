"""Several files into one desired state.

Each file is validated on its own first, so every item keeps its file and line. Then: mapping
fields (meshes, teams) are a union, where one name declared twice must mean the same; list
fields (principals, assignments) are concatenated, duplicates being the business of `checks`;
every other field (settings, cloudsso.directory, scope, prune_unlisted, ...) is given in one
file, or in several that agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel

from permctl.config.schema import Config, Located
from permctl.errors import ConfigProblem

_SECTIONS = frozenset({"asm", "cloudsso", "drift"})
_NOUNS = {"meshes": "mesh alias", "teams": "team"}

_L = TypeVar("_L", bound=Located)


def merge(configs: Sequence[Config]) -> tuple[Config, list[ConfigProblem]]:
    """One Config from several, and every disagreement between them."""
    if len(configs) == 1:
        return configs[0], []
    problems: list[ConfigProblem] = []
    return _merge(Config, configs, problems), problems


def _merge(model: type[_L], parts: Sequence[_L], problems: list[ConfigProblem]) -> _L:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in _SECTIONS:
            values[name] = _merge_sections(parts, name, problems)
        elif get_origin(info.annotation) is list:
            values[name] = [item for part in parts for item in getattr(part, name)]
        elif get_origin(info.annotation) is dict:
            values[name] = _union(parts, name, problems)
        else:
            values[name] = _agreed(parts, name, problems)
    # The parts were validated file by file; a field left to another file (cloudsso.directory)
    # is checked once merged, in `checks`.
    merged = model.model_construct(**values)
    merged.merge_sources(list(parts))
    return merged


def _merge_sections(parts: Sequence[Located], name: str, problems: list[ConfigProblem]) -> Any:
    sections: list[Located] = [s for part in parts if (s := getattr(part, name)) is not None]
    return _merge(type(sections[0]), sections, problems) if sections else None


def _agreed(parts: Sequence[Located], name: str, problems: list[ConfigProblem]) -> Any:
    given = [part for part in parts if name in part.model_fields_set]
    if not given:
        return getattr(parts[0], name)
    first = given[0]
    for other in given[1:]:
        if _plain(getattr(other, name)) != _plain(getattr(first, name)):
            message = (
                f"differs from {first.field_source(name)}; "
                "give it in one file or make the files agree"
            )
            problems.append(other.problem(message, name))
    return getattr(first, name)


def _union(parts: Sequence[Located], name: str, problems: list[ConfigProblem]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    owners: dict[str, Located] = {}
    for part in parts:
        for key, value in getattr(part, name).items():
            if key not in merged:
                merged[key], owners[key] = value, part
            elif _plain(value) != _plain(merged[key]):
                first = owners[key].field_source(name, key)
                message = (
                    f"{_NOUNS.get(name, 'key')} {key!r} is declared differently at {first}; "
                    "declare it once or make the declarations agree"
                )
                problems.append(part.problem(message, name, key))
    return merged


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value
