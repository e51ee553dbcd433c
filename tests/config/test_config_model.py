"""The API other stages use: the example file, typed values, positions, digest, schema, docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
from config_cases import load_text
from pydantic import ValidationError

from permctl.config import Config, PrincipalSpec, Role, load_files
from permctl.config.reference import (
    json_schema,
    markdown_reference,
    published_schema_text,
    schema_text,
)
from permctl.model import ASM_ROLES, PrincipalKind, SafetySettings, SourceRef

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"

PROD, STAGING, DEV = (
    "c57b848115458460583a4260cb713abc",
    "c4ec191f4e12145c09286ea3e2b8fabc",
    "d1e2f3a4b5c6d7e8f9a0b1c2d3e4fabc",
)


@pytest.fixture(scope="module")
def example() -> Config:
    return load_files([EXAMPLE])


def test_the_example_file_is_valid_and_uses_the_example_organisation(example: Config) -> None:
    assert example.asm is not None and example.cloudsso is not None
    assert {alias: mesh.id for alias, mesh in example.asm.meshes.items()} == {
        "prod": "c57b848115458460583a4260cb713abc",
        "staging": "c4ec191f4e12145c09286ea3e2b8fabc",
    }
    refs = {(p.kind, p.ref) for p in example.asm.principals}
    assert (PrincipalKind.RAM_USER, "278525736094801234") in refs
    assert (PrincipalKind.RAM_ROLE, "ci-deployer") in refs
    assert example.cloudsso.directory == "d-00fc2p61abcd"
    assert example.settings.safety.protected_principals == ["break-glass"]


def test_effective_roles_are_team_roles_with_explicit_ones(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: 1\n"
        "asm:\n"
        f"  meshes: {{prod: {PROD}, staging: {STAGING}, dev: {DEV}}}\n"
        "  teams: {readers: {prod: istio-readonly, staging: istio-readonly}}\n"
        "  principals:\n"
        "    - {name: dana, ram_role: dana, teams: [readers], roles: {dev: istio-admin}}\n",
    )
    assert config.asm is not None
    dana = config.asm.principals[0]
    assert config.asm.effective_roles(dana) == {
        "prod": "istio-readonly",
        "staging": "istio-readonly",
        "dev": "istio-admin",
    }
    assert (dana.kind, dana.ref) == (PrincipalKind.RAM_ROLE, "dana")


def test_unquoted_ids_are_kept_exactly_as_written(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: 1\n"
        "asm:\n"
        "  meshes: {prod: 12345678901234567890123456789012}\n"
        "  principals:\n"
        "    - {name: alice, ram_user: 278525736094801234}\n"
        "    - {name: zed, ram_user: 0123}\n"
        "settings: {safety: {protected_principals: [007]}}\n",
    )
    assert config.asm is not None
    assert [p.ref for p in config.asm.principals] == ["278525736094801234", "0123"]
    assert config.asm.meshes["prod"].id == "12345678901234567890123456789012"
    assert config.settings.safety.protected_principals == ["007"]


def test_a_mesh_may_name_the_role_to_assume_for_it(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: 1\n"
        "asm:\n"
        "  meshes:\n"
        "    prod:\n"
        "      id: c57b848115458460583a4260cb713abc\n"
        "      account: {assume_role: 'acs:ram::1234567890123456:role/permctl', external_id: x}\n",
    )
    assert config.asm is not None
    account = config.asm.meshes["prod"].account
    assert account is not None
    assert (account.assume_role, account.external_id, account.session_name) == (
        "acs:ram::1234567890123456:role/permctl",
        "x",
        "permctl",
    )


def test_items_know_where_they_and_their_fields_were_written(example: Config) -> None:
    assert example.asm is not None and example.cloudsso is not None
    alice = example.asm.principals[0]
    name = str(EXAMPLE)
    assert alice.source == SourceRef(name, 52, 7)
    assert alice.field_source("ram_user") == SourceRef(name, 53, 17)
    assert alice.field_source("teams", 0) == SourceRef(name, 54, 15)
    # A field the file leaves to its default points back at the item.
    assert alice.field_source("roles") == alice.source
    assert alice.field_path("teams", 0) == "asm.principals[0].teams[0]"
    third = example.cloudsso.assignments[2]
    assert third.field_source("accounts", 0) == SourceRef(name, 125, 18)


def test_a_principal_built_in_code_has_no_file() -> None:
    spec = PrincipalSpec(name="x", ram_user="x")
    assert spec.source.line == 0


def test_the_digest_follows_content_not_layout(tmp_path: Path) -> None:
    block = load_text(tmp_path, f"version: 1\nasm:\n  meshes:\n    prod: {PROD}\n", "a.yaml")
    flow = load_text(
        tmp_path, f"# comment\nasm: {{meshes: {{prod: {PROD}}}}}\nversion: 1\n", "b.yaml"
    )
    other = load_text(tmp_path, f"version: 1\nasm: {{meshes: {{prod: {STAGING}}}}}\n", "c.yaml")
    assert block.digest() == flow.digest()
    assert block.digest() != other.digest()
    assert len(block.digest()) == 64


def test_models_are_frozen(example: Config) -> None:
    with pytest.raises(ValidationError):
        example.version = 2  # type: ignore[misc]


def test_safety_settings_convert_to_the_domain_type(example: Config) -> None:
    assert example.settings.safety.as_settings() == SafetySettings(
        max_delete_percent=30.0,
        min_existing_for_threshold=10,
        protected_principals=frozenset({"break-glass"}),
    )


def test_the_schema_roles_are_the_domain_roles() -> None:
    assert set(get_args(Role)) == set(ASM_ROLES)


def _objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *schema["$defs"].values()]


def test_the_json_schema_describes_every_field_and_forbids_unknown_keys() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    for definition in _objects(schema):
        body = next((f for f in definition.get("anyOf", []) if "properties" in f), definition)
        assert body["additionalProperties"] is False
        for key, prop in body["properties"].items():
            assert prop.get("description"), key


def test_the_json_schema_accepts_a_mesh_written_as_its_bare_id() -> None:
    mesh = json_schema()["$defs"]["MeshSpec"]
    assert {"type": "string", "minLength": 1} in mesh["anyOf"]


def test_the_published_schema_is_the_models_schema() -> None:
    # `permctl schema` prints the copy published with the package, not the models' own.
    assert published_schema_text() == schema_text(json_schema()), (
        "run: python -m permctl.config.reference > src/permctl/config/permctl.schema.json"
    )


def test_the_file_reference_in_docs_is_generated_from_the_models() -> None:
    committed = (REPO / "docs" / "file-reference.md").read_text(encoding="utf-8")
    assert committed == markdown_reference(json_schema()), (
        "run: python -m permctl.config.reference > src/permctl/config/permctl.schema.json; "
        "permctl schema --markdown > docs/file-reference.md"
    )
