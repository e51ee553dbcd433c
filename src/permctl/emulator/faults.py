"""What can go wrong, and how often: the knobs, and the faults they inject.

Every call draws from its own random stream seeded by (seed, call sequence number), so a run
that makes the same calls in the same order sees the same faults, whatever the knobs were
changed to in between. Faults are injected before the action runs (a throttled or failed
write changes nothing), except `fail_after_write_rate`, which answers 503 after the write
was applied: the ambiguous outcome a real client must survive.
"""

from __future__ import annotations

import base64
import json
import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from permctl.cloudlimits import published_qps
from permctl.emulator.errors import ApiFault
from permctl.emulator.signing import Caller

THROTTLED = ("Throttling.User", "Request was denied due to user flow control.")
UNAVAILABLE = (
    "ServiceUnavailable",
    "The request has failed due to a temporary failure of the server.",
)
INTERNAL = (
    "InternalError",
    "The request processing has failed due to some unknown error, exception or failure.",
)

FILTER_QUOTES = ("unquote", "literal", "reject")

# GetCallerIdentity and AccessDeniedDetail name a RAM user differently.
_PRINCIPAL_TYPES = {"RAMUser": "SubUser"}


# Who refuses a denied call: no policy allows it (implicit), a RAM policy of the account
# denies it (explicit), or a control policy of the resource directory denies it (control).
DENY_KINDS = ("implicit", "explicit", "control")
# The policies an explicit or control-policy denial names as having matched.
DENYING_POLICIES = {
    "explicit": {"PolicyType": "Custom", "PolicyIdentifier": "deny-permissions-changes"},
    "control": {"PolicyType": "ControlPolicy", "PolicyIdentifier": "cp-freezepermissions01"},
}
# NoPermissionPolicyType of each kind.
_POLICY_TYPES = {
    "implicit": "AccountLevelIdentityBasedPolicy",
    "explicit": "AccountLevelIdentityBasedPolicy",
    "control": "ControlPolicy",
}


@dataclass(frozen=True)
class DenyRule:
    """Calls of `action` are refused with 403 `code`; only those naming one of `resource_ids`
    in a parameter when any are given. `kind` is one of DENY_KINDS."""

    action: str
    resource_ids: frozenset[str] = frozenset()
    code: str = "NoPermission"
    kind: str = "implicit"

    def __post_init__(self) -> None:
        if self.kind not in DENY_KINDS:
            raise ValueError(f"a denial is one of {', '.join(DENY_KINDS)}, not {self.kind!r}")

    @classmethod
    def parse(cls, text: str) -> DenyRule:
        """`Action`, `Action:id1,id2`, either followed by `/explicit` or `/control`, as the
        CLI takes it."""
        rule, _, kind = text.partition("/")
        action, _, ids = rule.partition(":")
        return cls(action, frozenset(i for i in ids.split(",") if i), kind=kind or "implicit")

    def matches(self, action: str, params: Mapping[str, str]) -> bool:
        if action != self.action:
            return False
        # Substring, because Permissions and SubAccountUserIds carry their ids inside JSON.
        return not self.resource_ids or any(
            rid in value for rid in self.resource_ids for value in params.values()
        )


