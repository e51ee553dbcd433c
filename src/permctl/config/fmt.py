"""Desired-state files in canonical key order and style, comments kept.

Keys of every mapping the file format defines (the file, `settings`, a principal, an
assignment...) are put in the order the models declare their fields, read from the JSON Schema
published with the package (a test keeps it the models'); keys that are data (mesh aliases, team
names) keep the order they were written in. Reordering moves whole lines: a key, its value, and
the comment and blank lines directly above it travel together, so a comment stays with what it
describes. ruamel.yaml then writes the result back in one indentation style (mappings by 2, list
dashes indented by 2 under their key), keeping comments, quotes and flow mappings such as
`{prod: istio-admin}` as written.

Before anything is returned the formatted text is read back and compared with the original
data: formatting never changes what a file means.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from permctl.config.reference import REF_PREFIX, published_schema
from permctl.config.yamlload import read_document
from permctl.errors import ConfigError, PermctlError


@dataclass(frozen=True)
class Formatted:
    """A file before and after formatting."""

    path: Path
    original: str
    formatted: str

    @property
    def changed(self) -> bool:
        return self.original != self.formatted


def format_file(path: Path) -> Formatted:
    """Format one file (not written back). Raises ConfigError when it is not readable YAML."""
    document = read_document(path)  # the same size, depth and alias guards as every command
    if document.problems:
        raise ConfigError(list(document.problems))
    original = path.read_text(encoding="utf-8")
    return Formatted(path, original, format_text(original, str(path)))


def format_text(text: str, name: str = "<text>") -> str:
    """`text` formatted. It must be text that `read_document` accepted: its size, depth and
    alias guards stand in front of the parsers used here, which have none."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    source = "".join(lines)
    rt = _round_trip()
    try:
        tree = rt.load(source)
        _reorder(tree, _Shape.of_file(), lines)
        reordered = "".join(lines)
        if reordered != source:  # lines moved: the tree written out must be read from them
            tree = rt.load(reordered)
        out = io.StringIO()
        rt.dump(tree, out)
    except YAMLError as error:
        raise PermctlError(
            f"{name} is not valid YAML ({_first_line(error)}); fix it first"
        ) from None
    formatted = out.getvalue()
    if _meaning(formatted) != _meaning(text):
        raise PermctlError(
            f"{name} could not be formatted without changing its meaning; it was left as it is"
        )
    return formatted


def _round_trip() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long values or flow mappings
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


# libyaml's loader, where PyYAML was built with it, reads a file ten times faster than the pure
# Python one. It can crash the process on deeply nested input, which format_text's callers have
# refused before (see format_text).
_FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _meaning(text: str) -> Any:
    """The plain data a YAML text stands for: what formatting must never change."""
    return yaml.load(text, Loader=_FAST_SAFE_LOADER)


