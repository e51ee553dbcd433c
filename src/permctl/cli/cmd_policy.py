"""`permctl policy`: the RAM policies permctl needs for a file, to attach before running it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from permctl.cli.app import app, examples
from permctl.cli.options import Files, load_config
from permctl.tools.policy import Mode, render, required_policies


@app.command(
    epilog=examples(
        "permctl policy permissions.yaml --mode plan > plan-policies.json",
        "permctl policy permissions.yaml --mode apply",
    ),
)
def policy(
    files: Files = None,
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            help="plan: the reads of plan, drift and access; apply: those and the writes.",
        ),
    ] = Mode.PLAN,
) -> None:
    """Print the least-privilege RAM policies permctl needs to run on the files.

    The documents (JSON, Version 1) cover exactly the meshes, directory and accounts of the
    files: one per identity (each section's role, or your own credentials, which also assume
    those roles), and the one a reviewer needs for `permctl diagnose`. Offline: reads only
    the files."""
    config = load_config(files)
    typer.echo(json.dumps(render(required_policies(config, mode)), indent=2))
