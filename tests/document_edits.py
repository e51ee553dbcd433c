"""Hand edits of a parsed document (a YAML file, a saved plan), as fuzz tests draw them: values
replaced, dropped, added or repeated anywhere in it, mostly leaving it almost valid."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st


def children(data: Any) -> list[tuple[Any, Any]]:
    """(key or index, value) of each entry of a mapping or list; none for anything else."""
    if isinstance(data, dict):
        return list(data.items())
    return list(enumerate(data)) if isinstance(data, list) else []


def containers(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every mapping and list in the document."""
    found = [path] if isinstance(data, dict | list) else []
    for key, value in children(data):
        found += containers(value, (*path, key))
    return found


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def edits(
    draw: st.DrawFn,
    document: Any,
    values: st.SearchStrategy[Any],
    keys: st.SearchStrategy[str],
    most: int = 4,
) -> Any:
    """A copy of `document` with one to `most` edits, each replacing, dropping, adding (a value
    from `values`, under a key from `keys`) or repeating an entry of a mapping or list."""
    data = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, most))):
        target = at(data, draw(st.sampled_from(containers(data))))
        entries = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["replace", "drop", "add", "repeat"]))
        if not entries or action == "add":
            if isinstance(target, dict):
                target[draw(keys)] = draw(values)
            else:
                target.append(draw(values))
            continue
        entry = draw(st.sampled_from(entries))
        if action == "replace":
            target[entry] = draw(values)
        elif action == "drop":
            del target[entry]
        elif isinstance(target, list):
            target.append(copy.deepcopy(target[entry]))
    return data
