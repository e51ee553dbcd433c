"""How permctl talks to Alibaba Cloud: clients, credentials, endpoints, retries, one call wrapper.

Retries of 5xx answers and of connection errors and timeouts (which the SDK raises as
`RetryError` before any response exists) are the SDK's own (darabonba RetryOptions, passed
through the client Config). Throttling answers are not: the call wrapper here retries them
itself, because each one must reach the pace of its API (`permctl.providers.pacing`), which
slows that API down and keeps Retry-After. The wrapper also turns failures into permctl's
errors and logs each call.

Calls are made on threads, with the SDK's blocking methods. Its `*_async` methods (aiohttp)
open a new HTTP session, TCP connection and, over HTTPS, a new TLS context (certifi's bundle
loaded again, ~45 ms of CPU here) and handshake for every call, where the blocking ones keep
pooled keep-alive connections: measured against the emulator (HTTP, 30 ms a call, 300 calls),
async was no faster at 32 in flight (0.47 s against 0.38 s) for the same client CPU, and over
HTTPS it would cost far more. A thread waiting on a socket costs no CPU; each product's pool
holds `ceiling` threads, and its pace decides how many of them call at once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
from darabonba.policy.retry import (
    BackoffPolicy,
    RetryCondition,
    RetryOptions,
    RetryPolicyContext,
)
from Tea.exceptions import TeaException, UnretryableException

from permctl.errors import (
    ApiError,
    ConfigError,
    ConfigProblem,
    CredentialsError,
    PermctlError,
    without_credentials,
)
from permctl.providers.pacing import DEFAULT_CEILING, Pacing, RunStopped, Throttled, throttling
from permctl.roles import CALLER, RoleAccess

T = TypeVar("T")
A = TypeVar("A")
# One page of a NextToken listing: its entries (None when the caller may not read the listing)
# and the token of the next page (None after the last).
Page = tuple[list[T] | None, str | None]

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
    concurrency: int = DEFAULT_CEILING  # the ceiling of calls in flight per API product
    # False: the published limits (CloudSSO's) are not kept, only what throttling teaches.
    published_limits: bool = True
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
    """The SDK asks `code in condition.error_code`; answering by prefix covers every
    `Throttling.*` code, including ones the API may add later."""

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.startswith(tuple(self))


def _backoff(period_ms: int, cap_ms: int) -> BackoffPolicy:
    return BackoffPolicy.new_backoff_policy(
        {"policy": "ExponentialWithFullJitter", "period": period_ms, "cap": cap_ms}
    )


# A connection that fails (refused, reset, timed out) is tried this many times in all, a short
# backoff apart: an endpoint that is down or mistyped costs about a second, not the minute of
# backoff throttling gets. Documented in docs/troubleshooting.md.
CONNECTION_ATTEMPTS = 3
CONNECTION_RETRY_DELAY_MS = 200


def retry_options(policy: RetryPolicy) -> RetryOptions:
    """The SDK retries connection failures (RetryError, raised before any response; the first
    condition an error matches applies) and 5xx; never a throttling answer, which
    `Connection.call` retries through the pace of its API."""
    return RetryOptions(
        retryable=True,
        retry_condition=[
            RetryCondition(
                max_attempts=CONNECTION_ATTEMPTS,
                exception=["RetryError"],
                error_code=_CodePrefixes(()),
                backoff=_backoff(CONNECTION_RETRY_DELAY_MS, CONNECTION_RETRY_DELAY_MS * 4),
            ),
            RetryCondition(
                max_attempts=policy.max_attempts,
                exception=["ServerException"],
                error_code=_CodePrefixes(("ServiceUnavailable", "InternalError")),
                backoff=_backoff(policy.base_delay_ms, policy.max_delay_ms),
                max_delay=policy.max_delay_ms,
            ),
        ],
        no_retry_condition=[
            RetryCondition(
                exception=["ThrottlingException"], error_code=_CodePrefixes(("Throttling",))
            )
        ],
    )


def throttled_retry_delay_s(policy: RetryPolicy, attempt: int, throttled: Throttled) -> float:
    """How long a throttled call waits before its next attempt: none after Retry-After (the
    pace already holds every call of that API until it has passed), else the SDK's backoff."""
    if throttled.retry_after_s:
        return 0.0
    backoff = _backoff(policy.base_delay_ms, policy.max_delay_ms)
    delay_ms = backoff.get_delay_time(RetryPolicyContext(retries_attempted=attempt))
    return min(delay_ms, policy.max_delay_ms) / 1000


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
    """Owns the SDK clients and the thread pools (one per API product) of one identity in a
    permctl run.

    `pacing` is shared by the connections of one run, so that identities in one account share
    its limits; a connection given none paces itself."""

    def __init__(self, settings: ConnectionSettings, pacing: Pacing | None = None) -> None:
        self.settings = settings
        self._credential = credential_client(settings)
        self._clients: dict[str, Any] = {}
        # One pool per API product: a product held back by its pace must not hold the
        # threads another product's calls are waiting for.
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._pools_lock = threading.Lock()
        self._owns_pacing = pacing is None
        self.pacing = pacing or Pacing(
            settings.concurrency, published_limits=settings.published_limits
        )
        self._closing = threading.Event()
        role = settings.assume_role
        self._account = f"account {role.account_id}" if role else "the caller's account"

    def close(self) -> None:
        """Calls waiting to start (or to retry) give up; calls in flight end; no thread stays."""
        self._closing.set()
        self.pacing.stop()
        with self._pools_lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._owns_pacing:
            self.pacing.log_summary()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = sdk_config(self.settings, service)
            config.credential = self._credential
            self._clients[service] = _CLIENT_CLASSES[service](config)
        return self._clients[service]

    def _pool(self, product: str) -> ThreadPoolExecutor:
        with self._pools_lock:
            if product not in self._pools:
                self._pools[product] = ThreadPoolExecutor(
                    self.settings.concurrency, thread_name_prefix=f"permctl-api-{product}"
                )
            return self._pools[product]

    def service(self, service: str) -> ServiceConnection:
        """The calls of one API product, paced as one."""
        return ServiceConnection(self, service)

    def call(self, action: str, send: Callable[[], T], *, product: str) -> T:
        """Run one SDK call at the pace of `product` in this account (the SDK retries 5xx and
        network failures inside; a throttled call is retried here); log it; failures become
        permctl errors."""
        pace = self.pacing.pace(self._account, product)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            with pace.slot(action) as outcome:
                try:
                    response = send()
                except Exception as error:  # every SDK failure is reported, never a traceback
                    outcome.throttled = throttling(error)
                    failed = error
                else:
                    outcome.succeeded = True
            if outcome.succeeded:
                _log_call(action, started, "ok", response_request_id(response))
                return response
            if outcome.throttled is None or attempt >= self.settings.retry.max_attempts:
                raise self._failure(action, started, failed) from None
            log.debug("%s throttled (attempt %d); retrying", action, attempt)
            delay = throttled_retry_delay_s(self.settings.retry, attempt, outcome.throttled)
            if self._closing.wait(delay):
                raise RunStopped(action)

    def _failure(self, action: str, started: float, error: Exception) -> PermctlError:
        failure = as_permctl_error(action, error, self.settings.profile, self.settings)
        if self.settings.assume_role and isinstance(failure, CredentialsError):
            failure = assume_role_error(error, self.settings.assume_role) or failure
        _log_call(action, started, "failed", getattr(failure, "request_id", None), failure)
        return failure

    def map(
        self, fn: Callable[[A], T], items: Iterable[A], *, label: str, product: str = "any"
    ) -> list[T]:
        """`fn` over `items` on the pool of `product` (the API `fn` calls), results in input
        order; the first failure cancels what has not started and is raised. Never call `map`
        from inside `fn`: the pool is bounded, so nesting could wait on itself."""
        pool = self._pool(product)
        futures = {pool.submit(fn, item): index for index, item in enumerate(items)}
        results: list[Any] = [None] * len(futures)
        with self.settings.progress.track(label, total=len(futures)) as advance:
            try:
                remaining = set(futures)
                while remaining:
                    for future in ended(remaining):
                        remaining.discard(future)
                        results[futures[future]] = future.result()
                        advance()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results

    def map_pages(
        self,
        page: Callable[[A, str | None], Page[T]],
        items: Iterable[A],
        *,
        label: str,
        product: str = "any",
    ) -> list[list[T] | None]:
        """Every page of a listing for each of `items` (`page(item, token)` reads one), results
        in input order; None for an item whose listing may not be read. Each item's first page
        is queued before any item's next page, so the first pages all start together (as far
        as the pace allows); an item's next page is queued as soon as the one before answers,
        without holding a thread in between. The first failure cancels the rest and is raised."""
        pool = self._pool(product)
        listed = list(items)
        results: list[list[T] | None] = [[] for _ in listed]
        pending: dict[Future[Page[T]], int] = {
            pool.submit(page, item, None): index for index, item in enumerate(listed)
        }
        with self.settings.progress.track(label, total=len(listed)) as advance:
            try:
                while pending:
                    for future in ended(pending):
                        index = pending.pop(future)
                        entries, token = future.result()
                        so_far = results[index]
                        results[index] = (
                            None if entries is None or so_far is None else so_far + entries
                        )
                        if token and results[index] is not None:
                            pending[pool.submit(page, listed[index], token)] = index
                        else:
                            advance()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return results


