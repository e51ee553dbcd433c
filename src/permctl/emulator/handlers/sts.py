"""STS 2015-04-01: GetCallerIdentity, so a client can learn which principal its key is, and
AssumeRole, whose temporary key acts as the role in the role's account."""

from __future__ import annotations

import re
import secrets
from typing import Any

from permctl.emulator.context import Context, Handler
from permctl.emulator.errors import ApiFault, invalid
from permctl.emulator.schema import iso_time
from permctl.emulator.signing import Credential

VERSION = "2015-04-01"
SERVICE = "sts"
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]+):role/(?P<name>[^/\s]+)$")
MIN_DURATION_S, MAX_DURATION_S = 900, 3600


def assumed_role_arn(account_id: str, role_name: str, session_name: str) -> str:
    return f"acs:ram::{account_id}:assumed-role/{role_name.lower()}/{session_name}"


def get_caller_identity(ctx: Context) -> dict[str, Any]:
    caller, account = ctx.caller, ctx.state.account_id
    if caller.identity_type == "Account":
        return {
            "IdentityType": "Account",
            "AccountId": account,
            "Arn": f"acs:ram::{account}:root",
            "PrincipalId": account,
            "UserId": account,
        }
    if caller.identity_type == "RAMUser":
        return {
            "IdentityType": "RAMUser",
            "AccountId": account,
            "Arn": f"acs:ram::{account}:user/{caller.display_name}",
            "PrincipalId": caller.principal_id,
            "UserId": caller.principal_id,
        }
    return {
        "IdentityType": "AssumedRoleUser",
        "AccountId": account,
        "Arn": assumed_role_arn(account, caller.display_name, caller.session_name),
        "PrincipalId": f"{caller.principal_id}:{caller.session_name}",
        "RoleId": caller.principal_id,
    }


def assume_role(ctx: Context) -> dict[str, Any]:
    """Any key of the emulator may assume any role of any account in the state file; a role
    with an `external_id` wants it, as a trust policy's sts:ExternalId condition does."""
    arn = ctx.params.require("RoleArn")
    session_name = ctx.params.require("RoleSessionName")
    duration = ctx.params.integer("DurationSeconds", MAX_DURATION_S, MIN_DURATION_S, MAX_DURATION_S)
    match = _ROLE_ARN.match(arn)
    if match is None:
        raise invalid("RoleArn", f"The parameter RoleArn {arn!r} is not a RAM role ARN.")
    account = ctx.state.accounts.get(match["account"])
    role = account.roles_by_lower_name.get(match["name"].lower()) if account else None
    if account is None or role is None:
        raise ApiFault("EntityNotExist.Role", f"The role {arn!r} does not exist.", 404)
    if role.external_id is not None and ctx.params.get("ExternalId") != role.external_id:
        raise ApiFault(
            "NoPermission",
            f"You are not authorized to assume {arn}: the trust policy wants an ExternalId.",
            403,
        )
    key = Credential(
        f"STS.{secrets.token_hex(10)}",
        secrets.token_hex(16),
        f"CAIS{secrets.token_hex(24)}",
        role.id,
        account.account_id,
        session_name,
    )
    ctx.state.keys[key.access_key_id] = key
    return {
        "Credentials": {
            "AccessKeyId": key.access_key_id,
            "AccessKeySecret": key.access_key_secret,
            "SecurityToken": key.security_token,
            "Expiration": iso_time(ctx.now + duration),
        },
        "AssumedRoleUser": {
            "Arn": assumed_role_arn(account.account_id, role.name, session_name),
            "AssumedRoleId": f"{role.id}:{session_name}",
        },
    }


HANDLERS: dict[str, Handler] = {
    "GetCallerIdentity": get_caller_identity,
    "AssumeRole": assume_role,
}
WRITES: frozenset[str] = frozenset()
