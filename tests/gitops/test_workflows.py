"""The CI kit: every permctl command the workflows and hooks run exists with those options, the
workflows hold no AccessKey, and the GitHub steps that run permctl do what their comments say
when run by bash against the emulator (plan comment and summary, apply of the reviewed plan or,
when stale, of a fresh one, drift exit codes)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from permctl_commands import parse, permctl_args

from permctl.emulator import Emulator

REPO = Path(__file__).parents[2]
GITHUB = sorted((REPO / "examples" / "github-actions").glob("*.yml"))
GITLAB = REPO / "examples" / "gitlab-ci" / ".gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_steps(path: Path) -> Iterator[dict[str, Any]]:
    for job in load(path)["jobs"].values():
        yield from job["steps"]


def gitlab_scripts() -> Iterator[str]:
    def flat(lines: Any) -> Iterator[str]:
        for line in lines if isinstance(lines, list) else [lines]:
            yield from flat(line) if isinstance(line, list) else [line]

    for job in load(GITLAB).values():
        if isinstance(job, dict):
            for key in ("before_script", "script"):
                yield from flat(job.get(key, []))


def scripts() -> Iterator[tuple[str, str]]:
    for path in GITHUB:
        for step in github_steps(path):
            if "run" in step:
                yield path.name, step["run"]
    for script in gitlab_scripts():
        yield GITLAB.name, script
    for hook in load(HOOKS):
        yield HOOKS.name, " ".join([hook["entry"], *hook.get("args", [])])


COMMANDS = [(where, args) for where, script in scripts() for args in permctl_args(script)]


def test_the_kit_runs_every_step_of_the_loop() -> None:
    used = {parse(args) for _, args in COMMANDS}
    assert {"validate", "fmt", "plan", "apply", "drift"} <= used


@pytest.mark.parametrize(
    ("where", "args"), COMMANDS, ids=[f"{w}: permctl {' '.join(a)}" for w, a in COMMANDS]
)
def test_each_command_exists_with_those_options(where: str, args: list[str]) -> None:
    parse(args)


@pytest.mark.parametrize("path", [*GITHUB, GITLAB], ids=lambda p: p.name)
def test_no_workflow_holds_an_access_key(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "ACCESS_KEY" not in text
    assert "ALIBABA_CLOUD_OIDC_PROVIDER_ARN" in text


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_github_workflows_may_ask_for_an_oidc_token(path: Path) -> None:
    assert load(path)["permissions"]["id-token"] == "write"


# --- the GitHub steps, run by bash against the emulator ------------------------------------


def step(workflow: str, name: str) -> str:
    found = [
        s["run"]
        for s in github_steps(REPO / "examples" / "github-actions" / workflow)
        if s.get("name") == name
    ]
    assert len(found) == 1, f"{workflow} has no step {name!r}"
    return found[0]


class Runner:
    """Runs workflow steps the way a GitHub runner does: bash -eo pipefail, the workflow's plain
    env values, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, permctl on PATH."""

    def __init__(self, workdir: Path, emulator: Emulator) -> None:
        self.workdir = workdir
        self.output = workdir / "github-output"
        self.summary = workdir / "step-summary"
        self.env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(workdir),
            "PERMCTL_ENDPOINT": emulator.url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": emulator.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emulator.access_key_secret,
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
        }

    def run(self, workflow: str, name: str) -> subprocess.CompletedProcess[str]:
        plain_env = {
            key: str(value)
            for key, value in load(REPO / "examples" / "github-actions" / workflow)["env"].items()
            if "${{" not in str(value)
        }
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(workflow, name)],
            cwd=self.workdir,
            env={**plain_env, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def outputs(self) -> dict[str, str]:
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    (tmp_path / "permissions.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"))
    with Emulator(STATE) as emulator:
        yield Runner(tmp_path, emulator)


def test_plan_step_writes_the_comment_the_summary_and_the_saved_plan(runner: Runner) -> None:
    result = runner.run("permctl-plan.yml", "Plan")
    assert result.returncode == 0, result.stderr
    assert runner.outputs()["exitcode"] == "2"
    comment = (runner.workdir / "plan.md").read_text(encoding="utf-8")
    assert "2 to add, 1 to change, 2 to remove" in comment
    assert runner.summary.read_text(encoding="utf-8") == comment
    assert (runner.workdir / "plan.json").is_file()


def test_plan_step_turns_a_failure_into_a_comment(runner: Runner) -> None:
    (runner.workdir / "permissions.yaml").write_text("version: 2\n")
    assert runner.run("permctl-plan.yml", "Plan").returncode == 0
    assert runner.outputs()["exitcode"] == "1"
    comment = (runner.workdir / "plan.md").read_text(encoding="utf-8")
    assert comment.startswith("### permctl plan failed\n")
    assert "permissions.yaml:1:10 version" in comment


def test_apply_step_applies_the_reviewed_plan(runner: Runner) -> None:
    runner.run("permctl-plan.yml", "Plan")
    result = runner.run("permctl-apply.yml", "Apply")
    assert result.returncode == 0, result.stderr
    # 8 grants and assignments, ECS-Admin updated and re-provisioned on its 5 accounts
    assert "Apply complete: 14 done, 0 failed" in result.stdout
    assert "fresh plan" not in result.stdout


def test_apply_step_plans_again_when_live_state_moved_since_review(runner: Runner) -> None:
    runner.run("permctl-plan.yml", "Plan")
    someone_else = runner.workdir / "elsewhere" / "permissions.yaml"
    someone_else.parent.mkdir()
    someone_else.write_text(
        "version: 1\nasm:\n  meshes: {prod: c57b848115458460583a4260cb713abc}\n"
        "  principals:\n    - {name: bob, ram_user: bob, roles: {prod: istio-admin}}\n"
    )
    changed = subprocess.run(
        ["permctl", "apply", "--auto-approve", "--quiet", str(someone_else)],
        env=runner.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert changed.returncode == 0, changed.stderr
    result = runner.run("permctl-apply.yml", "Apply")
    assert result.returncode == 0, result.stderr
    assert "refusing the saved plan: live state changed" in result.stderr
    assert "applying a fresh plan of the merged files" in result.stdout
    assert "Apply complete:" in result.stdout


def test_apply_step_without_a_reviewed_plan_applies_a_fresh_one(runner: Runner) -> None:
    result = runner.run("permctl-apply.yml", "Apply")
    assert result.returncode == 0, result.stderr
    # 8 grants and assignments, ECS-Admin updated and re-provisioned on its 5 accounts
    assert "Apply complete: 14 done, 0 failed" in result.stdout


def test_drift_step_records_exit_2_and_puts_the_report_in_the_summary(runner: Runner) -> None:
    assert runner.run("permctl-drift.yml", "Drift").returncode == 0
    assert runner.outputs()["exitcode"] == "2"
    report = runner.summary.read_text(encoding="utf-8")
    assert report == (runner.workdir / "drift.md").read_text(encoding="utf-8")
    assert "Drift\\: 16 items" in report  # one is ECS-Admin's policy, as the file changes it


def test_drift_step_fails_when_drift_cannot_be_read(runner: Runner) -> None:
    (runner.workdir / "permissions.yaml").write_text("version: 2\n")
    assert runner.run("permctl-drift.yml", "Drift").returncode == 1
    assert runner.outputs()["exitcode"] == "1"
