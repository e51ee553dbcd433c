"""What every command does the same way: API call logging, colour switches."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator, Knobs

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])m")
API_LINE = re.compile(r"^api: [A-Za-z]+ ok in \d+ ms RequestId=[0-9A-F-]{36}$")
PACE_LINE = re.compile(
    r"^api: pace (?P<product>[a-z]+) in the caller's account: settled at \d+ in flight "
    r"\(at most \d+, ceiling 32\)(, paced at \d+ calls/s)?; (?P<throttled>\d+) throttled "
    r"answers in \d+ calls \((?P<actions>\d+ [A-Za-z]+(, \d+ [A-Za-z]+)*)\)$"
)

runner = CliRunner()


def plan(*options: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    args = [*options, "plan", "--quiet", str(EXAMPLE), "--emulator", str(STATE)]
    result = runner.invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_verbose_logs_every_api_call_with_duration_and_request_id() -> None:
    code, _, stderr = plan("-v")
    lines = stderr.splitlines()
    assert code == 0
    assert lines, "no API call was logged"
    assert [line for line in lines if not (API_LINE.match(line) or PACE_LINE.match(line))] == []
    assert any(" DescribeServiceMeshes ok " in line for line in lines)
    assert any(" ListAccessAssignments ok " in line for line in lines)


def test_verbose_ends_with_the_pace_of_each_api_and_the_throttled_answers_it_saw(
    point_at: Callable[[Emulator], None],
) -> None:
    with Emulator(STATE, knobs=Knobs(seed=1, throttle_rate=0.3)) as emu:
        point_at(emu)
        result = runner.invoke(app, ["-v", "plan", "--quiet", str(EXAMPLE)])
        throttled = Counter(PRODUCTS[c.version] for c in emu.calls if c.throttled)
    assert result.exit_code == 0, result.stderr
    paces = [m for line in result.stderr.splitlines() if (m := PACE_LINE.match(line))]
    assert {m["product"] for m in paces} == {
        "servicemesh",
        "cloudsso",
        "ram",
        "sts",
        "resourcedirectory",
    }
    assert {m["product"]: int(m["throttled"]) for m in paces if int(m["throttled"])} == throttled
    assert throttled, "seed 1 throttles some calls"


PRODUCTS = {  # by API version
    "2020-01-11": "servicemesh",
    "2021-05-15": "cloudsso",
    "2015-05-01": "ram",
    "2015-04-01": "sts",
    "2022-04-19": "resourcedirectory",
}


def test_debug_logs_with_times_and_logger_names() -> None:
    code, _, stderr = plan("--debug")
    assert code == 0
    assert re.search(
        r"^\d{4}-\d\d-\d\d [\d:,]+ permctl\.api DEBUG DescribeServiceMeshes ok ", stderr, re.M
    )


@pytest.mark.parametrize("option", ["-v", "--debug"])
def test_logs_never_carry_the_access_key_secret(option: str) -> None:
    secret = Emulator(STATE).access_key_secret
    _, stdout, stderr = plan(option)
    assert secret not in stdout + stderr


def test_logging_ends_with_the_command() -> None:
    plan("-v")
    assert plan()[2] == ""


def test_colour_is_used_when_forced_and_off_with_no_color_or_the_option() -> None:
    assert COLOUR.search(plan(env={"FORCE_COLOR": "1"})[1])
    assert not COLOUR.search(plan(env={"FORCE_COLOR": "1", "NO_COLOR": "1"})[1])
    assert not COLOUR.search(plan("--no-color", env={"FORCE_COLOR": "1"})[1])
    assert COLOUR.search(plan(env={"FORCE_COLOR": "1"})[1]), "--no-color outlived its command"


def test_errors_honour_no_color_too() -> None:
    result = runner.invoke(
        app, ["--no-color", "validate", "missing.yaml"], env={"FORCE_COLOR": "1"}
    )
    assert (
        result.stderr
        == "error missing.yaml no such file or directory\n1 error; nothing was changed.\n"
    )
