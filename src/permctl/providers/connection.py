"""How permctl talks to Alibaba Cloud: clients, credentials, endpoints, retries, one call wrapper.

Retries are the SDK's own (darabonba RetryOptions, passed through the client Config): it retries
throttling codes, 5xx, `ThrottlingException` (honouring x-acs-retry-after) and connection
errors and timeouts, which the SDK raises as `RetryError` before any response exists. The call
wrapper here only turns what is left into permctl's errors and logs each call.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from alibabacloud_cloudsso20210515.client import Client as CloudSsoClient
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.http import HttpOptions
from alibabacloud_credentials.provider import (
    CLIProfileCredentialsProvider,
    DefaultCredentialsProvider,
    RamRoleArnCredentialsProvider,
    StaticAKCredentialsProvider,
)
from alibabacloud_credentials_api import ICredentialsProvider
from alibabacloud_openapiexplorer20241130.client import Client as OpenApiExplorerClient
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_resourcedirectorymaster20220419.client import Client as RdClient
from alibabacloud_servicemesh20200111.client import Client as ServiceMeshClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import Config as SdkConfig
from darabonba.exceptions import RetryError
from darabonba.policy.retry import RetryCondition, RetryOptions
from Tea.exceptions import TeaException, UnretryableException

from permctl.errors import (
    ApiError,
    ConfigError,
    ConfigProblem,
    CredentialsError,
    PermctlError,
    without_credentials,
)
from permctl.roles import CALLER, RoleAccess

T = TypeVar("T")
A = TypeVar("A")

log = logging.getLogger("permctl.api")

# The credentials package logs refresh failures with a traceback on its own stderr handler;
# permctl reports a missing credential as one sentence instead.
logging.getLogger("credentials").setLevel(logging.CRITICAL + 1)

_CLIENT_CLASSES: Mapping[str, Callable[[SdkConfig], Any]] = MappingProxyType(
    {
        "servicemesh": ServiceMeshClient,
        "cloudsso": CloudSsoClient,
        "resourcedirectory": RdClient,
        "ram": RamClient,
        "sts": StsClient,
        "openapiexplorer": OpenApiExplorerClient,
    }
)

SERVICES: tuple[str, ...] = tuple(_CLIENT_CLASSES)

ENDPOINT_ENV = "PERMCTL_ENDPOINT"

NO_CREDENTIALS = (
    "No Alibaba Cloud credentials found: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET, run `aliyun configure` (and pick it with --profile), "
    "or use --emulator."
)


@dataclass(frozen=True)
class AccessKey:
    """An explicit AccessKey pair (the embedded emulator's); the secret never appears in a repr."""

    access_key_id: str
    access_key_secret: str = field(repr=False)


class Progress(Protocol):
    """Shows how far a batch of calls has got; `track` yields the `advance()` to call per item."""

    def track(self, label: str, total: int) -> AbstractContextManager[Callable[[], None]]: ...


class _Silent:
    @contextmanager
    def track(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        yield lambda: None


NO_PROGRESS: Progress = _Silent()


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_ms: int = 200
    max_delay_ms: int = 10_000


@dataclass(frozen=True)
class ConnectionSettings:
    region: str = "cn-shanghai"
    endpoints: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    access_key: AccessKey | None = None
    profile: str | None = None
    retry: RetryPolicy = RetryPolicy()
    connect_timeout_ms: int = 5_000
    read_timeout_ms: int = 15_000
    concurrency: int = 8
    # How long reads are shown to whoever runs permctl; the CLI passes a progress bar.
    progress: Progress = field(default_factory=lambda: NO_PROGRESS)
    # False for the embedded emulator: its endpoints must win over PERMCTL_ENDPOINT*.
    endpoints_from_env: bool = True
    # Set: every call is made as this role, assumed with the credentials above.
    assume_role: RoleAccess | None = None

    def identity(self) -> str:
        return self.assume_role.describe() if self.assume_role else CALLER


@dataclass(frozen=True)
class Endpoint:
    host: str
    protocol: str  # "HTTP" or "HTTPS"


def parse_endpoint(value: str, source: str) -> Endpoint:
    """`http://127.0.0.1:8080` selects protocol and host; a bare host means HTTPS."""
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(
            [
                ConfigProblem(
                    source, 0, 0, "", f"endpoint {value!r} is not a host or http(s)://host[:port]"
                )
            ]
        )
    return Endpoint(parts.netloc, parts.scheme.upper())


def endpoint_for(
    service: str, endpoints: Mapping[str, str], environ: Mapping[str, str] = os.environ
) -> Endpoint | None:
    """The endpoint override for one service; None leaves the SDK's regional default.

    Precedence: PERMCTL_ENDPOINT_<SERVICE>, then PERMCTL_ENDPOINT, then settings.endpoints.
    """
    for name in (f"{ENDPOINT_ENV}_{service.upper()}", ENDPOINT_ENV):
        if environ.get(name):
            return parse_endpoint(environ[name], f"environment variable {name}")
    if endpoints.get(service):
        return parse_endpoint(endpoints[service], f"settings.endpoints.{service}")
    return None


class _CodePrefixes(tuple[str, ...]):
    """The SDK asks `code in condition.error_code`; answering by prefix makes every
    `Throttling.*` code retryable, including ones the API may add later."""

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.startswith(tuple(self))


# A connection that fails (refused, reset, timed out) is tried this many times in all, a short
# backoff apart: an endpoint that is down or mistyped costs about a second, not the minute of
# backoff throttling gets. Documented in docs/troubleshooting.md.
CONNECTION_ATTEMPTS = 3
CONNECTION_RETRY_DELAY_MS = 200


def retry_options(policy: RetryPolicy) -> RetryOptions:
    """The SDK applies the first condition an error matches: connection failures (RetryError,
    raised before any response) first, then throttling and server errors."""
    return RetryOptions(
        retryable=True,
        retry_condition=[
            RetryCondition(
                max_attempts=CONNECTION_ATTEMPTS,
                exception=["RetryError"],
                error_code=_CodePrefixes(()),
                backoff={
                    "policy": "ExponentialWithFullJitter",
                    "period": CONNECTION_RETRY_DELAY_MS,
                    "cap": CONNECTION_RETRY_DELAY_MS * 4,
                },
            ),
            RetryCondition(
                max_attempts=policy.max_attempts,
                exception=["ServerException", "ThrottlingException"],
                error_code=_CodePrefixes(("Throttling", "ServiceUnavailable", "InternalError")),
                backoff={
                    "policy": "ExponentialWithFullJitter",
                    "period": policy.base_delay_ms,
                    "cap": policy.max_delay_ms,
                },
                max_delay=policy.max_delay_ms,
            ),
        ],
    )


# A session lasts an hour; the credentials package renews it 15 minutes before it ends, so a
# run of any length assumes each role once.
ASSUMED_SESSION_S = 3600


def credential_client(settings: ConnectionSettings) -> CredentialClient | None:
    """None when an explicit key is given and no role is assumed: the SDK then signs with it."""
    if settings.assume_role is None:
        if settings.access_key:
            return None
        if settings.profile:
            return CredentialClient(provider=_base_provider(settings))
        return CredentialClient()
    return CredentialClient(provider=_assumed_role_provider(settings, settings.assume_role))


def _base_provider(settings: ConnectionSettings) -> ICredentialsProvider:
    if settings.access_key:
        return StaticAKCredentialsProvider(
            access_key_id=settings.access_key.access_key_id,
            access_key_secret=settings.access_key.access_key_secret,
        )
    if settings.profile:
        return CLIProfileCredentialsProvider(profile_name=settings.profile)
    return DefaultCredentialsProvider()


def _assumed_role_provider(settings: ConnectionSettings, role: RoleAccess) -> ICredentialsProvider:
    """The credentials package's RAM-role-ARN provider: it calls STS AssumeRole with the base
    credentials and caches the session. It hard-codes https, so an endpoint override is passed
    with its scheme, which it then keeps."""
    environ = os.environ if settings.endpoints_from_env else {}
    sts = endpoint_for("sts", settings.endpoints, environ)
    return RamRoleArnCredentialsProvider(
        credentials_provider=_base_provider(settings),
        role_arn=role.role_arn,
        role_session_name=role.session_name,
        external_id=role.external_id,
        duration_seconds=ASSUMED_SESSION_S,
        sts_region_id=settings.region,
        sts_endpoint=f"{sts.protocol.lower()}://{sts.host}" if sts else None,
        http_options=HttpOptions(
            connect_timeout=settings.connect_timeout_ms, read_timeout=settings.read_timeout_ms
        ),
    )


def sdk_config(settings: ConnectionSettings, service: str) -> SdkConfig:
    config = SdkConfig(
        region_id=settings.region,
        connect_timeout=settings.connect_timeout_ms,
        read_timeout=settings.read_timeout_ms,
        max_idle_conns=settings.concurrency,
        retry_options=retry_options(settings.retry),
    )
    if settings.access_key and settings.assume_role is None:
        config.access_key_id = settings.access_key.access_key_id
        config.access_key_secret = settings.access_key.access_key_secret
    environ = os.environ if settings.endpoints_from_env else {}
    endpoint = endpoint_for(service, settings.endpoints, environ)
    if endpoint:
        config.endpoint, config.protocol = endpoint.host, endpoint.protocol
    return config


class Connection:
    """Owns the SDK clients and the shared thread pool of one permctl run."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._credential = credential_client(settings)
        self._clients: dict[str, Any] = {}
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="permctl-api")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = sdk_config(self.settings, service)
            config.credential = self._credential
            self._clients[service] = _CLIENT_CLASSES[service](config)
        return self._clients[service]

    def call(self, action: str, send: Callable[[], T]) -> T:
        """Run one SDK call (the SDK retries inside); log it; failures become permctl errors."""
        started = time.monotonic()
        try:
            response = send()
        except Exception as error:  # every SDK failure is reported, never a traceback
            failure = as_permctl_error(action, error, self.settings.profile, self.settings)
            if self.settings.assume_role and isinstance(failure, CredentialsError):
                failure = assume_role_error(error, self.settings.assume_role) or failure
            _log_call(action, started, "failed", getattr(failure, "request_id", None), failure)
            raise failure from None
        _log_call(action, started, "ok", response_request_id(response))
        return response

    def map(self, fn: Callable[[A], T], items: Iterable[A], *, label: str) -> list[T]:
        """`fn` over `items` on the shared pool, results in input order; the first failure
        cancels what has not started and is raised. Never call `map` from inside `fn`: the
        pool is bounded, so nesting could wait on itself."""
        futures = {self._pool.submit(fn, item): index for index, item in enumerate(items)}
        results: list[Any] = [None] * len(futures)
        with self.settings.progress.track(label, total=len(futures)) as advance:
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    advance()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results


class _WithoutCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = without_credentials(record.getMessage()), None
        return True


# With DEBUG=sdk in the environment the SDK's HTTP cores print every request on their own
# stderr handlers, headers (x-acs-security-token) and AssumeRole's signed URL included.
for _sdk_logger in ("darabonba-core", "alibabacloud-tea"):
    logging.getLogger(_sdk_logger).addFilter(_WithoutCredentials())


def as_permctl_error(
    action: str,
    error: Exception,
    profile: str | None = None,
    settings: ConnectionSettings | None = None,
) -> PermctlError:
    if isinstance(error, UnretryableException) and error.inner_exception is not None:
        error = error.inner_exception
    if isinstance(error, CredentialException):
        hint = f" (profile {profile!r} could not be used)" if profile else ""
        return CredentialsError(NO_CREDENTIALS[:-1] + hint + ".")
    if isinstance(error, RetryError):
        return ApiError(action, "NetworkError", unreachable(str(error.message), settings), None)
    if isinstance(error, TeaException):
        return _response_error(action, error)
    return ApiError(action, type(error).__name__, str(error), None)


_POOL_HOST = re.compile(r"host='(?P<host>[^']+)', port=(?P<port>\d+)")
_CAUSES = (
    ("Connection refused", "connection refused"),
    ("timed out", "timed out"),
    ("Name or service not known", "no such host"),
    ("nodename nor servname", "no such host"),
    ("Temporary failure in name resolution", "no such host"),
)


def unreachable(sdk_message: str, settings: ConnectionSettings | None) -> str:
    """One sentence for a call that never got an answer: which endpoint, where permctl took
    it from, and what to check, instead of urllib3's retry report."""
    found = _POOL_HOST.search(sdk_message)
    if found is None:
        return sdk_message
    address = f"{found['host']}:{found['port']}"
    cause = next((said for text, said in _CAUSES if text in sdk_message), "no connection")
    source, check = _endpoint_source(address, settings)
    return (
        f"cannot reach {address} ({source}) after {CONNECTION_ATTEMPTS} attempts: {cause}; {check}"
    )


def _endpoint_source(address: str, settings: ConnectionSettings | None) -> tuple[str, str]:
    """Where the endpoint at `address` came from, and what to check there."""
    environ = os.environ if settings is None or settings.endpoints_from_env else {}
    for name, value in sorted(environ.items()):
        if name.startswith(ENDPOINT_ENV) and address in value:
            return f"{name}={value}", f"check that it serves there, or unset {name}"
    for service, value in settings.endpoints.items() if settings else ():
        if address in value:
            return f"settings.endpoints.{service}", "check that it serves there"
    region = settings.region if settings else "the configured region"
    return (
        f"the default endpoint for region {region}",
        "check the network, any proxy (HTTPS_PROXY) and settings.region",
    )


_STS_ANSWER = re.compile(r"http_code: (?P<status>\d+), result: (?P<body>\{.*\})", re.DOTALL)


def assume_role_error(error: Exception, role: RoleAccess) -> ApiError | None:
    """The credentials package reports a refused AssumeRole as text holding STS's answer;
    read the answer back so that the user sees its code and RequestId."""
    if isinstance(error, UnretryableException) and error.inner_exception is not None:
        error = error.inner_exception
    match = _STS_ANSWER.search(str(error))
    if not match:
        return None
    try:
        body = json.loads(match["body"])
    except json.JSONDecodeError:
        return None
    return ApiError(
        f"AssumeRole {role.role_arn}",
        str(body.get("Code") or "Unknown"),
        str(body.get("Message") or ""),
        body.get("RequestId"),
        int(match["status"]),
    )


def _response_error(action: str, error: TeaException) -> ApiError:
    data = error.data if isinstance(error.data, dict) else {}
    request_id = (
        data.get("RequestId") or data.get("requestId") or getattr(error, "request_id", None)
    )
    return ApiError(
        action,
        str(error.code or "Unknown"),
        str(data.get("Message") or data.get("message") or error.message or ""),
        str(request_id) if request_id and request_id != "None" else None,
        getattr(error, "status_code", None),
    )


def response_request_id(response: Any) -> str | None:
    """The RequestId of a typed SDK response or of a raw `call_api` dict."""
    body = response.get("body") if isinstance(response, dict) else getattr(response, "body", None)
    if isinstance(body, dict):
        return body.get("RequestId")
    return getattr(body, "request_id", None)


def _log_call(
    action: str,
    started: float,
    outcome: str,
    request_id: str | None,
    failure: PermctlError | None = None,
) -> None:
    elapsed_ms = (time.monotonic() - started) * 1000
    code = f" {failure.code}" if isinstance(failure, ApiError) else ""
    log.debug("%s %s%s in %.0f ms RequestId=%s", action, outcome, code, elapsed_ms, request_id)
