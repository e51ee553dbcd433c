"""ACS3-HMAC-SHA256 verification, rebuilding the canonical request exactly as
`alibabacloud_tea_openapi.utils.Utils.get_authorization` does on the client side:

    METHOD \\n PATH \\n sorted query (values quoted, safe "~") \\n
    lower-case signed headers "name:value\\n" \\n signed header names joined by ";" \\n
    hex SHA-256 of the body (the x-acs-content-sha256 header)

signed with HMAC-SHA256 over "ACS3-HMAC-SHA256\\n" + hex SHA-256 of that canonical request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

from permctl.emulator.errors import ApiFault

ALGORITHM = "ACS3-HMAC-SHA256"
MAX_CLOCK_SKEW_S = 15 * 60
# Headers an attacker could otherwise swap without breaking the signature.
_ALWAYS_SIGNED = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+)\s+Credential=(?P<key>[^,\s]*),\s*SignedHeaders=(?P<headers>[^,\s]*),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)$"
)


@dataclass(frozen=True)
class Credential:
    """One AccessKey pair the emulator accepts. `security_token` set: an STS-style key that is
    only valid with that token. `principal_id`: the RAM user or role the key belongs to (None:
    the account itself)."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    principal_id: str | None = None
    account_id: str | None = None  # set for AssumeRole's keys: the role's account
    session_name: str = "permctl"  # AssumeRole's RoleSessionName


@dataclass(frozen=True)
class Caller:
    """Who signed a call, as an AccessDeniedDetail and GetCallerIdentity describe it."""

    access_key_id: str
    identity_type: str  # Account | RAMUser | AssumedRoleUser
    principal_id: str
    display_name: str
    session_name: str = "permctl"


# A plain dict, so that temporary keys (STS AssumeRole) can be added at runtime.
KeyStore = dict[str, Credential]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: Mapping[str, str]  # decoded
    headers: Mapping[str, tuple[str, ...]]  # lower-case names, every value received
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


def canonical_request(
    request: HttpRequest, signed_headers: Sequence[str], payload_hash: str
) -> str:
    query = "&".join(
        f"{key}={quote(request.query[key], safe='~')}" for key in sorted(request.query)
    )
    headers = "".join(f"{name}:{_header_value(request, name)}\n" for name in signed_headers)
    return "\n".join(
        (
            request.method,
            request.path or "/",
            query,
            headers,
            ";".join(signed_headers),
            payload_hash,
        )
    )


def _header_value(request: HttpRequest, name: str) -> str:
    """A repeated header's values sorted and joined with commas, as the SDK does."""
    values = request.headers.get(name, ())
    if len(values) == 1:
        return values[0].strip()
    return ",".join(sorted(v.strip() for v in values))


def string_to_sign(canonical: str) -> str:
    return f"{ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def signature(secret: str, canonical: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign(canonical).encode(), hashlib.sha256)
    return digest.hexdigest()


def query_signature(secret: str, method: str, query: Mapping[str, str]) -> str:
    """Base64 HMAC-SHA1, keyed with `secret&`, of METHOD&%2F&(the sorted query, encoded)."""
    canonical = "&".join(
        f"{_rfc3986(key)}={_rfc3986(query[key])}" for key in sorted(query) if key != "Signature"
    )
    text = f"{method}&{_rfc3986('/')}&{_rfc3986(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _rfc3986(value: str) -> str:
    return quote(value, safe="~")


def authorization_key_id(request: HttpRequest) -> str | None:
    """The AccessKey id a request claims, for the call log, whether or not it verifies."""
    match = _AUTHORIZATION.match(request.header("authorization") or "")
    return match["key"] if match else request.query.get("AccessKeyId")


class NonceCache:
    """Signature nonces seen within the clock-skew window: a replayed request is refused."""

    def __init__(self, ttl_s: float = MAX_CLOCK_SKEW_S) -> None:
        self._ttl_s = ttl_s
        self._seen: set[str] = set()
        self._expiry: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def add(self, nonce: str, now: float) -> bool:
        """False when `nonce` was already used."""
        with self._lock:
            while self._expiry and self._expiry[0][0] <= now:
                self._seen.discard(self._expiry.popleft()[1])
            if nonce in self._seen:
                return False
            self._seen.add(nonce)
            self._expiry.append((now + self._ttl_s, nonce))
            return True


