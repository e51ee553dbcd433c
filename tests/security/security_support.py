"""What the security tests share: the example organisation, the CLI, and what "no write" means."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"
PROD, STAGING = "c57b848115458460583a4260cb713abc", "c4ec191f4e12145c09286ea3e2b8fabc"
DIRECTORY = "d-00fc2p61abcd"
WRITE_ACTIONS = frozenset(
    {"GrantUserPermissions", "CreateAccessAssignment", "DeleteAccessAssignment"}
)

runner = CliRunner()


def example_state() -> dict[str, Any]:
    state: dict[str, Any] = yaml.safe_load(STATE.read_text(encoding="utf-8"))
    return state


def permctl(*args: str) -> tuple[int, str, str]:
    """`permctl ARGS` in this process, as a shell runs it: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_nothing_written(emu: Emulator) -> None:
    assert emu.writes == ()
    assert not [call.action for call in emu.calls if call.action in WRITE_ACTIONS]


def assert_one_line_error(code: int, out: str, err: str) -> None:
    """Refused as users should see it: exit 1, one sentence, no traceback."""
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1, err


def fuzz_settings(default_examples: int) -> settings:
    """The same examples on every run, none remembered; PERMCTL_FUZZ_EXAMPLES searches deeper
    (e.g. 20000) than the default that keeps the suite quick."""
    examples = int(os.environ.get("PERMCTL_FUZZ_EXAMPLES", default_examples))
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