@dataclass(frozen=True)
class Knobs:
    """How the emulator misbehaves; the defaults make it a perfect, instant cloud. Rates are
    probabilities per call, drawn from `seed`."""

    seed: int = 0
    latency_ms: float = 0.0  # added to every call
    latency_spike_rate: float = 0.0  # share of calls that take latency_spike_ms more
    latency_spike_ms: float = 0.0
    throttle_rate: float = 0.0  # Throttling.User
    throttle_status: int = 400  # the HTTP status of Throttling.User: 400 or 429
    retry_after_ms: int | None = None  # set: throttling carries x-acs-retry-after
    error_5xx_rate: float = 0.0  # ServiceUnavailable 503 or InternalError 500, half each
    qps_cap: int | None = None  # calls beyond it within one second are throttled
    # Per action and account: (("DescribeUserPermissions", 50),) throttles that action's calls
    # beyond 50 within one second in each account, whatever the other actions do.
    api_qps_caps: tuple[tuple[str, int], ...] = ()
    published_limits: bool = False  # enforce CloudSSO's published limits per action and account
    task_delay_s: float = 0.0  # until a CloudSSO task completes
    task_failure_rate: float = 0.0  # CloudSSO tasks that end Failed
    # By default answers take the shapes the API pages show: DescribeUserPermissions' single
    # permission as an object with ParentId and IsRamRole as strings, a NextToken on the last
    # page of CloudSSO listings (the SDK's models type both fields as strings too). Set:
    # Permissions always an array, IsRamRole a JSON boolean, ParentId a number, and no
    # NextToken on a last page.
    native_shapes: bool = False
    # DescribeUserPermissions' IsRamRole as its own page reads it (true: a RAM user) instead of
    # as GrantUserPermissions' page and the field's name do (true: a RAM role).
    is_ram_role_means_user: bool = False
    # How a quoted CloudSSO Filter value is taken: unquoted, literally (quotes are part of the
    # name), or refused with InvalidParameter.Filter.
    filter_quotes: str = "unquote"
    # GrantUserPermissions refuses an empty list (InvalidParameter.Permissions), as an API
    # reading "you must pass all permissions" strictly might.
    refuse_empty_grants: bool = False
    fail_after_write_rate: float = 0.0  # writes applied, then answered with 503
    deny: tuple[DenyRule, ...] = ()  # answered 403 with an AccessDeniedDetail

    def __post_init__(self) -> None:
        rates = ("latency_spike_rate", "throttle_rate", "error_5xx_rate", "task_failure_rate")
        for name in (*rates, "fail_after_write_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("latency_ms", "latency_spike_ms", "task_delay_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.qps_cap is not None and self.qps_cap < 1:
            raise ValueError("qps_cap must be at least 1")
        if any(cap < 1 for _, cap in self.api_qps_caps):
            raise ValueError("an API's qps cap must be at least 1")
        if self.throttle_status not in (400, 429):
            raise ValueError("throttle_status must be 400 or 429")
        if self.filter_quotes not in FILTER_QUOTES:
            raise ValueError(f"filter_quotes must be one of {', '.join(FILTER_QUOTES)}")


class Dice:
    """The random draws of one call, from streams seeded by (seed, call sequence number): one
    for the faults, drawn all at once in a fixed order, and one for what the action decides
    (task outcome, ids), so that neither depends on the knobs or on the other. A stream is made
    only when drawn from: a call with no fault knob set pays nothing for it."""

    def __init__(self, seed: int, sequence: int) -> None:
        self._seed = f"{seed}/{sequence}"

    @cached_property
    def _faults(self) -> tuple[float, ...]:
        rng = random.Random(f"{self._seed}/faults")
        return tuple(rng.random() for _ in range(5))

    @cached_property
    def rng(self) -> random.Random:
        """For the action itself."""
        return random.Random(f"{self._seed}/action")

    def hit(self, draw: int, rate: float) -> bool:
        """Whether fault draw number `draw` falls under `rate`."""
        return rate > 0 and self._faults[draw] < rate


# Which fault draw decides what.
SPIKE, THROTTLE, ERROR, ERROR_KIND, AFTER_WRITE = range(5)


def latency_s(knobs: Knobs, dice: Dice) -> float:
    spike = knobs.latency_spike_ms if dice.hit(SPIKE, knobs.latency_spike_rate) else 0.0
    return (knobs.latency_ms + spike) / 1000


def throttled(knobs: Knobs) -> ApiFault:
    headers = {"x-acs-retry-after": str(knobs.retry_after_ms)} if knobs.retry_after_ms else {}
    return ApiFault(*THROTTLED, knobs.throttle_status, headers=headers)


def injected_fault(knobs: Knobs, dice: Dice) -> ApiFault | None:
    """Throttling or a 5xx drawn for this call, if any."""
    if dice.hit(THROTTLE, knobs.throttle_rate):
        return throttled(knobs)
    if dice.hit(ERROR, knobs.error_5xx_rate):
        code, message = UNAVAILABLE if dice.hit(ERROR_KIND, 0.5) else INTERNAL
        return ApiFault(code, message, 503 if code == UNAVAILABLE[0] else 500)
    return None


def after_write_fault(knobs: Knobs, dice: Dice) -> ApiFault | None:
    if dice.hit(AFTER_WRITE, knobs.fail_after_write_rate):
        return ApiFault(*UNAVAILABLE, 503)
    return None


def denied(
    knobs: Knobs,
    service: str,
    action: str,
    params: Mapping[str, str],
    caller: Caller,
    account_id: str,
) -> ApiFault | None:
    rule = next((r for r in knobs.deny if r.matches(action, params)), None)
    if rule is None:
        return None
    auth_action = f"{service}:{action}"
    principal = {
        "AuthPrincipalType": _PRINCIPAL_TYPES.get(caller.identity_type, caller.identity_type),
        "AuthPrincipalDisplayName": caller.display_name,
        "AuthPrincipalOwnerId": account_id,
    }
    resource = _resource_arn(service, params, account_id)
    detail: dict[str, Any] = {
        "AuthAction": auth_action,
        **principal,
        "NoPermissionType": "ImplicitDeny" if rule.kind == "implicit" else "ExplicitDeny",
        "PolicyType": _POLICY_TYPES[rule.kind],
        "EncodedDiagnosticMessage": _diagnostic(auth_action, resource, principal, rule.kind),
    }
    return ApiFault(
        rule.code,
        f"You are not authorized to perform this operation. Action: {auth_action}",
        403,
        extra={
            "AccessDeniedDetail": detail,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={rule.code}&product={service}",
        },
    )


def _resource_arn(service: str, params: Mapping[str, str], account_id: str) -> str:
    """The resource a denied call acted on, as RAM names it: a mesh or a CloudSSO directory;
    other calls (GrantUserPermissions among them: "All Resources" on its page) are not
    authorized per resource."""
    if service == "cloudsso" and params.get("DirectoryId"):
        return f"acs:cloudsso:*:{account_id}:directory/{params['DirectoryId']}"
    mesh = params.get("ServiceMeshId")
    if service == "servicemesh" and mesh:
        return f"acs:servicemesh:*:{account_id}:servicemesh/{mesh}"
    return "*"


def _diagnostic(auth_action: str, resource: str, principal: Mapping[str, str], kind: str) -> str:
    """Opaque to clients, as the cloud's is; base64 JSON, so that the emulator can decode it
    when it answers RAM DecodeDiagnosticMessage."""
    matched = DENYING_POLICIES.get(kind)
    document = {
        "AuthAction": auth_action,
        "AuthResource": resource,
        "AuthPrincipal": dict(principal),
        "NoPermissionPolicyType": _POLICY_TYPES[kind],
        "ExplicitDeny": kind != "implicit",
        "MatchedPolicies": [{**matched, "Effect": "Deny"}] if matched else [],
    }
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def decode_diagnostic(message: str) -> dict[str, Any] | None:
    """The document `_diagnostic` encoded; None for anything else."""
    try:
        document = json.loads(base64.b64decode(message, validate=True))
    except (ValueError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) and "AuthAction" in document else None


class QpsWindow:
    """Calls admitted in the last second; beyond the cap a call is throttled (and not counted)."""

    def __init__(self) -> None:
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, cap: float | None, now: float) -> bool:
        if cap is None:
            return True
        with self._lock:
            while self._admitted and self._admitted[0] <= now - 1.0:
                self._admitted.popleft()
            if len(self._admitted) >= cap:
                return False
            self._admitted.append(now)
            return True


def api_qps_cap(knobs: Knobs, service: str, action: str) -> float | None:
    """The cap on one action's calls per second in one account: its own knob, and CloudSSO's
    published limit when they are enforced; the lower of the two."""
    caps = [cap for name, cap in knobs.api_qps_caps if name == action]
    if knobs.published_limits and (published := published_qps(service, action)):
        caps.append(int(published))
    return min(caps, default=None)


class ApiQpsWindows:
    """One `QpsWindow` per (account, action), as the cloud counts its per-API limits."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], QpsWindow] = {}
        self._lock = threading.Lock()

    def admit(self, knobs: Knobs, service: str, action: str, account_id: str, now: float) -> bool:
        cap = api_qps_cap(knobs, service, action)
        if cap is None:
            return True
        with self._lock:
            window = self._windows.setdefault((account_id, action), QpsWindow())
        return window.admit(cap, now)