def _first_line(error: YAMLError) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@dataclass(frozen=True)
class _Shape:
    """What the file format says about a node: a mapping whose keys it defines (`keys`, each
    with its schema, in their order), or a list or mapping whose items or values have the shape
    `items`, or nothing (plain data)."""

    keys: Mapping[str, Any] | None = None
    items: _Shape | None = None
    definitions: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of_file(cls) -> _Shape:
        # The published schema, not the models': building them would cost more than formatting.
        schema = published_schema()
        return cls.of(schema, schema.get("$defs", {}))

    @classmethod
    def of(cls, schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> _Shape:
        schema = _unwrapped(schema, definitions)
        if "properties" in schema:
            return cls(keys=schema["properties"], definitions=definitions)
        values = schema.get("items", schema.get("additionalProperties"))
        if schema.get("type") in ("array", "object") and isinstance(values, dict):
            return cls(items=cls.of(values, definitions))
        return cls()

    def field(self, key: object) -> _Shape:
        if self.keys is not None and isinstance(key, str) and key in self.keys:
            return _Shape.of(self.keys[key], self.definitions)
        return _Shape()


def _unwrapped(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    """A reference is the definition it names; `X or null` is X; an object written either as
    a plain value or as a mapping (a mesh: its id, or a mapping with the id) is the mapping."""
    while True:
        if "$ref" in schema:
            schema = definitions[schema["$ref"].removeprefix(REF_PREFIX)]
            continue
        options = [o for o in schema.get("anyOf", ()) if o.get("type") != "null"]
        chosen = options if len(options) == 1 else [o for o in options if "properties" in o]
        if len(chosen) != 1:
            return schema
        schema = chosen[0]


def _reorder(node: Any, shape: _Shape, lines: list[str]) -> None:
    """Children first: each reordering permutes lines inside one block of its parent, so the
    parent's blocks, computed from the original line numbers, still hold the same lines."""
    for child, child_shape in _children(node, shape):
        _reorder(child, child_shape, lines)
    if isinstance(node, CommentedMap) and shape.keys is not None and not node.fa.flow_style():
        _reorder_mapping(node, list(shape.keys), lines)


def _children(node: Any, shape: _Shape) -> Iterator[tuple[Any, _Shape]]:
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            yield value, shape.items if shape.items is not None else shape.field(key)
    elif isinstance(node, CommentedSeq):
        for value in node:
            yield value, shape.items or _Shape()


def _reorder_mapping(mapping: CommentedMap, canonical: list[str], lines: list[str]) -> None:
    keys = list(mapping.keys())
    rank = {key: canonical.index(key) if key in canonical else len(canonical) for key in keys}
    order = sorted(range(len(keys)), key=lambda i: (rank[keys[i]], i))
    if order == list(range(len(keys))):
        return
    key_lines = [mapping.lc.key(key)[0] for key in keys]
    column = mapping.lc.key(keys[0])[1]
    dash = _item_dash(lines[key_lines[0]], column)
    first_start = key_lines[0] if dash is not None else _leading_comments(lines, key_lines[0])
    starts = [first_start] + [_block_start(lines, line, column) for line in key_lines[1:]]
    ends = [*starts[1:], _content_end(lines, key_lines[-1], column) + 1]
    blocks = [lines[start:end] for start, end in zip(starts, ends, strict=True)]
    if dash is not None:
        blocks[0][0] = _set_char(blocks[0][0], dash, " ")
        first = order[0]
        key_at = key_lines[first] - starts[first]
        blocks[first][key_at] = _set_char(blocks[first][key_at], dash, "-")
    lines[starts[0] : ends[-1]] = [line for i in order for line in blocks[i]]


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_start(lines: list[str], key_line: int, column: int) -> int:
    """A key's block starts with the blank lines and comments above it, except comments indented
    deeper: those end the value before."""
    start = key_line
    while start > 0 and not _is_content(lines[start - 1]):
        above = lines[start - 1]
        if above.strip() and _indent(above) > column:
            break
        start -= 1
    return start


def _leading_comments(lines: list[str], key_line: int) -> int:
    """The first key takes the comment lines right above it, up to a blank line, unless they
    open the file: that is the file's header, which stays at the top."""
    start = key_line
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    return key_line if start == 0 else start


def _content_end(lines: list[str], last_key_line: int, column: int) -> int:
    """The last line of the mapping's last value: lines indented deeper than the keys, or a
    list written at the keys' own indentation."""
    end = last_key_line
    for number in range(last_key_line + 1, len(lines)):
        line = lines[number]
        if not _is_content(line):
            continue
        indent = _indent(line)
        if indent > column or (indent == column and line.lstrip(" ").startswith(("- ", "-\n"))):
            end = number
        else:
            break
    return end


def _item_dash(line: str, column: int) -> int | None:
    """Where the `-` is when the mapping is a list item written on the dash's line."""
    lead = line[:column]
    return lead.index("-") if lead.strip() == "-" else None


def _set_char(line: str, position: int, char: str) -> str:
    return line[:position] + char + line[position + 1 :]
