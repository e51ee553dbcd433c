"""The project's own workflows: CI runs .ci/run and the suite with the oldest dependencies
pyproject.toml allows; a version tag releases (the whole CI, build, checks, trusted publishing to
PyPI, the wheel attached to the GitHub release). Steps that are shell are run by bash the way a
GitHub runner runs them, with `gh` standing in for GitHub's API."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from project_metadata import DEPENDENCIES, REPO, REQUIRES_PYTHON, VERSION

WORKFLOWS = REPO / ".github" / "workflows"
MINIMUM_VERSIONS = REPO / ".ci" / "minimum-versions.txt"


def load(name: str) -> Any:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def run_step(job: dict[str, Any], name: str) -> str:
    (script,) = [step["run"] for step in job["steps"] if step.get("name") == name]
    return str(script)


# --- dependency lower bounds ----------------------------------------------------------------


def test_minimum_versions_pin_each_dependency_at_its_lower_bound() -> None:
    lines = MINIMUM_VERSIONS.read_text(encoding="utf-8").splitlines()
    pinned = {
        canonicalize_name(r.name): Version(next(iter(r.specifier)).version)
        for r in (Requirement(line) for line in lines if line and not line.startswith("#"))
    }
    lower_bounds = {
        canonicalize_name(d.name): Version(
            next(s.version for s in d.specifier if s.operator == ">=")
        )
        for d in DEPENDENCIES
    }
    assert pinned == lower_bounds


def test_ci_runs_the_suite_with_the_oldest_python_and_dependencies() -> None:
    jobs = load("ci.yml")["jobs"]
    assert "bash .ci/run" in run_step(jobs["ci"], "Lint, types, tests, package")
    oldest = jobs["minimum-versions"]
    (python,) = [
        s["with"]["python-version"] for s in oldest["steps"] if "setup-python" in s.get("uses", "")
    ]
    assert f">={python}" == REQUIRES_PYTHON
    install = run_step(oldest, "Install the lowest versions allowed")
    assert "-c .ci/minimum-versions.txt -e '.[test]'" in install
    assert run_step(oldest, "Tests") == ".venv/bin/python -m pytest"


# --- the release workflow -------------------------------------------------------------------

RELEASE = load("release.yml")
JOBS = RELEASE["jobs"]


def test_a_version_tag_releases_after_the_whole_ci() -> None:
    assert triggers(RELEASE) == {"push": {"tags": ["v*"]}}
    assert RELEASE["permissions"] == {"contents": "read"}
    assert run_step(JOBS["test"], "Lint, types, tests, package") == "bash .ci/run"
    assert JOBS["build"]["needs"] == "test"
    assert JOBS["publish"]["needs"] == JOBS["github-release"]["needs"] == "build"


def test_publishing_is_trusted_and_only_the_publish_job_may_ask_for_a_token() -> None:
    publish = JOBS["publish"]
    assert uses(publish) == ["actions/download-artifact", "pypa/gh-action-pypi-publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    others = [job for name, job in JOBS.items() if name != "publish"]
    assert all("id-token" not in job.get("permissions", {}) for job in others)
    assert "secrets." not in (WORKFLOWS / "release.yml").read_text(encoding="utf-8")  # no token


def test_what_is_built_and_checked_is_what_is_published_and_attached() -> None:
    build = run_step(JOBS["build"], "Build and check")
    assert "python -m build" in build and "twine check --strict dist/*" in build
    (uploaded,) = [
        s["with"] for s in JOBS["build"]["steps"] if "upload-artifact" in s.get("uses", "")
    ]
    for job in ("publish", "github-release"):
        (downloaded,) = [
            s["with"] for s in JOBS[job]["steps"] if "download-artifact" in s.get("uses", "")
        ]
        assert (downloaded["name"], downloaded["path"]) == (uploaded["name"], uploaded["path"])
    assert JOBS["github-release"]["permissions"] == {"contents": "write"}


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_tag_of_the_version_in_pyproject_is_released() -> None:
    result = bash(
        run_step(JOBS["build"], "The tag names the version in pyproject.toml"),
        REPO,
        GITHUB_REF_NAME=f"v{VERSION}",
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"Releasing permctl {VERSION}\n"


def test_a_tag_that_is_not_the_version_in_pyproject_is_refused() -> None:
    result = bash(
        run_step(JOBS["build"], "The tag names the version in pyproject.toml"),
        REPO,
        GITHUB_REF_NAME="v9.9.9",
    )
    assert result.returncode == 1
    assert f"tag v9.9.9 does not name the version in pyproject.toml (v{VERSION})" in result.stdout


@pytest.fixture
def release_files(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in (f"permctl-{VERSION}-py3-none-any.whl", f"permctl-{VERSION}.tar.gz"):
        (dist / name).write_text("built", encoding="utf-8")
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    # `gh release view` succeeds when the release exists; every call is recorded.
    gh.write_text(
        '#!/bin/sh\necho "$*" >> "$GH_CALLS"\n'
        '[ "$1 $2" != "release view" ] || [ "$RELEASE_EXISTS" = yes ]\n',
        encoding="utf-8",
    )
    gh.chmod(0o755)
    return tmp_path


def attach(workdir: Path, release_exists: bool) -> list[str]:
    result = bash(
        run_step(JOBS["github-release"], "Attach the wheel and sdist to the release"),
        workdir,
        PATH=f"{workdir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        GH_CALLS=str(workdir / "gh-calls"),
        RELEASE_EXISTS="yes" if release_exists else "no",
        GITHUB_REF_NAME=f"v{VERSION}",
        GITHUB_REPOSITORY="ORG/permctl",
    )
    assert result.returncode == 0, result.stderr
    return (workdir / "gh-calls").read_text(encoding="utf-8").splitlines()


def test_the_wheel_and_sdist_make_a_new_release_of_the_tag(release_files: Path) -> None:
    calls = attach(release_files, release_exists=False)
    assert calls[1] == (
        f"release create v{VERSION} dist/permctl-{VERSION}-py3-none-any.whl "
        f"dist/permctl-{VERSION}.tar.gz --repo ORG/permctl --title permctl v{VERSION} "
        "--verify-tag --generate-notes"
    )


def test_the_wheel_and_sdist_replace_those_of_an_existing_release(release_files: Path) -> None:
    calls = attach(release_files, release_exists=True)
    assert calls[1] == (
        f"release upload v{VERSION} dist/permctl-{VERSION}-py3-none-any.whl "
        f"dist/permctl-{VERSION}.tar.gz --repo ORG/permctl --clobber"
    )
