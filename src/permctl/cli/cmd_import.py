"""`permctl import`: write a permissions file from what is live."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from permctl.cli.app import app, examples, stderr_console
from permctl.cli.options import Concurrency, EmulatorState, Profile, Quiet, target
from permctl.cloudlimits import DEFAULT_CEILING
from permctl.errors import PermctlError
from permctl.files import write_atomically

if TYPE_CHECKING:
    from permctl.tools.importer import ImportRequest, MeshRequest


class ImportUsageError(PermctlError):
    """The import options do not say what to import."""


@app.command(
    "import",
    epilog=examples(
        "permctl import --emulator examples/live-state.yaml --directory d-00fc2p61abcd "
        "--mesh c57b848115458460583a4260cb713abc=prod --out imported.yaml",
        "permctl import --mesh c57b848115458460583a4260cb713abc --directory d-00fc2p61abcd "
        "--accounts dev-test,prod-main --out permissions.yaml --force",
    ),
)
def import_(
    mesh: Annotated[
        list[str] | None,
        typer.Option(
            "--mesh",
            metavar="ID[=ALIAS]",
            help="A mesh to import, by instance id, with the alias the file should give it "
            "(default: the mesh's name). Repeat for several.",
        ),
    ] = None,
    directory: Annotated[
        str | None,
        typer.Option("--directory", metavar="d-...", help="CloudSSO directory to import."),
    ] = None,
    accounts: Annotated[
        list[str] | None,
        typer.Option(
            "--accounts",
            metavar="ACCOUNT[,ACCOUNT...]",
            help="Resource directory accounts (ids or names) whose CloudSSO assignments are "
            "imported; the file then manages only those (scope accounts). Default: every "
            "account (scope directory).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="The file to write.")] = Path(
        "permissions.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    region: Annotated[
        str, typer.Option("--region", help="Region of the API endpoints.")
    ] = "cn-shanghai",
    emulator: EmulatorState = None,
    profile: Profile = None,
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Write a permissions file declaring what is live.

    It declares the Service Mesh roles on the given meshes and the CloudSSO assignments in
    the given directory. Reads only, changes nothing.

    Exit status: 0 written, 1 error (also when --out exists and --force is not given).
    """
    from permctl.tools.importer import import_file  # loads the cloud SDKs: see app.py
    from permctl.workflow import connect

    request = _request(mesh or [], directory, accounts or [], region)
    if out.exists() and not force:
        raise ImportUsageError(f"{out} already exists; use --force to overwrite it")
    from permctl.config import Config  # the file models: see app.py

    config = Config.model_validate({"version": 1, "settings": {"region": region}})
    with connect(config, target(emulator, profile, concurrency, quiet)) as session:
        text = import_file(request, session)
    write_atomically(out, text, overwrite=force)
    if not quiet:
        stderr_console().print(f"Wrote {out}. Review it, then: permctl plan {out}", markup=False)


def _request(
    meshes: list[str], directory: str | None, accounts: list[str], region: str
) -> "ImportRequest":
    from permctl.tools.importer import ImportRequest

    if not meshes and directory is None:
        raise ImportUsageError("nothing to import: give --mesh, --directory or both")
    if accounts and directory is None:
        raise ImportUsageError("--accounts needs --directory")
    return ImportRequest(
        region=region,
        meshes=tuple(_mesh(m) for m in dict.fromkeys(meshes)),
        directory_id=directory,
        accounts=tuple(a.strip() for value in accounts for a in value.split(",") if a.strip()),
    )


def _mesh(value: str) -> "MeshRequest":
    from permctl.tools.importer import MeshRequest

    mesh_id, equals, alias = (part.strip() for part in value.partition("="))
    if not mesh_id or (equals and not alias):
        raise ImportUsageError(f"--mesh {value!r}: write the mesh id, optionally =alias")
    return MeshRequest(mesh_id, alias or None)
