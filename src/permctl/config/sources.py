"""Where things were written: positions recorded while reading YAML, and views of them per item.

A `Positions` table belongs to one file and maps a YAML path such as
`("asm", "principals", 2, "roles", "prod")` to the place its value (and, for mapping entries, its
key) was written. A `Where` is what a model item keeps: the table and the item's own path, so
`where.at(("roles", "prod"))` answers relative to the item. A section merged from several files
keeps one view per file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from permctl.errors import ConfigProblem
from permctl.vocabulary import SourceRef

YamlPath = tuple[str | int, ...]

NOWHERE = SourceRef("<not from a file>", 0, 0)


@dataclass(frozen=True)
class Positions:
    """Every node of one file: `values[path]` where the value starts, `keys[path]` its key."""

    file: str
    values: Mapping[YamlPath, SourceRef] = field(default_factory=dict)
    keys: Mapping[YamlPath, SourceRef] = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    positions: Positions
    prefix: YamlPath


@dataclass(frozen=True)
class Where:
    """An item's place in one or more files (more than one only for merged sections).

    A merged section answers for what it merged by name (meshes, teams, single settings);
    list items such as principals carry their own `Where`, so ask them, not the section.
    """

    views: tuple[View, ...] = ()

    @classmethod
    def of(cls, positions: Positions, prefix: YamlPath = ()) -> Where:
        return cls((View(positions, prefix),))

    def at(self, path: YamlPath = ()) -> SourceRef:
        """Where the value at `path` starts; a path the file does not spell out (a missing key,
        a default) answers with its closest written parent."""
        for end in range(len(path), -1, -1):
            for view in self.views:
                ref = view.positions.values.get(view.prefix + path[:end])
                if ref is not None:
                    return ref
        return NOWHERE

    def key_at(self, path: YamlPath) -> SourceRef:
        """Where the mapping key that ends `path` was written (falls back to `at`)."""
        for view in self.views:
            ref = view.positions.keys.get(view.prefix + path)
            if ref is not None:
                return ref
        return self.at(path)

    def dotted(self, path: YamlPath = ()) -> str:
        prefix = self.views[0].prefix if self.views else ()
        return dotted(prefix + path)

    def merged_with(self, other: Where) -> Where:
        return Where(self.views + other.views)


def dotted(path: YamlPath) -> str:
    """`("asm", "principals", 2, "roles", "prod")` -> `asm.principals[2].roles.prod`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def problem_at(ref: SourceRef, path: str, message: str) -> ConfigProblem:
    return ConfigProblem(ref.file, ref.line, ref.column, path, message)
