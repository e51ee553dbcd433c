"""The README's quick start, performed literally, as a new user would on a fresh machine.

The commands are read from README.md's "Quick start" section, so this test breaks when the
README and reality diverge. They run, unchanged, in bash, in a copy of the checkout: create a
venv, activate it, install, run the main command, then the whole loop (emulator in the
background, validate, plan, apply, drift).

One deliberate change, for speed: `pip install -e .` becomes `pip install --no-deps -e .` in a
venv that also sees this test run's site-packages (one .pth line), so the dependencies are not
downloaded and installed again; they are the versions the rest of the suite runs against. The
build itself is isolated as in the README: pip fetches the build backend named in
pyproject.toml from the package registry (or its cache), since the setuptools a venv may
bundle can be too old for the project's metadata.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
README = REPO / "README.md"
NEEDED = ("pyproject.toml", "README.md", "permissions.yaml.example", "src", "examples")
INSTALL = "pip install -e ."
MARK = "@@walkthrough@@"


def quick_start_blocks() -> list[list[str]]:
    """The command lines of each ```sh block of the Quick start section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def offline_install() -> str:
    reuse = f"{sysconfig.get_paths()['purelib']}"
    write_pth = (
        "echo "
        + reuse
        + ' > "$(python -c \'import sysconfig; print(sysconfig.get_paths()["purelib"])\')'
        + '/walkthrough-deps.pth"'
    )
    return f"{write_pth} && pip install --quiet --no-deps -e ."


def script(lines: list[str]) -> str:
    """Each README line as written, its output and exit status marked so they can be told apart."""
    steps = []
    for number, line in enumerate(lines):
        steps += [f"echo '{MARK} {number}'", line, f'echo "{MARK} exit $?"']
    return "exec 2>&1\n" + "\n".join(steps) + "\n"


def run(lines: list[str], cwd: Path) -> list[tuple[str, int, str]]:
    """(command, exit status, output) of each line."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", str(cwd)),  # pip's cache
        "NO_COLOR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    process = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-c", script(lines)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        # Whatever a failing step left behind (the background emulator) ends with the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    results = []
    for number, line in enumerate(lines):
        chunk = output.split(f"{MARK} {number}\n", 1)[1].split(f"{MARK} exit ", 1)
        results.append((line, int(chunk[1].split("\n", 1)[0]), chunk[0]))
    return results


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int, str]]:
    checkout = tmp_path_factory.mktemp("fresh-machine")
    for name in NEEDED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(source, checkout / name)
    install_and_run, loop = quick_start_blocks()[:2]
    assert len(install_and_run) == 1 and INSTALL in install_and_run[0]
    return run([install_and_run[0].replace(INSTALL, offline_install()), *loop], checkout)


def step(results: list[tuple[str, int, str]], command: str) -> tuple[int, str]:
    found = [
        (code, output) for line, code, output in results if line.split("#")[0].strip() == command
    ]
    assert found, f"the README's quick start no longer runs `{command}`"
    return found[0]


def test_install_and_main_command(walkthrough: list[tuple[str, int, str]]) -> None:
    line, code, output = walkthrough[0]
    assert code == 0, output
    assert line.endswith(
        "permctl plan permissions.yaml.example --emulator examples/live-state.yaml"
    )
    assert "Plan: 2 to add, 1 to change, 2 to remove on 4 principals" in output


def test_validate(walkthrough: list[tuple[str, int, str]]) -> None:
    assert step(walkthrough, "permctl validate") == (
        0,
        "permissions.yaml: valid (5 principals, 2 meshes, 3 assignment entries)\n",
    )


def test_plan_shows_and_saves_the_changes(walkthrough: list[tuple[str, int, str]]) -> None:
    code, output = step(walkthrough, "permctl plan --out plan.json")
    assert code == 0, output
    assert "  ~ carol (278525736094809012), RAM user\n" in output
    assert "4 CloudSSO assignments to create, 0 to delete. 8 unmanaged grants left alone." in output
    assert output.endswith(
        "Saved the plan to plan.json; apply it with: permctl apply --plan plan.json\n"
    )


def test_apply_applies_the_saved_plan(walkthrough: list[tuple[str, int, str]]) -> None:
    code, output = step(walkthrough, "permctl apply --plan plan.json")
    assert code == 0, output
    assert output.endswith("Apply complete: 8 done, 0 failed, 0 skipped (8 write calls).\n")


def test_drift_then_lists_only_what_the_file_leaves_alone(
    walkthrough: list[tuple[str, int, str]],
) -> None:
    code, output = step(walkthrough, "permctl drift")
    assert code == 2, output
    assert output.endswith(
        "Drift: 6 items: 6 live but not in the file. 2 accepted items not shown "
        "(drift.accept, protected principals).\n"
    )


def test_every_line_of_the_loop_succeeds_or_reports_drift(
    walkthrough: list[tuple[str, int, str]],
) -> None:
    failed = [(line, code, output) for line, code, output in walkthrough if code not in (0, 2)]
    assert failed == []
