"""Reading untrusted YAML: limits, encodings, odd documents, none of which may crash permctl."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_cases import load_text, problems_in_text, problems_of

from permctl.config import expand_paths, load_files
from permctl.config.yamlload import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    text = "version: 1\n" + "#" * MAX_FILE_BYTES
    assert problems_in_text(tmp_path, text) == [
        "permissions.yaml is larger than 5 MiB; split it into several files"
    ]


def test_nesting_deeper_than_the_limit_is_refused_where_it_happens(tmp_path: Path) -> None:
    text = "version: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert problems_in_text(tmp_path, text) == [
        # The top-level mapping is the first level, `x`'s list the second, so the 64th `[`
        # (column 3 + 64) is one level too many.
        f"permissions.yaml:2:{3 + MAX_DEPTH} refused: the file is nested more than 64 levels deep"
    ]


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    text = "version: 1\nx: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    # Read, then refused only because `x` is not a key of the file.
    assert problems_in_text(tmp_path, text) == [
        "permissions.yaml:2:1 x: unknown key 'x'; expected version, settings, asm, cloudsso "
        "or drift"
    ]


def test_a_billion_laughs_file_is_refused(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    found = problems_in_text(tmp_path, "\n".join(lines) + "\n")
    # Aliases share nodes, so the place is where the shared list was written (a0, line 2) and
    # the path how far the expansion got.
    assert found == [
        "permissions.yaml:2:25 a5[0][2][1][7][5][3]: refused: through its aliases the file "
        "expands to more than 100000 values"
    ]


def test_more_aliases_than_the_limit_are_refused(tmp_path: Path) -> None:
    text = "version: 1\nx: &x 1\ny: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"
    found = problems_in_text(tmp_path, text)
    assert found == ["permissions.yaml:3:405 refused: the file is more than 100 aliases (*name)"]


def test_a_recursive_anchor_is_refused(tmp_path: Path) -> None:
    found = problems_in_text(tmp_path, "version: 1\nx: &loop [*loop]\n")
    assert found == [
        "permissions.yaml:2:4 x" + "[0]" * (MAX_DEPTH - 1) + ": refused: through its aliases the "
        "file nests more than 64 levels deep"
    ]


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "version: 1\n"
        "cloudsso:\n"
        "  directory: d-00fc2p61abcd\n"
        "  assignments:\n"
        "    - {access_configuration: A, accounts: &dev [dev-test], users: [bob]}\n"
        "    - {access_configuration: B, accounts: *dev, users: [carol]}\n",
    )
    assert config.cloudsso is not None
    assert config.cloudsso.assignments[1].accounts == ["dev-test"]


def test_tags_that_build_objects_are_refused(tmp_path: Path) -> None:
    text = "version: 1\nasm: !!python/object/apply:os.system [echo hacked]\n"
    assert problems_in_text(tmp_path, text) == [
        "permissions.yaml:2:6 asm: the tag tag:yaml.org,2002:python/object/apply:os.system is not "
        "supported; write plain YAML values"
    ]


def test_merge_keys_are_refused_rather_than_silently_ignored(tmp_path: Path) -> None:
    text = "version: 1\nbase: &b {region: cn-shanghai}\nsettings:\n  <<: *b\n"
    assert (
        "permissions.yaml:4:3 settings: merge keys (<<) are not supported; write the keys out"
        in problems_in_text(tmp_path, text)
    )


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    assert problems_in_text(tmp_path, b"version: 1\nasm:\n  meshes: {prod: caf\xe9}\n") == [
        "permissions.yaml:3:21 is not UTF-8 (byte 0xe9); save the file as UTF-8"
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfversion: 1\n")
    assert load_files([tmp_path / "bom.yaml"]).version == 1


def test_control_characters_in_values_are_refused(tmp_path: Path) -> None:
    text = 'version: 1\nasm:\n  principals:\n    - {name: "al\\u001b[31mice", ram_user: a}\n'
    assert problems_in_text(tmp_path, text) == [
        "permissions.yaml:4:14 asm.principals[0].name: contains the control character U+001B; "
        "write plain text"
    ]


def test_a_raw_nul_byte_is_invalid_yaml(tmp_path: Path) -> None:
    assert problems_in_text(tmp_path, b"version: 1\nx: a\x00b\n") == [
        "permissions.yaml:2:5 invalid YAML: the character U+0000 is not allowed in a YAML file"
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("", "an empty file"),
        ("# only a comment\n", "an empty file"),
        ("- version: 1\n", "a list"),
        ("just text\n", "a single value"),
    ],
)
def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str, found: str) -> None:
    assert problems_in_text(tmp_path, text) == [
        f"permissions.yaml:1:1 expected a mapping starting with `version: 1`, found {found}"
    ]


def test_a_yaml_syntax_error_points_at_the_problem(tmp_path: Path) -> None:
    assert problems_in_text(tmp_path, "version: 1\nasm:\n  meshes: {prod: a\n") == [
        "permissions.yaml:4:1 invalid YAML: expected ',' or '}', but got '<stream end>' "
        "(while parsing a flow mapping at line 3)"
    ]


def test_several_documents_in_one_file_are_refused(tmp_path: Path) -> None:
    found = problems_in_text(tmp_path, "version: 1\n---\nversion: 1\n")
    assert found == [
        "permissions.yaml:2:1 invalid YAML: expected a single document in the stream, but found "
        "another document"
    ]


def test_missing_files_and_empty_directories_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not yaml")
    assert problems_of(tmp_path / "missing.yaml", tmp_path / "empty") == [
        f"{tmp_path}/empty has no .yaml or .yml files",
        f"{tmp_path}/missing.yaml no such file or directory",
    ]


def test_no_file_at_all_is_a_config_error() -> None:
    with pytest.raises(Exception, match="no desired-state file was given"):
        load_files([])


def test_expand_paths_sorts_a_directory_and_keeps_files_in_the_given_order(tmp_path: Path) -> None:
    for name in ("b.yml", "a.yaml", "c.txt"):
        (tmp_path / name).write_text("version: 1\n")
    (tmp_path / "z.yaml").write_text("version: 1\n")
    assert expand_paths([tmp_path / "z.yaml", tmp_path]) == [
        tmp_path / "z.yaml",
        tmp_path / "a.yaml",
        tmp_path / "b.yml",
    ]