class Verifier:
    def __init__(self, keys: KeyStore, clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self._clock = clock
        self._nonces = NonceCache()

    def verify(self, request: HttpRequest) -> Credential:
        """The credential that signed `request`; raises ApiFault the way the cloud refuses."""
        match = _AUTHORIZATION.match(request.header("authorization") or "")
        if request.header("authorization") is None and "Signature" in request.query:
            return self._verify_query_signed(request)
        if request.header("authorization") is None:
            raise ApiFault("MissingAuthorization", "The request is not signed.", 400)
        if match is None or match["algorithm"] != ALGORITHM:
            raise ApiFault(
                "IncompleteSignature", f"The Authorization header is not {ALGORITHM}.", 400
            )
        credential = self.keys.get(match["key"])
        if credential is None:
            raise ApiFault("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        signed = match["headers"].split(";")
        payload_hash = self._payload_hash(request)
        self._check_signed_headers(request, signed)
        canonical = canonical_request(request, signed, payload_hash)
        expected = signature(credential.access_key_secret, canonical)
        if not hmac.compare_digest(expected, match["signature"].lower()):
            raise ApiFault(
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation. "
                f"server string to sign is:{string_to_sign(canonical)}",
                400,
            )
        self._check_token(request.header("x-acs-security-token"), credential)
        self._check_freshness(
            request.header("x-acs-date") or "", request.header("x-acs-signature-nonce") or ""
        )
        return credential

    def _verify_query_signed(self, request: HttpRequest) -> Credential:
        """The older RPC signature (HMAC-SHA1 over the sorted query, in the query), which the
        credentials package's RAM-role-ARN provider still uses for STS AssumeRole."""
        query = request.query
        if (query.get("SignatureMethod"), query.get("SignatureVersion")) != ("HMAC-SHA1", "1.0"):
            raise ApiFault("IncompleteSignature", "Only HMAC-SHA1 1.0 query signatures.", 400)
        credential = self.keys.get(query.get("AccessKeyId", ""))
        if credential is None:
            raise ApiFault("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        expected = query_signature(credential.access_key_secret, request.method, query)
        if not hmac.compare_digest(expected, query["Signature"]):
            raise ApiFault(
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation.",
                400,
            )
        self._check_token(query.get("SecurityToken"), credential)
        self._check_freshness(query.get("Timestamp", ""), query.get("SignatureNonce", ""))
        return credential

    @staticmethod
    def _payload_hash(request: HttpRequest) -> str:
        claimed = request.header("x-acs-content-sha256") or ""
        if claimed.lower() != hashlib.sha256(request.body).hexdigest():
            raise ApiFault(
                "SignatureDoesNotMatch",
                "The x-acs-content-sha256 header does not match the request body.",
                400,
            )
        return claimed

    @staticmethod
    def _check_signed_headers(request: HttpRequest, signed: Sequence[str]) -> None:
        acs_headers = [name for name in request.headers if name.startswith("x-acs-")]
        unsigned = [h for h in (*_ALWAYS_SIGNED, *acs_headers) if h not in signed]
        if unsigned or list(signed) != sorted(set(signed)):
            raise ApiFault(
                "IncompleteSignature",
                f"The headers {', '.join(dict.fromkeys(unsigned)) or signed} must be signed, "
                "once each, in order.",
                400,
            )

    @staticmethod
    def _check_token(token: str | None, credential: Credential) -> None:
        if credential.security_token is not None and token is None:
            raise ApiFault("MissingSecurityToken", "This AccessKey needs its SecurityToken.", 400)
        if token is not None and not hmac.compare_digest(token, credential.security_token or ""):
            raise ApiFault(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The SecurityToken does not belong to this AccessKey.",
                400,
            )

    def _check_freshness(self, date: str, nonce: str) -> None:
        now = self._clock()
        try:
            if not date.endswith("Z"):
                raise ValueError(date)
            sent = datetime.fromisoformat(date[:-1]).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            raise ApiFault(
                "InvalidTimeStamp.Format", f"x-acs-date {date!r} is not ISO 8601 UTC.", 400
            ) from None
        if abs(now - sent) > MAX_CLOCK_SKEW_S:
            raise ApiFault(
                "InvalidTimeStamp.Expired",
                f"x-acs-date {date} is more than 15 minutes from the server time.",
                400,
            )
        if not self._nonces.add(nonce, now):
            raise ApiFault(
                "SignatureNonceUsed", "The x-acs-signature-nonce has been used already.", 400
            )
