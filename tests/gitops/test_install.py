"""Every instruction that installs permctl installs something the project controls: the checkout,
the repository at the release's tag, or the wheel attached to that release. None installs the
name `permctl` from the package index, where it is not published (and a stranger could register
it). The version and the repository are written once, in pyproject.toml; the copies that CI
examples must carry (they are copied into users' repositories) are compared with it, and their
install steps are run, with `pipx` and `pip` standing in, to see what they really install."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from project_metadata import REPO, SOURCE, VERSION

RELEASE_WHEEL = f"{SOURCE}/releases/download/v{VERSION}/permctl-{VERSION}-py3-none-any.whl"
CONTROLLED = {f"git+{SOURCE}@v{VERSION}", RELEASE_WHEEL}
# Tools the project's own workflows install by name: published on the index by their authors.
PUBLISHED_TOOLS = {"pip", "build", "twine"}

GITHUB_EXAMPLES = sorted((REPO / "examples" / "github-actions").glob("*.yml"))
GITLAB_EXAMPLE = REPO / "examples" / "gitlab-ci" / ".gitlab-ci.yml"
PROJECT_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
INSTRUCTIONS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    *sorted((REPO / "examples").rglob("*.md")),
    *GITHUB_EXAMPLES,
    GITLAB_EXAMPLE,
    *PROJECT_WORKFLOWS,
]
INSTALL = re.compile(r"\b(?:pipx|pip3?|python3? -m pip|uv pip|uv tool) install\s+([^\n`&|;>]+)")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def variables(path: Path) -> dict[str, str]:
    """The plain values of a workflow's env (GitHub) or variables (GitLab)."""
    document = load(path) if path.suffix == ".yml" else {}
    found = document.get("env") or document.get("variables") or {}
    return {key: str(value) for key, value in found.items() if "${{" not in str(value)}


def expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m[1], m[0]), text)


def installed(path: Path) -> list[str]:
    """What each install command of the file names: requirements and paths, options left out."""
    text = expand(path.read_text(encoding="utf-8"), variables(path))
    return [
        word
        for command in INSTALL.findall(text)
        for word in shlex.split(command)
        if not word.startswith("-") and not word.startswith("#")
    ]


INSTALLS = [
    (path.relative_to(REPO).as_posix(), what) for path in INSTRUCTIONS for what in installed(path)
]


def test_instructions_install_permctl_the_way_users_are_told_to() -> None:
    named = {what for _, what in INSTALLS}
    assert {".", f"git+{SOURCE}@v{VERSION}", RELEASE_WHEEL} <= named


@pytest.mark.parametrize(("where", "what"), INSTALLS, ids=[f"{w}: {t}" for w, t in INSTALLS])
def test_nothing_is_installed_from_the_index_under_an_unpublished_name(
    where: str, what: str
) -> None:
    from_the_checkout = what.startswith(".")
    assert from_the_checkout or what in CONTROLLED or what in PUBLISHED_TOOLS, (
        f"{where} installs {what!r}: install permctl from the checkout, {sorted(CONTROLLED)}"
    )


@pytest.mark.parametrize("path", [*GITHUB_EXAMPLES, GITLAB_EXAMPLE], ids=lambda p: p.name)
def test_ci_examples_carry_the_project_version_and_repository(path: Path) -> None:
    assert variables(path)["PERMCTL_VERSION"] == VERSION
    assert variables(path)["PERMCTL_SOURCE"] == f"git+{SOURCE}"


def test_pre_commit_users_are_told_the_repository_and_tag() -> None:
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert f"repo: {SOURCE}\n" in hooks and f"rev: v{VERSION}\n" in hooks


def stand_in(bin_dir: Path, tool: str) -> None:
    script = bin_dir / tool
    script.write_text('#!/bin/sh\nprintf "%s\\n" "$@" >> "$INSTALLED"\n', encoding="utf-8")
    script.chmod(0o755)


def run_as_ci(script: str, path: Path, tmp_path: Path) -> list[str]:
    """Runs `script` in bash with the file's plain variables and `pipx` and `pip` standing in;
    the arguments they were given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("pipx", "pip"):
        stand_in(bin_dir, tool)
    record = tmp_path / "installed"
    record.write_text("", encoding="utf-8")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={
            **variables(path),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "INSTALLED": str(record),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return record.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("path", GITHUB_EXAMPLES, ids=lambda p: p.name)
def test_github_install_step_installs_the_release_tag(path: Path, tmp_path: Path) -> None:
    (script,) = [
        step["run"]
        for job in load(path)["jobs"].values()
        for step in job["steps"]
        if step.get("name") == "Install permctl"
    ]
    assert run_as_ci(script, path, tmp_path) == ["install", f"git+{SOURCE}@v{VERSION}"]


def test_gitlab_jobs_install_the_release_tag(tmp_path: Path) -> None:
    (line,) = [
        line
        for line in load(GITLAB_EXAMPLE)["default"]["before_script"]
        if "install" in line and "pip" in line
    ]
    assert run_as_ci(line, GITLAB_EXAMPLE, tmp_path) == [
        "install",
        "--quiet",
        f"git+{SOURCE}@v{VERSION}",
    ]
