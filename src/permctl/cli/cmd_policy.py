"""`permctl policy`: the RAM policies permctl needs for a file, to attach before running it."""

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from permctl.cli.app import app, examples, fail
from permctl.cli.options import Files, load_config
from permctl.errors import PermctlError
from permctl.tools.policy_mode import Mode

if TYPE_CHECKING:
    from permctl.tools.policy import PolicyFor


class PolicyFormat(str, Enum):
    JSON = "json"  # every document, each with whom to attach it to: for review and tools
    DOCUMENT = "document"  # one document alone, as CreatePolicy takes it


@app.command(
    epilog=examples(
        "permctl policy permissions.yaml --mode plan > plan-policies.json",
        "permctl policy permissions.yaml --mode apply --format document --identity caller",
        "permctl policy permissions.yaml --mode apply --out-dir policies/",
        "aliyun ram CreatePolicy --PolicyName permctl-apply "
        '--PolicyDocument "$(cat policies/caller.json)"',
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
    output_format: Annotated[
        PolicyFormat,
        typer.Option(
            "--format",
            help="json: every document with whom to attach it to; document: the document of "
            "--identity alone, ready for `aliyun ram CreatePolicy --PolicyDocument`.",
        ),
    ] = PolicyFormat.JSON,
    identity: Annotated[
        str | None,
        typer.Option(
            "--identity",
            metavar="NAME",
            help="With --format document: `caller` (your own credentials), "
            "`<account id>-<role name>` or the role's ARN (a section's role), or `diagnose` "
            "(a reviewer's, for permctl diagnose).",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="Write each document alone to DIR/<name>.json (names as for --identity).",
        ),
    ] = None,
) -> None:
    """Print the least-privilege RAM policies permctl needs to run on the files.

    The documents (JSON, Version 1) cover exactly the meshes, directory and accounts of the
    files: one per identity (each section's role, or your own credentials, which also assume
    those roles), and the one a reviewer needs for `permctl diagnose`. Offline: reads only
    the files."""
    if identity is not None and output_format is not PolicyFormat.DOCUMENT:
        raise typer.BadParameter("give it with --format document", param_hint="--identity")
    from permctl.tools.policy import render, required_policies  # the file models: see app.py

    policies = required_policies(load_config(files), mode)
    if out_dir is not None:
        _write_documents(policies, out_dir)
    elif output_format is PolicyFormat.DOCUMENT:
        typer.echo(_json(_document_of(policies, identity)), nl=False)
    else:
        typer.echo(_json(render(policies)), nl=False)


def _document_of(policies: "list[PolicyFor]", identity: str | None) -> dict[str, Any]:
    from permctl.tools.policy import DIAGNOSE_NAME, documents

    by_name = documents(policies)
    by_arn = {p.attach_to: by_name[p.name] for p in policies if p.name != DIAGNOSE_NAME}
    document = by_name.get(identity or "") or by_arn.get(identity or "")
    if document is None:
        given = f"{identity!r} is not an identity of these files" if identity else "missing"
        raise typer.BadParameter(
            f"{given}; give one of: {', '.join(by_name)}", param_hint="--identity"
        )
    return document


def _write_documents(policies: "list[PolicyFor]", out_dir: Path) -> None:
    from permctl.tools.policy import DIAGNOSE_NAME, documents

    attach_to = {p.name: p.attach_to for p in policies if p.name != DIAGNOSE_NAME}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, document in documents(policies).items():
            path = out_dir / f"{name}.json"
            path.write_text(_json(document), encoding="utf-8")
            who = attach_to.get(name, "whoever runs permctl diagnose")
            typer.echo(f"wrote {path}: attach to {who}", err=True)
    except OSError as error:
        fail(PermctlError(f"cannot write in {out_dir}: {error.strerror or error}"))


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
