"""The file's documentation, built from the models: the JSON Schema and a Markdown reference.

Both come from the same field descriptions, so the editor tooltip, the reference page and the
code cannot drift apart (a test checks docs/file-reference.md against the Markdown reference of
the models' schema).

The JSON Schema is also published with the package, next to this module, and `permctl schema`
prints that copy: building it from the models means building every model first, which costs
more than the rest of the command. A test keeps the copy equal to the models'; after changing a
model, regenerate it with

    python -m permctl.config.reference > src/permctl/config/permctl.schema.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "permctl desired state"
PUBLISHED_SCHEMA = Path(__file__).with_name("permctl.schema.json")
REF_PREFIX = "#/$defs/"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one desired-state file, for editors and other tools."""
    from permctl.config.schema import Config  # builds the models: see the module's docstring

    schema = Config.model_json_schema()
    return {"$schema": SCHEMA_DIALECT, **schema, "title": TITLE}


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as `permctl schema` prints it and the package publishes it."""
    return json.dumps(schema, indent=2) + "\n"


def published_schema_text() -> str:
    """The schema published with the package: `schema_text(json_schema())`, already written."""
    return PUBLISHED_SCHEMA.read_text(encoding="utf-8")


def published_schema() -> dict[str, Any]:
    """The schema published with the package, read."""
    schema: dict[str, Any] = json.loads(published_schema_text())
    return schema


def markdown_reference(schema: dict[str, Any]) -> str:
    """Every object of the file with its keys, types, defaults and descriptions."""
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
            yield ref.removeprefix(REF_PREFIX)
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
        name = prop["$ref"].removeprefix(REF_PREFIX)
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


if __name__ == "__main__":
    sys.stdout.write(schema_text(json_schema()))
