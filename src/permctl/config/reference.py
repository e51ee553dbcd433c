"""The file's documentation, built from the models: the JSON Schema and a Markdown reference.

Both come from the same field descriptions, so the editor tooltip, the reference page and the
code cannot drift apart (a test checks docs/file-reference.md against `markdown_reference()`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from permctl.config.schema import Config

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "permctl desired state"
_REF_PREFIX = "#/$defs/"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one desired-state file, for editors and other tools."""
    schema = Config.model_json_schema()
    return {"$schema": SCHEMA_DIALECT, **schema, "title": TITLE}


def markdown_reference() -> str:
    """Every object of the file with its keys, types, defaults and descriptions."""
    schema = json_schema()
    definitions = schema.get("$defs", {})
    lines = [
        "# The desired-state file, key by key",
        "",
        "Generated from the models by `permctl schema --markdown`; do not edit by hand.",
        "`permissions.yaml.example` shows every section in use.",
    ]
    for name in _names_in_reading_order(schema, definitions):
        lines += _section(name, schema if name == "Config" else definitions[name])
    return "\n".join(lines) + "\n"


def _names_in_reading_order(root: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    """Config first, then each object in the order the file first mentions it."""
    order = ["Config"]
    pending = [root]
    while pending:
        for name in _refs(pending.pop(0)):
            if name not in order:
                order.append(name)
                pending.append(definitions[name])
    return order


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.removeprefix(_REF_PREFIX)
        for key, value in node.items():
            if key != "$defs":
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _section(name: str, definition: dict[str, Any]) -> list[str]:
    lines = ["", f"## {name}", ""]
    if definition.get("description"):
        lines += [definition["description"], ""]
    form = definition.get("anyOf")
    if form:  # a mesh: an id, or a mapping with the id
        definition = next(f for f in form if f.get("type") == "object")
        lines += ["Written either as a plain id or as a mapping with these keys:", ""]
    required = set(definition.get("required", []))
    lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, prop in definition.get("properties", {}).items():
        default = "required" if key in required else _default(prop)
        cells = [f"`{key}`", _type(prop), default, prop.get("description", "")]
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )
    return lines


def _default(prop: dict[str, Any]) -> str:
    if "default" in prop:
        return f"`{json.dumps(prop['default'])}`"
    # Defaults made by a factory are not in the schema; say what they are.
    if prop.get("type") == "array":
        return "`[]`"
    if prop.get("type") == "object":
        return "`{}`"
    if "$ref" in prop:
        return "its defaults"
    return "required in one of the files"


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].removeprefix(_REF_PREFIX)
        return f"[{name}](#{name.lower()})"
    if "anyOf" in prop:
        kinds = [_type(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(kinds)
    if "enum" in prop or "const" in prop:
        values = prop.get("enum", [prop.get("const")])
        return " or ".join(f"`{v}`" for v in values)
    kind = prop.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_type(prop['items'])}"
    if kind == "object":
        return f"mapping of name to {_type(prop.get('additionalProperties', {}))}"
    if prop.get("format") == "date":
        return "date (YYYY-MM-DD)"
    return str(kind or "any")
