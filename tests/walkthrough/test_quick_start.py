"""The README's quick start, performed literally, as a new user would on a fresh machine, and
then, in the same shell, the README's test command.

The commands are read from README.md's "Quick start" section, so this test breaks when the
README and reality diverge. They run, unchanged, in bash, in a copy of the checkout: create a
venv, activate it, install, run the main command, then the whole loop (emulator in the
background, validate, plan, apply, drift, the emulator killed). The test command follows in
that shell, its exports of PERMCTL_ENDPOINT and the AccessKey still set to the dead emulator,
with HOME holding an `aliyun` CLI profile: the suite must not care.

Deliberate changes:
- for speed and to stay off the network, `pip install -e .` becomes `pip install --no-deps
  --no-build-isolation -e .` in a venv that also sees this test run's site-packages (one .pth
  line): the dependencies and the build backend are the ones the rest of the suite runs with;
- the loop's emulator listens on a free port instead of 8780, which another emulator (a user's
  own quick start, a parallel run) may hold;
- the test command collects the whole suite and runs one representative file rather than
  running the suite inside itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

# Installing and running pytest inside it takes longer than the suite's per-test timeout.
pytestmark = pytest.mark.timeout(420)

REPO = Path(__file__).parents[2]
README = REPO / "README.md"
# What a clean clone does not have: virtualenvs, caches, build output, the repository itself.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis", "build",
    "dist", "plan.json", "permissions.yaml",
)  # fmt: skip
INSTALL = "pip install -e ."
INSTALL_TESTS = "pip install -e '.[test]'"
README_PORT = "8780"
# In-process CLI tests pointed at an emulator, and the one that expects no credentials at all.
REPRESENTATIVE = "tests/cli/test_plan_cli.py"
# An `aliyun` CLI profile with a key that is not the emulator's.
ALIYUN_PROFILE = (
    '{"current": "default", "profiles": [{"name": "default", "mode": "AK", '
    '"access_key_id": "LTAI-not-the-emulators", "access_key_secret": "wrong", '
    '"region_id": "cn-shanghai"}]}'
)
MARK = "@@walkthrough@@"


def quick_start_blocks() -> list[list[str]]:
    """The command lines of each ```sh block of the Quick start section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def offline_install(target: str) -> str:
    reuse = f"{sysconfig.get_paths()['purelib']}"
    write_pth = (
        "echo "
        + reuse
        + ' > "$(python -c \'import sysconfig; print(sysconfig.get_paths()["purelib"])\')'
        + '/walkthrough-deps.pth"'
    )
    # The backend comes first from there too: the setuptools a venv may bundle can be too old.
    install = f"PYTHONPATH={reuse} pip install --quiet --no-deps --no-build-isolation -e {target}"
    return f"{write_pth} && {install}"


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def script(lines: list[str]) -> str:
    """Each README line as written, its output and exit status marked so they can be told apart."""
    steps = []
    for number, line in enumerate(lines):
        steps += [f"echo '{MARK} {number}'", line, f'echo "{MARK} exit $?"']
    return "exec 2>&1\n" + "\n".join(steps) + "\n"


def run(lines: list[str], cwd: Path) -> list[tuple[str, int, str]]:
    """(command, exit status, output) of each line."""
    home = cwd / "home"
    (home / ".aliyun").mkdir(parents=True)
    (home / ".aliyun" / "config.json").write_text(ALIYUN_PROFILE, encoding="utf-8")
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
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
        output, _ = process.communicate(timeout=360)
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
    shutil.copytree(REPO, checkout, ignore=NOT_IN_A_CLONE, dirs_exist_ok=True)
    install_and_run, loop, test_command = quick_start_blocks()[:3]
    assert len(install_and_run) == 1 and INSTALL in install_and_run[0]
    assert len(test_command) == 1 and INSTALL_TESTS in test_command[0]
    assert test_command[0].endswith(" && python -m pytest")
    port = free_port()
    return run(
        [
            install_and_run[0].replace(INSTALL, offline_install(".")),
            *[line.replace(README_PORT, port) for line in loop],
            test_command[0]
            .replace(INSTALL_TESTS, offline_install("'.[test]'"))
            .replace(" && python -m pytest", ""),
            "python -m pytest --collect-only",
            f"python -m pytest {REPRESENTATIVE}",
        ],
        checkout,
    )


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
    assert "4 CloudSSO assignments to create, 0 to delete." in output
    assert "Access configurations: 0 to create, 1 to update, 0 to delete." in output
    assert output.endswith(
        "Saved the plan to plan.json; apply it with: permctl apply --plan plan.json\n"
    )


def test_apply_applies_the_saved_plan(walkthrough: list[tuple[str, int, str]]) -> None:
    code, output = step(walkthrough, "permctl apply --plan plan.json")
    assert code == 0, output
    # ECS-Admin's policy is updated and re-provisioned on the 5 accounts it is assigned on.
    assert output.endswith("Apply complete: 14 done, 0 failed, 0 skipped (14 write calls).\n")


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


def test_the_test_command_collects_the_whole_suite_in_that_shell(
    walkthrough: list[tuple[str, int, str]],
) -> None:
    lines = [line for line, _, _ in walkthrough]
    exports = next(n for n, line in enumerate(lines) if line.startswith("export PERMCTL_ENDPOINT="))
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID=" in lines[exports]
    assert exports < lines.index("kill %1") < lines.index("python -m pytest --collect-only")
    code, output = step(walkthrough, "python -m pytest --collect-only")
    assert code == 0, output
    assert re.search(r"^\d{3,} tests collected", output, re.MULTILINE), output


def test_the_tests_pass_with_the_quick_starts_exports_and_an_aliyun_profile(
    walkthrough: list[tuple[str, int, str]],
) -> None:
    code, output = step(walkthrough, f"python -m pytest {REPRESENTATIVE}")
    assert code == 0, output
    assert re.search(r"^\d+ passed", output, re.MULTILINE), output
