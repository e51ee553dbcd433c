"""Offline commands import no cloud SDK: they make no call, and importing the SDKs and aiohttp
costs more than everything else they do. Nor do they build what they do not use. The timings
are in bench/cli_startup.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from permctl.cli import app

REPO = Path(__file__).parents[2]
EXAMPLE = str(REPO / "permissions.yaml.example")
OFFLINE = [
    ["--version"],
    ["--help"],
    ["validate", EXAMPLE],
    ["fmt", "--check", EXAMPLE],
    ["schema"],
    ["plan", "--help"],
    ["apply", "--help"],
    ["drift", "--help"],
    ["policy", EXAMPLE],
    ["access", "--source", "file", EXAMPLE],
]
ONLINE = [["plan", "--quiet", EXAMPLE, "--emulator", str(REPO / "examples/live-state.yaml")]]
# The commands run in one fresh interpreter, as from a shell, each group followed by the
# modules loaded so far.
RUN_AND_LIST_MODULES = """
import json, sys
from permctl.cli import main
for group in json.loads(sys.argv[1]):
    for args in group:
        sys.argv = ["permctl", *args]
        try:
            main()
        except SystemExit as exited:
            assert exited.code in (0, None), (args, exited.code)
    print(json.dumps(sorted(sys.modules)))
"""
CLOUD_PACKAGES = ("alibabacloud", "aiohttp", "Tea", "darabonba")


def test_offline_commands_import_no_cloud_sdk() -> None:
    after_offline, after_plan = _loaded_after(OFFLINE, ONLINE)
    assert "permctl.cli.cmd_validate" in after_offline
    assert [m for m in after_offline if m.startswith(CLOUD_PACKAGES)] == []
    # Not vacuous: the same way of running commands does show a plan loading them.
    assert any(m.startswith("alibabacloud_servicemesh") for m in after_plan)


def test_version_and_help_load_no_file_model_plan_diff_or_rich() -> None:
    (loaded,) = _loaded_after([["--version"], ["plan", "--help"]])
    assert "permctl.cli.cmd_plan" in loaded
    models = ("permctl.config", "permctl.plan", "permctl.drift", "permctl.render", "deepdiff")
    # Only what prints through rich loads it: errors, warnings, progress, reports.
    heavy = (*models, "rich")
    assert [m for m in loaded if m.startswith(heavy)] == []


def test_schema_and_fmt_read_the_published_schema_instead_of_building_the_models() -> None:
    after_schema, after_fmt = _loaded_after(
        [["schema"], ["schema", "--markdown"]], [["fmt", "--check", EXAMPLE]]
    )
    assert "permctl.config.reference" in after_schema
    assert "permctl.config.fmt" in after_fmt
    models = ("permctl.config.schema", "permctl.model")
    assert [m for m in after_schema if m in (*models, "yaml")] == []
    assert [m for m in after_fmt if m in models] == []


def test_command_signatures_need_no_evaluation_at_start() -> None:
    # typer reads every command's signature on every start: annotations written as strings
    # (`from __future__ import annotations`) would be evaluated each time (see cli/app.py).
    functions = [info.callback for info in app.registered_commands]
    functions.append(app.registered_callback.callback if app.registered_callback else None)
    quoted = [
        f"{function.__module__}.{function.__name__}: {name}"
        for function in functions
        if function is not None
        for name, annotation in function.__annotations__.items()
        if isinstance(annotation, str)
    ]
    assert len(functions) > 10
    assert quoted == []


def _loaded_after(*groups: list[list[str]]) -> list[list[str]]:
    """The modules loaded once each group of commands ran, all in one interpreter, in order."""
    ran = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, json.dumps(groups)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in ran.stdout.splitlines() if line.startswith('["')]
