"""STS 2015-04-01: GetCallerIdentity, so a client can learn which principal its key is."""

from __future__ import annotations

from typing import Any

from permctl.emulator.context import Context, Handler

VERSION = "2015-04-01"
SERVICE = "sts"
ROLE_SESSION = "permctl"


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
        "Arn": f"acs:ram::{account}:assumed-role/{caller.display_name.lower()}/{ROLE_SESSION}",
        "PrincipalId": f"{caller.principal_id}:{ROLE_SESSION}",
        "RoleId": caller.principal_id,
    }


HANDLERS: dict[str, Handler] = {"GetCallerIdentity": get_caller_identity}
WRITES: frozenset[str] = frozenset()
