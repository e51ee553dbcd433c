"""Reading one YAML file into plain data, safely, remembering where every value was written.

The file is untrusted input. Before any Python value is built: the size is capped, the bytes
must be UTF-8, and only the pure-Python SafeLoader is used (libyaml's C loader can crash the
process on deeply nested input). Its composer recurses once per nesting level, so depth is
refused as the parser reports each collection start, before that collection is composed; and it
keeps every node in memory with its position (hundreds of bytes each), so the values written are
counted as they are composed and refused past a cap, long before a 5 MiB file of tiny values
costs gigabytes. Aliases are capped twice: how many the file writes, and how many nodes they
expand to, which is what stops a "billion laughs" file. Only the plain YAML types are accepted,
no tags that build objects. Duplicate mapping keys, which PyYAML silently resolves to the last
one, are errors, and so is text that could pass for another name (see `lookalikes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from permctl.config.lookalikes import lookalike_problem
from permctl.config.sources import Positions, YamlPath, dotted, problem_at
from permctl.errors import ConfigError, ConfigProblem
from permctl.vocabulary import SourceRef

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 100_000  # after expanding aliases

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_YAML + t for t in ("null", "bool", "int", "float", "str", "timestamp"))
_MAP_TAG = _YAML + "map"
_SEQ_TAG = _YAML + "seq"
_MERGE_TAG = _YAML + "merge"


class WrittenInt(int):
    """A YAML integer that remembers how it was written.

    Ids are often all digits and users leave them unquoted; a field that wants text takes the
    digits as written, so `0123` stays "0123" instead of becoming the octal number 83.
    """

    written: str

    def __new__(cls, value: int, written: str) -> WrittenInt:
        number = super().__new__(cls, value)
        number.written = written
        return number


@dataclass(frozen=True)
class Document:
    """A file's data and positions, and what was wrong in it as YAML (duplicate keys,
    unsupported tags, control characters: the offending value is left out of `data`)."""

    data: dict[str, Any]
    positions: Positions
    problems: tuple[ConfigProblem, ...] = ()


def read_document(path: Path) -> Document:
    """Read and build one file; raises ConfigError when it cannot be read as YAML at all."""
    name = str(path)
    text = _decode(_read_bytes(path, name), name)
    root = _compose(text, name)
    if not isinstance(root, MappingNode):
        raise ConfigError([_not_a_mapping(name, root)])
    builder = _Builder(name)
    data = builder.build(root)
    return Document(data, Positions(name, builder.values, builder.keys), tuple(builder.problems))


def _not_a_mapping(name: str, root: Node | None) -> ConfigProblem:
    if root is None:
        found, ref = "an empty file", SourceRef(name, 1, 1)
    else:
        found = "a list" if isinstance(root, SequenceNode) else "a single value"
        ref = _ref(name, root)
    return problem_at(ref, "", f"expected a mapping starting with `version: 1`, found {found}")


def _file_problem(name: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(name, 0, 0, "", message)])


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _file_problem(name, "no such file") from None
    except IsADirectoryError:
        raise _file_problem(name, "is a directory; give the directory to expand_paths") from None
    except OSError as error:
        raise _file_problem(name, f"cannot be read: {error.strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise _file_problem(name, f"is larger than {limit} MiB; split it into several files")
    return raw


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - line_start + 1
        message = f"is not UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8"
        raise ConfigError([ConfigProblem(name, line, column, "", message)]) from None


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader (pure Python) that refuses deep nesting and many aliases while composing."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.aliases = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _LimitExceeded(event.start_mark, f"more than {MAX_ALIASES} aliases (*name)")
        else:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise _LimitExceeded(
                    event.start_mark,
                    f"more than {MAX_NODES} values long; split it into several files",
                )
        is_collection = isinstance(event, CollectionStartEvent)
        self.depth += is_collection
        if self.depth > MAX_DEPTH:
            raise _LimitExceeded(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= is_collection


class _LimitExceeded(Exception):
    def __init__(self, mark: Any, what: str) -> None:
        super().__init__(what)
        self.mark = mark
        self.what = what


def _compose(text: str, name: str) -> Node | None:
    try:
        loader = _GuardedLoader(text)
    except yaml.reader.ReaderError as error:
        raise ConfigError([_reader_problem(name, text, error)]) from None
    try:
        return loader.get_single_node()
    except _LimitExceeded as error:
        message = f"refused: the file is {error.what}"
        raise ConfigError([_mark_problem(name, error.mark, message)]) from None
    except yaml.MarkedYAMLError as error:
        raise ConfigError([_syntax_problem(name, error)]) from None
    finally:
        loader.dispose()


def _reader_problem(name: str, text: str, error: yaml.reader.ReaderError) -> ConfigProblem:
    line = text.count("\n", 0, error.position) + 1
    column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
    message = f"invalid YAML: the character U+{error.character:04X} is not allowed in a YAML file"
    return ConfigProblem(name, line, column, "", message)


def _syntax_problem(name: str, error: yaml.MarkedYAMLError) -> ConfigProblem:
    mark = error.problem_mark or error.context_mark
    problem, context = error.problem or "", error.context or ""
    if problem.startswith("but ") or not problem:
        # PyYAML splits one sentence: "expected a single document", "but found another".
        message = ", ".join(part for part in (context, problem) if part)
    else:
        message = problem
        if context and error.context_mark:
            message += f" ({context} at line {error.context_mark.line + 1})"
    if mark is None:
        return ConfigProblem(name, 0, 0, "", f"invalid YAML: {message}")
    return _mark_problem(name, mark, f"invalid YAML: {message}")


def _mark_problem(name: str, mark: yaml.Mark, message: str) -> ConfigProblem:
    return ConfigProblem(name, mark.line + 1, mark.column + 1, "", message)


def _ref(name: str, node: Node) -> SourceRef:
    return SourceRef(name, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain dicts, lists and scalars, recording each position."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: dict[YamlPath, SourceRef] = {}
        self.keys: dict[YamlPath, SourceRef] = {}
        self.problems: list[ConfigProblem] = []
        self.nodes = 0
        self._scalars = yaml.SafeLoader("")

    def build(self, node: Node, path: YamlPath = (), depth: int = 1) -> Any:
        # Aliases share nodes, so a small file can expand into a huge (or, through a recursive
        # anchor, endless) tree: count what is built, not what was written.
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            what = (
                f"expands to more than {MAX_NODES} values"
                if self.nodes > MAX_NODES
                else f"nests more than {MAX_DEPTH} levels deep"
            )
            message = f"refused: through its aliases the file {what}"
            raise ConfigError([problem_at(_ref(self.name, node), dotted(path), message)])
        self.values[path] = _ref(self.name, node)
        if isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            return self._scalar(node, path)
        self._problem(node, path, f"the tag {node.tag} is not supported; write plain YAML values")
        return None

    def _mapping(self, node: MappingNode, path: YamlPath, depth: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in data:
                first = self.keys[child]
                message = f"duplicate key {key!r} (first at {first}); keep one"
                self._problem(key_node, child, message)
                continue
            self.keys[child] = _ref(self.name, key_node)
            data[key] = self.build(value_node, child, depth + 1)
        return data

    def _key(self, node: Node, path: YamlPath) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _MERGE_TAG:
            self._problem(node, path, "merge keys (<<) are not supported; write the keys out")
        elif not isinstance(node, ScalarNode):
            self._problem(node, path, "a key must be a plain name, not a list or mapping")
        elif self._plain_text(node, path, node.value):
            # Keys are names (aliases, teams, fields): keep them as written, so `yes:` or `1:`
            # stay the text the user typed.
            return str(node.value)
        return None

    def _scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        try:
            value = self._scalars.construct_object(node)
        except (ValueError, yaml.YAMLError):
            # e.g. 2027-02-30 looks like a date but is none: keep the text for validation to
            # report against the field that wanted a date.
            return node.value
        if isinstance(value, str):
            return value if self._plain_text(node, path, value) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return WrittenInt(value, node.value)
        return value

    def _plain_text(self, node: Node, path: YamlPath, text: str) -> bool:
        message = lookalike_problem(text)
        bad = next((c for c in text if not c.isprintable()), None)
        if message is None and bad is not None:
            message = f"contains the control character U+{ord(bad):04X}; write plain text"
        if message is not None:
            self._problem(node, path, message)
        return message is None

    def _problem(self, node: Node, path: YamlPath, message: str) -> None:
        self.problems.append(problem_at(_ref(self.name, node), dotted(path), message))
