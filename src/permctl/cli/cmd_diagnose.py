"""`permctl diagnose REQUEST_ID`: why a call failed, from the gateway's log of it."""

import json
import re
from enum import Enum
from typing import Annotated

import typer

from permctl.cli.app import app, examples, stdout_console
from permctl.cli.options import EmulatorState, Profile
from permctl.errors import PermctlError


class DiagnosisFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


@app.command(
    epilog=examples(
        "permctl diagnose 01E1FE97-340E-49A1-9BB9-B47032263B23",
        "permctl diagnose 01E1FE97-... --assume-role acs:ram::1234567890123456:role/diagnose",
        "permctl diagnose 01E1FE97-... --format json",
    ),
)
def diagnose(
    request_id: Annotated[str, typer.Argument(help="The RequestId an error printed.")],
    assume_role: Annotated[
        str | None,
        typer.Option(
            "--assume-role",
            metavar="ARN",
            help="Read the log as this RAM role: the account where the call was made, when it "
            "is not the caller's own.",
        ),
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="External id the role's trust wants.")
    ] = None,
    output_format: Annotated[
        DiagnosisFormat, typer.Option("--format", help="text for people, json for tools.")
    ] = DiagnosisFormat.TEXT,
    emulator: EmulatorState = None,
    profile: Profile = None,
) -> None:
    """Show why a call failed, from the gateway's log of it.

    Shows the API, caller, HTTP status, error, parameters and throttling; for an access
    denial, which action on which resource which kind of policy refused, and the policy
    statement that would allow it. Calls OpenAPI Explorer GetRequestLog and RAM
    DecodeDiagnosticMessage (see `permctl policy` for the permissions they need)."""
    from permctl.roles import ROLE_ARN_PATTERN, RoleAccess

    if assume_role is not None and not re.fullmatch(ROLE_ARN_PATTERN, assume_role):
        raise PermctlError(
            f"--assume-role {assume_role!r} is not a RAM role ARN such as "
            "acs:ram::1234567890123456:role/name"
        )
    from permctl.tools.diagnose import (  # loads the cloud SDKs: see app.py
        diagnose as diagnose_request,
    )
    from permctl.tools.diagnose import render_text
    from permctl.workflow import Target, connect_as

    where = Target(emulator_state=emulator, profile=profile)
    role = RoleAccess(assume_role, external_id, "permctl-diagnose") if assume_role else None
    with connect_as(where, role) as providers:
        diagnosis = diagnose_request(request_id, providers)
    if output_format is DiagnosisFormat.JSON:
        typer.echo(json.dumps(diagnosis.as_json(), indent=2, sort_keys=True))
    else:
        stdout_console().print(render_text(diagnosis), end="", markup=False)
