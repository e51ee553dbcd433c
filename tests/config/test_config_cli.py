"""`permctl validate` and `permctl schema` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"

runner = CliRunner()


def test_a_valid_file_prints_a_one_line_summary_and_exits_0() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE}: valid (5 principals, 2 meshes, 3 assignment entries)\n"


def test_an_invalid_file_prints_every_problem_and_exits_1() -> None:
    result = runner.invoke(app, ["validate", "broken/unknown_team.yaml"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error broken/unknown_team.yaml:10:15 asm.principals[0].teams[0]: unknown team "
        "'mesh-admin'; did you mean 'mesh-admins'?",
        "error broken/unknown_team.yaml:10:27 asm.principals[0].teams[1]: unknown team "
        "'platform'; declared: mesh-admins",
        "2 errors; nothing was changed.",
    ]
    assert result.stdout == ""


def test_an_unknown_key_at_the_top_does_not_hide_an_unknown_alias_further_down() -> None:
    result = runner.invoke(app, ["validate", "broken/every_problem_at_once.yaml"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "unknown key 'surprise'" in lines[0] and "unknown mesh alias 'prd'" in lines[-2]
    assert lines[-1] == "6 errors; nothing was changed."


def test_without_arguments_permissions_yaml_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = runner.invoke(app, ["validate"])
    assert missing.exit_code == 1
    assert "error permissions.yaml no such file or directory" in missing.stderr
    (tmp_path / "permissions.yaml").write_text("version: 1\n")
    found = runner.invoke(app, ["validate"])
    assert (
        found.stdout == "permissions.yaml: valid (0 principals, 0 meshes, 0 assignment entries)\n"
    )


def test_json_output_reports_validity_problems_and_counts() -> None:
    valid = runner.invoke(app, ["validate", "merge/split_ok", "--format", "json"])
    assert valid.exit_code == 0
    assert json.loads(valid.stdout) == {
        "format_version": "1",
        "valid": True,
        "problems": [],
        "warnings": [],
        "summary": {"files": ["merge/split_ok"], "principals": 2, "meshes": 2, "assignments": 1},
    }
    invalid = runner.invoke(app, ["validate", "broken/role_not_a_role.yaml", "--format", "json"])
    assert invalid.exit_code == 1
    report = json.loads(invalid.stdout)
    assert report["valid"] is False
    assert report["problems"] == [
        {
            "file": "broken/role_not_a_role.yaml",
            "line": 9,
            "column": 15,
            "path": "asm.principals[0].roles.prod",
            "message": "'istio-root' is not a role; expected istio-admin, istio-ops or "
            "istio-readonly",
        }
    ]


def test_user_text_that_looks_like_console_markup_is_printed_as_written(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text('version: 1\n"[/bold]": 1\nsettings: {endpoints: {":ram:": x}}\n')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "unknown key '[/bold]'" in result.stderr
    assert "unknown key ':ram:'" in result.stderr


def test_schema_prints_the_json_schema_or_writes_it(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["schema"])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout)["title"] == "permctl desired state"
    out = tmp_path / "permctl.schema.json"
    written = runner.invoke(app, ["schema", "--out", str(out)])
    assert written.exit_code == 0
    assert json.loads(out.read_text()) == json.loads(printed.stdout)


def test_schema_into_a_missing_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--out", str(tmp_path / "no" / "such" / "x.json")])
    assert result.exit_code == 1
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.output


def test_schema_markdown_is_the_file_reference() -> None:
    result = runner.invoke(app, ["schema", "--markdown"])
    assert result.stdout == (REPO / "docs" / "file-reference.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["validate", "schema"])
def test_help_shows_examples(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"permctl {command}" in result.stdout


def test_python_dash_m_validates_offline_without_traceback() -> None:
    broken = subprocess.run(
        [sys.executable, "-m", "permctl", "validate", "broken/wrong_types.yaml"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "NO_COLOR": "1"},
    )
    assert broken.returncode == 1
    assert "13 errors; nothing was changed." in broken.stderr
    assert "Traceback" not in broken.stderr