# How often a wait on calls looks for ones cancelled by the run's end (see `ended`).
_CANCELLED_CHECK_S = 0.2


def ended(pending: Collection[Future[Any]]) -> set[Future[Any]]:
    """The futures of `pending` that have ended, once one has. A future that a pool's
    shutdown cancels (the run stopping) never wakes `wait`, so cancelled ones are looked for
    as well: without that, a step waiting on a stopped run's calls would wait forever."""
    while True:
        done, _ = wait(pending, timeout=_CANCELLED_CHECK_S, return_when=FIRST_COMPLETED)
        done |= {future for future in pending if future.cancelled()}
        if done:
            return done


class ServiceConnection:
    """A connection seen by the provider of one API product: its SDK client, and calls paced
    as that product's."""

    def __init__(self, connection: Connection, service: str) -> None:
        self.connection = connection
        self.service = service
        self.client = connection.client(service)

    def call(self, action: str, send: Callable[[], T]) -> T:
        return self.connection.call(action, send, product=self.service)

    def map(self, fn: Callable[[A], T], items: Iterable[A], *, label: str) -> list[T]:
        return self.connection.map(fn, items, label=label, product=self.service)

    def map_pages(
        self, page: Callable[[A, str | None], Page[T]], items: Iterable[A], *, label: str
    ) -> list[list[T] | None]:
        return self.connection.map_pages(page, items, label=label, product=self.service)


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
