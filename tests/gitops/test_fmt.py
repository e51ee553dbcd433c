"""`permctl fmt`: canonical key order and style, comments kept, meaning never changed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.config.fmt import format_text
from permctl.errors import PermctlError

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"

runner = CliRunner()

SCRAMBLED = """\
# permissions for the platform team

# the meshes and who holds what
asm:
  # people first
  principals:
  - ram_user: "278525736094801234"   # alice's id, quoted
    teams: [admins]
    # she is the label in plans
    name: alice
  - name: bob
    roles: {staging: istio-ops, prod: istio-readonly}
    ram_user: bob

  # aliases in the order we like
  meshes:
    staging: c4ec191f4e12145c09286ea3e2b8fabc
    prod: c57b848115458460583a4260cb713abc
  teams:
    admins: {prod: istio-admin, staging: istio-admin}
settings:
  safety:
    protected_principals: [break-glass]
    max_delete_percent: 30
  region: cn-shanghai
# always 1
version: 1
"""

CANONICAL = """\
# permissions for the platform team

# always 1
version: 1
settings:
  region: cn-shanghai
  safety:
    max_delete_percent: 30
    protected_principals: [break-glass]
# the meshes and who holds what
asm:

  # aliases in the order we like
  meshes:
    staging: c4ec191f4e12145c09286ea3e2b8fabc
    prod: c57b848115458460583a4260cb713abc
  teams:
    admins: {prod: istio-admin, staging: istio-admin}
  # people first
  principals:
    # she is the label in plans
    - name: alice
      ram_user: "278525736094801234" # alice's id, quoted
      teams: [admins]
    - name: bob
      ram_user: bob
      roles: {staging: istio-ops, prod: istio-readonly}
"""


def test_the_example_file_is_already_canonical() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert format_text(text) == text


def test_keys_follow_the_file_format_and_comments_travel_with_their_key() -> None:
    assert format_text(SCRAMBLED) == CANONICAL


def test_formatting_keeps_the_data_and_is_stable() -> None:
    formatted = format_text(SCRAMBLED)
    assert yaml.safe_load(formatted) == yaml.safe_load(SCRAMBLED)
    assert format_text(formatted) == formatted


def test_lists_are_indented_under_their_key() -> None:
    text = "version: 1\ncloudsso:\n  assignments:\n  - access_configuration: ReadOnly\n"
    text += "    users:\n    - bob\n    accounts: [dev]\n"
    assert format_text(text) == (
        "version: 1\ncloudsso:\n  assignments:\n    - access_configuration: ReadOnly\n"
        "      accounts: [dev]\n      users:\n        - bob\n"
    )


def test_keys_the_format_does_not_know_stay_after_the_known_ones() -> None:
    text = "colour: blue\nversion: 1\n"
    assert format_text(text) == "version: 1\ncolour: blue\n"


def test_invalid_yaml_is_one_sentence_naming_the_file() -> None:
    with pytest.raises(PermctlError, match=r"^team\.yaml is not valid YAML \(.*\); fix it first$"):
        format_text("version: 1\nasm: [\n", "team.yaml")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_lists_files_that_would_change_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    scrambled = write(tmp_path, "a.yaml", SCRAMBLED)
    write(tmp_path, "b.yaml", CANONICAL)
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout == f"{scrambled}\n"
    assert result.stderr == f"1 file would be reformatted; run: permctl fmt {scrambled}\n"
    assert scrambled.read_text(encoding="utf-8") == SCRAMBLED


def test_check_passes_on_formatted_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fmt", "--check", str(write(tmp_path, "a.yaml", CANONICAL))])
    assert (result.exit_code, result.stdout) == (0, "")


def test_fmt_rewrites_files_in_place(tmp_path: Path) -> None:
    scrambled = write(tmp_path, "a.yaml", SCRAMBLED)
    result = runner.invoke(app, ["fmt", str(scrambled)])
    assert result.exit_code == 0
    assert result.stdout == f"reformatted {scrambled}\n"
    assert scrambled.read_text(encoding="utf-8") == CANONICAL


def test_a_broken_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    broken = write(tmp_path, "a.yaml", "version: 1\nversion: 2\n")
    result = runner.invoke(app, ["fmt", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:2:1" in result.stderr
    assert "nothing was changed" in result.stderr
    assert broken.read_text(encoding="utf-8") == "version: 1\nversion: 2\n"


def test_a_deeply_nested_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    # The formatter's parsers have no depth guard (libyaml can crash the process on deep
    # nesting): the file is refused by the reader every command shares, before they run.
    depth = 100
    nested = write(tmp_path, "a.yaml", "version: 1\nasm: " + "[" * depth + "]" * depth + "\n")
    result = runner.invoke(app, ["fmt", "--check", str(nested)])
    assert result.exit_code == 1
    assert f"{nested}:2:" in result.stderr
    assert "nested more than 64 levels deep" in result.stderr
