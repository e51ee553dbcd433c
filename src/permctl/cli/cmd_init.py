"""`permctl init`: a commented starter permissions file, from live state when it can be read."""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from permctl.cli.app import app, examples, stderr_console
from permctl.cli.options import Concurrency, EmulatorState, Profile, Quiet, Region, target
from permctl.cloudlimits import DEFAULT_CEILING
from permctl.errors import PermctlError
from permctl.files import write_atomically

if TYPE_CHECKING:
    from permctl.workflow import Target

# Variables by which the credentials chain finds a key, a role to assume through OIDC, or a
# credentials service; with none of them and no aliyun CLI configuration, init makes no call.
CREDENTIAL_VARIABLES = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_CREDENTIALS_URI",
    "ALIBABA_CLOUD_CREDENTIALS_FILE",
    "ALIBABA_CLOUD_ECS_METADATA",
)
ALIYUN_CLI_CONFIG = Path("~/.aliyun/config.json")

NEXT_STEPS = """\
# Next steps:
#   permctl validate {out}     # offline check
#   permctl plan {out}         # what apply would change; nothing is changed
#   permctl apply {out}        # make it so (shows the plan and asks first)
# Every field: docs/file-reference.md. Editor completion: permctl schema --out permctl.schema.json
"""

TEMPLATE = """\
# Who may do what, as code. Written by `permctl init` as a starting point: replace the example
# ids and names with yours and delete the section you do not use.
#
{next_steps}
version: 1

settings:
  region: cn-shanghai                   # region of the API endpoints
  safety:
    max_delete_percent: 30              # apply refuses plans that remove more than this share
    protected_principals: [break-glass] # never changed by permctl, whatever this file says

# Service Mesh (ASM) RBAC. Roles: istio-admin, istio-ops, istio-readonly.
asm:
  meshes:                               # alias -> mesh id; only these meshes are managed
    prod: c0000000000000000000000000000001
  teams:                                # reusable role sets: {{mesh alias: role}}
    mesh-admins: {{prod: istio-admin}}
  principals:
    - name: alice                       # the label plans and messages use
      ram_user: alice                   # RAM user name or id (quote ids); or ram_role:
      teams: [mesh-admins]
    - name: ci-deployer
      ram_role: ci-deployer
      roles: {{prod: istio-ops}}
      expires: 2030-01-01               # optional: after this date the roles are removed
  prune_unlisted: false                 # true: principals not listed lose their roles here

# CloudSSO access assignments on resource directory accounts.
cloudsso:
  directory: d-000000000000             # CloudSSO directory id
  scope: accounts                       # only the accounts named below are managed
  assignments:
    - access_configuration: ReadOnly    # access configuration name or ac- id
      accounts: [dev-test]              # account names or ids; or folders: [fd-...]
      users: [alice]                    # CloudSSO user names; and/or groups: [...]
  prune_unlisted: false                 # true: undeclared assignments on managed accounts go
"""


@app.command(
    epilog=examples(
        "permctl init",
        "permctl init --emulator examples/live-state.yaml --directory d-00fc2p61abcd",
        "permctl init --template --out conf/permissions.yaml",
    ),
)
def init(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")] = Path(
        "permissions.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    template: Annotated[
        bool,
        typer.Option("--template", help="Write the commented template even with credentials."),
    ] = False,
    directory: Annotated[
        str | None,
        typer.Option(
            "--directory",
            metavar="d-...",
            help="CloudSSO directory to read assignments from (live state only).",
        ),
    ] = None,
    region: Region = "cn-shanghai",
    emulator: EmulatorState = None,
    profile: Profile = None,
    concurrency: Concurrency = DEFAULT_CEILING,
    quiet: Quiet = False,
) -> None:
    """Write a commented starter permissions file.

    With credentials (or --profile, or --emulator) it declares what is live: every mesh of the
    region with the roles held on it and, with --directory, the CloudSSO assignments, as
    `permctl import` does. Without, it writes a commented template. Exit status: 0 written, 1
    error (also when --out exists and --force is not given).
    """
    if out.exists() and not force:
        raise PermctlError(f"{out} already exists; use --force to overwrite it or --out elsewhere")
    live = not template and (emulator is not None or profile is not None or _credentials_found())
    next_steps = NEXT_STEPS.format(out=out)
    if live:
        text = (
            next_steps
            + "\n"
            + _from_live_state(region, directory, target(emulator, profile, concurrency, quiet))
        )
        source = "live state"
    else:
        text = TEMPLATE.format(out=out, next_steps=next_steps)
        source = "the template" if template else "the template: no credentials found"
    write_atomically(out, text, overwrite=force)
    if not quiet:
        stderr_console().print(
            f"Wrote {out} from {source}. Next: permctl validate {out} && permctl plan {out}",
            markup=False,
        )


def _credentials_found() -> bool:
    return any(os.environ.get(name) for name in CREDENTIAL_VARIABLES) or (
        ALIYUN_CLI_CONFIG.expanduser().is_file()
    )


def _from_live_state(region: str, directory: str | None, where: "Target") -> str:
    from permctl.config import Config  # the file models: see app.py
    from permctl.tools.importer import (  # loads the cloud SDKs: see app.py
        ImportRequest,
        MeshRequest,
        import_file,
    )
    from permctl.workflow import connect

    config = Config.model_validate({"version": 1, "settings": {"region": region}})
    with connect(config, where) as session:
        meshes = session.asm.servicemesh.list_meshes()
        request = ImportRequest(
            region=region,
            meshes=tuple(MeshRequest(mesh_id) for mesh_id in meshes),
            directory_id=directory,
        )
        return import_file(request, session)
