"""The command line as scripts and reviewers rely on it: exit codes, options in either place,
colour switches, versioned JSON."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"
ANY_ESCAPE = re.compile(r"\x1b\[")

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["drift", "--since-baselin", "x.json"],
            "error: permctl drift: no such option --since-baselin; did you mean "
            "--since-baseline? the options are --emulator, --format, --since-baseline, ",
        ),
        (
            ["drift", "--format", "yaml"],
            "error: permctl drift: --format 'yaml' is not one of 'text', 'markdown', 'json' ",
        ),
        (["drift", "--concurrency", "0"], "error: permctl drift: --concurrency 0: must be from "),
        (["plann"], "error: permctl: no such command 'plann'. Did you mean 'plan'? "),
        (["diagnose"], "error: permctl diagnose: missing argument 'request_id' "),
    ],
)
def test_a_usage_error_exits_1_not_the_2_of_changes_with_one_line(
    args: list[str], expected: str
) -> None:
    code, stdout, stderr = run(*args)
    assert code == 1
    assert stdout == ""
    assert stderr.startswith(expected), stderr
    assert stderr.count("\n") == 1, stderr


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "-v", "--quiet"],
        ["plan", "--no-color", "--quiet"],
        ["-q", "plan"],
        ["plan", "--quiet", "--debug"],
    ],
)
def test_the_run_options_work_before_or_after_the_command(args: list[str]) -> None:
    code, stdout, stderr = run(*args, str(EXAMPLE), "--emulator", str(STATE))
    assert code == 0, stderr
    assert "Plan: " in stdout
    if "-v" in args:
        assert re.search(r"^api: DescribeServiceMeshes ok ", stderr, re.M)


def test_quiet_before_the_command_silences_it_as_after() -> None:
    missing = "no-baseline-here.json"
    before = run("-q", "drift", str(EXAMPLE), "--emulator", str(STATE), "--since-baseline", missing)
    after = run("drift", "-q", str(EXAMPLE), "--emulator", str(STATE), "--since-baseline", missing)
    loud = run("drift", str(EXAMPLE), "--emulator", str(STATE), "--since-baseline", missing)
    assert "No baseline" in loud[2]
    assert before == after
    assert "No baseline" not in before[2]


def test_a_run_flag_given_as_an_option_value_stays_its_value() -> None:
    code, _, stderr = run("plan", "--profile", "-v", "--quiet", str(REPO / "missing.yaml"))
    assert code == 1
    assert "missing.yaml" in stderr
    assert "api:" not in stderr


@pytest.mark.parametrize("switch", [["--no-color"], ["plan-flag"], []])
def test_without_colour_the_output_holds_no_escape_code_at_all(switch: list[str]) -> None:
    env = {"FORCE_COLOR": "1"} | ({} if switch else {"NO_COLOR": "1"})
    before = ["--no-color"] if switch == ["--no-color"] else []
    after = ["--no-color"] if switch == ["plan-flag"] else []
    code, stdout, stderr = run(
        *before, "plan", *after, "--quiet", str(EXAMPLE), "--emulator", str(STATE), env=env
    )
    assert code == 0
    assert "Plan: " in stdout
    assert not ANY_ESCAPE.search(stdout + stderr)


def test_with_colour_forced_styles_are_there_to_remove() -> None:
    _, stdout, _ = run(
        "plan", "--quiet", str(EXAMPLE), "--emulator", str(STATE), env={"FORCE_COLOR": "1"}
    )
    assert ANY_ESCAPE.search(stdout)


def test_every_json_output_carries_its_format_version(tmp_path: Path) -> None:
    file = tmp_path / "permissions.yaml"
    shutil.copy(EXAMPLE, file)
    live = ["--emulator", str(STATE)]
    outputs = {
        "plan": run("plan", "-q", str(file), *live, "--format", "json"),
        "drift": run("drift", "-q", str(file), *live, "--format", "json"),
        "apply": run("apply", "-q", str(file), *live, "--auto-approve", "--format", "json"),
        "validate": run("validate", str(file), "--format", "json"),
        "policy": run("policy", str(file)),
    }
    for command, (_, stdout, stderr) in outputs.items():
        assert json.loads(stdout)["format_version"] in ("1", "2"), (command, stderr)
