"""Arguments and options shared by the commands that read files and talk to the APIs."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from permctl.config import Config
    from permctl.plan import Override
    from permctl.workflow import Target

DEFAULT_FILE = Path("permissions.yaml")


class Format(str, Enum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


Files = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Files, or directories whose *.yaml and *.yml files are read; all are merged into "
        "one desired state. Default: permissions.yaml.",
        show_default=False,
    ),
]
EmulatorState = Annotated[
    Path | None,
    typer.Option(
        "--emulator",
        metavar="STATE_FILE",
        help="Run against the embedded emulator seeded from this state file instead of Alibaba "
        "Cloud; no credentials are needed.",
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile", help="aliyun CLI profile to take credentials from (default: the chain)."
    ),
]
Region = Annotated[str, typer.Option("--region", help="Region of the API endpoints.")]
Concurrency = Annotated[
    int,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        help="The most API calls in flight per API product and account; below it, permctl "
        "finds how many the API takes, and keeps CloudSSO's published limits.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output on stderr.")]
OutputFormat = Annotated[
    Format,
    typer.Option(
        "--format", help="text for terminals, markdown for pull requests, json for tools."
    ),
]
Force = Annotated[
    bool, typer.Option("--force", help="Accept a plan over safety.max_delete_percent.")
]
AllowLockout = Annotated[
    bool,
    typer.Option(
        "--allow-lockout",
        help="Accept a plan leaving a managed mesh without istio-admin or changing the caller's "
        "own grants.",
    ),
]


def input_paths(files: list[Path] | None) -> list[Path]:
    """The files the command reads: those given, directories expanded, or permissions.yaml."""
    from permctl.config import expand_paths  # the models: see app.py

    return expand_paths(given_paths(files))


def given_paths(files: list[Path] | None) -> list[Path]:
    return files or [DEFAULT_FILE]


def load_config(files: list[Path] | None) -> Config:
    from permctl.config import load_files

    return load_files(input_paths(files))


def overrides(force: bool, allow_lockout: bool) -> frozenset[Override]:
    """The overrides the safety gate is to accept, from the flags that give them."""
    given: tuple[tuple[Override, bool], ...] = (("force", force), ("allow_lockout", allow_lockout))
    return frozenset(override for override, flag in given if flag)


def target(emulator: Path | None, profile: str | None, concurrency: int, quiet: bool) -> Target:
    from permctl.cli.progress import ReadProgress
    from permctl.workflow import Target  # loads the cloud SDKs: see app.py

    return Target(
        emulator_state=emulator,
        profile=profile,
        concurrency=concurrency,
        progress=ReadProgress(quiet=quiet),
    )
