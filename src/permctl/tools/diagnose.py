"""Why a call failed: the gateway's log of it (OpenAPI Explorer GetRequestLog) and, for an access
denial, RAM's decoding of its diagnostic message, with the statement that would allow it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from permctl.providers import Providers
from permctl.providers.openapiexplorer import RequestLog
from permctl.providers.ram import DecodedDenial
from permctl.tools.policy import policy_document

# Of the --format json diagnosis: additions keep it, renaming or removing a field makes it "2".
FORMAT_VERSION = "1"

# NoPermissionPolicyType -> the kind of policy, as a reader should hear it.
POLICY_KINDS: Mapping[str, str] = {
    "AccountLevelIdentityBasedPolicy": "the identity's RAM policies in its account",
    "ResourceGroupLevelIdentityBasedPolicy": "the identity's RAM policies on the resource group",
    "ControlPolicy": "a resource directory control policy",
    "SessionPolicy": "the policy of the STS session",
    "AssumeRolePolicy": "the role's trust policy",
}


CONTROL_POLICY = "ControlPolicy"


@dataclass(frozen=True)
class Diagnosis:
    log: RequestLog
    denial: DecodedDenial | None

    @property
    def allowing_policy(self) -> dict[str, Any] | None:
        """The RAM policy document whose statement would allow what was denied; None when
        nothing was denied, an explicit Deny wins over any Allow, or a control policy bounds
        what any RAM policy of the account can allow."""
        denial = self.denial
        if denial is None or denial.explicit_deny or denial.policy_type == CONTROL_POLICY:
            return None
        return policy_document(
            [
                {
                    "Effect": "Allow",
                    "Action": [denial.auth_action],
                    "Resource": [denial.auth_resource],
                }
            ]
        )

    def as_json(self) -> dict[str, Any]:
        log = self.log
        return {
            "format_version": FORMAT_VERSION,
            "request_id": log.request_id,
            "api": log.api,
            "api_version": log.api_version,
            "product": log.product,
            "caller": {"account_id": log.caller_account_id, "type": log.caller_type},
            "http_status": log.http_status,
            "error_code": log.error_code or None,
            "error_message": log.error_message or None,
            "throttling_result": log.throttling_result,
            "throttled": log.throttled,
            "parameters": dict(log.parameters),
            "access_denied": _denial_json(self.denial) if self.denial else None,
            "allowing_policy": self.allowing_policy,
        }


def diagnose(request_id: str, providers: Providers) -> Diagnosis:
    log = providers.openapiexplorer.request_log(request_id)
    denied = log.access_denied
    denial = providers.ram.decode_diagnostic(denied.encoded_diagnostic_message) if denied else None
    return Diagnosis(log, denial)


def denial_sentence(denial: DecodedDenial) -> str:
    kind = POLICY_KINDS.get(denial.policy_type, denial.policy_type or "an unnamed policy type")
    how = "explicitly denied by" if denial.explicit_deny else "not allowed by"
    who = (
        f"{denial.principal_type} {denial.principal_name} of account {denial.principal_account_id}"
    )
    return f"{denial.auth_action} on {denial.auth_resource} was {how} {kind} ({who})"


def _denial_json(denial: DecodedDenial) -> dict[str, Any]:
    return {
        "action": denial.auth_action,
        "resource": denial.auth_resource,
        "principal": {
            "type": denial.principal_type,
            "name": denial.principal_name,
            "account_id": denial.principal_account_id,
        },
        "policy_type": denial.policy_type,
        "explicit_deny": denial.explicit_deny,
        "matched_policies": list(denial.matched_policies),
        "explanation": denial_sentence(denial),
    }


def render_text(diagnosis: Diagnosis) -> str:
    log = diagnosis.log
    status = log.http_status if log.http_status is not None else "unknown"
    api = f"{log.product}:{log.api}" if log.product else log.api
    caller = f"{log.caller_type or 'unknown'} in account {log.caller_account_id or 'unknown'}"
    lines = [
        f"RequestId   {log.request_id}",
        f"API         {api} ({log.api_version})",
        f"Caller      {caller}",
        f"HTTP status {status}",
        f"Error       {log.error_code}: {log.error_message}"
        if log.error_code
        else "Error       none",
        f"Throttling  {log.throttling_result or 'unknown'}"
        + (
            " (the call was throttled: retry later, or lower --concurrency)"
            if log.throttled
            else ""
        ),
        "Parameters" + ("" if log.parameters else "  none"),
        *(f"  {name} = {value}" for name, value in log.parameters.items()),
    ]
    if diagnosis.denial:
        lines += ["", "Access denied: " + denial_sentence(diagnosis.denial) + "."]
        if diagnosis.denial.matched_policies:
            lines.append("Denying policies: " + ", ".join(diagnosis.denial.matched_policies))
        lines += _remedy(diagnosis)
    return "\n".join(lines) + "\n"


def _remedy(diagnosis: Diagnosis) -> list[str]:
    """What would let the call through, as far as the caller's account can tell."""
    allowing = diagnosis.allowing_policy
    if allowing:
        return ["A policy with this statement would allow it:", json.dumps(allowing, indent=2)]
    assert diagnosis.denial is not None
    if diagnosis.denial.policy_type == CONTROL_POLICY:
        return [
            "No RAM policy of this account can allow it: only the resource directory's "
            "management account can change the control policy, or detach it from this account."
        ]
    return ["An explicit Deny wins over any Allow: remove or narrow the denying policy."]
