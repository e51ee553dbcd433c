"""Connection settings: endpoints, retry policy, error translation and credentials."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alibabacloud_tea_openapi.exceptions import (
    ClientException,
    ServerException,
    ThrottlingException,
)
from darabonba.core import DaraCore
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.policy.retry import RetryPolicyContext

from permctl.errors import ApiError, ConfigError, CredentialsError
from permctl.providers.connection import (
    AccessKey,
    Connection,
    ConnectionSettings,
    Endpoint,
    RetryPolicy,
    as_permctl_error,
    endpoint_for,
    retry_options,
    sdk_config,
)
from permctl.providers.pacing import Throttled, throttling


def test_an_http_url_selects_protocol_and_host() -> None:
    assert endpoint_for("ram", {"ram": "http://127.0.0.1:8080"}, {}) == Endpoint(
        "127.0.0.1:8080", "HTTP"
    )


def test_a_bare_host_means_https() -> None:
    assert endpoint_for("ram", {"ram": "ram.aliyuncs.com"}, {}) == Endpoint(
        "ram.aliyuncs.com", "HTTPS"
    )


def test_no_override_leaves_the_sdk_regional_endpoint() -> None:
    assert endpoint_for("cloudsso", {}, {}) is None
    assert sdk_config(ConnectionSettings(region="cn-hangzhou"), "cloudsso").endpoint is None


def test_per_service_env_wins_over_global_env_which_wins_over_the_file() -> None:
    file = {"servicemesh": "http://file:1", "cloudsso": "http://file:2", "ram": "http://file:3"}
    env = {"PERMCTL_ENDPOINT": "http://all:9", "PERMCTL_ENDPOINT_SERVICEMESH": "http://asm:7"}
    assert endpoint_for("servicemesh", file, env) == Endpoint("asm:7", "HTTP")
    assert endpoint_for("cloudsso", file, env) == Endpoint("all:9", "HTTP")
    assert endpoint_for("ram", file, {}) == Endpoint("file:3", "HTTP")


def test_a_malformed_endpoint_is_a_config_error_naming_where_it_came_from() -> None:
    with pytest.raises(ConfigError, match="PERMCTL_ENDPOINT_STS"):
        endpoint_for("sts", {}, {"PERMCTL_ENDPOINT_STS": "ftp://host/path"})


def test_the_sdk_config_carries_endpoint_timeouts_and_an_explicit_key() -> None:
    settings = ConnectionSettings(
        endpoints={"ram": "http://127.0.0.1:1"},
        access_key=AccessKey("id", "not-shown"),
        connect_timeout_ms=1234,
        read_timeout_ms=5678,
    )
    config = sdk_config(settings, "ram")
    assert (config.endpoint, config.protocol) == ("127.0.0.1:1", "HTTP")
    assert (config.connect_timeout, config.read_timeout) == (1234, 5678)
    assert config.access_key_id == "id"
    assert "not-shown" not in repr(settings)


def _sdk_would_retry(error: Exception, attempts: int = 1) -> bool:
    options = retry_options(RetryPolicy(max_attempts=3))
    return DaraCore.should_retry(
        options, RetryPolicyContext(retries_attempted=attempts, exception=error)
    )


@pytest.mark.parametrize(
    "error",
    [
        ClientException(code="Throttling", status_code=400),
        ClientException(code="Throttling.User", status_code=400),
        ClientException(code="Throttling.Api", status_code=429),
        ServerException(code="Throttling.System", status_code=503),
        ClientException(code="TooManyRequests", status_code=429),
        ThrottlingException(code="ServiceUnavailable", status_code=503, retry_after=1500),
    ],
)
def test_throttling_answers_are_retried_by_permctl_through_their_pace_not_by_the_sdk(
    error: Exception,
) -> None:
    assert not _sdk_would_retry(error)
    assert throttling(error) is not None


def test_retry_after_is_read_in_milliseconds() -> None:
    error = ThrottlingException(code="Throttling.User", status_code=400, retry_after=1500)
    assert throttling(error) == Throttled(1.5)


def test_the_sdk_retries_server_errors_and_connection_failures() -> None:
    assert _sdk_would_retry(ServerException(code="InternalError", status_code=500))
    assert _sdk_would_retry(ServerException(code="ServiceUnavailable", status_code=503))
    assert _sdk_would_retry(ServerException(code="Whatever", status_code=502))
    assert _sdk_would_retry(RetryError("connection refused"))
    assert throttling(ServerException(code="ServiceUnavailable", status_code=503)) is None


def test_client_errors_are_final_and_retries_are_bounded() -> None:
    assert not _sdk_would_retry(ClientException(code="InvalidParameter", status_code=400))
    assert throttling(ClientException(code="InvalidParameter", status_code=400)) is None
    assert not _sdk_would_retry(ServerException(code="InternalError", status_code=500), attempts=3)


def test_an_api_error_carries_code_message_and_request_id_from_the_response() -> None:
    error = ClientException(
        code="EntityNotExists.User",
        status_code=404,
        message="code: 404, The user does not exist. request id: R-1",
        data={
            "Code": "EntityNotExists.User",
            "Message": "The user does not exist.",
            "RequestId": "R-1",
        },
        request_id="R-1",
    )
    failure = as_permctl_error("GetUser", error)
    assert isinstance(failure, ApiError)
    assert (failure.action, failure.code, failure.api_message) == (
        "GetUser",
        "EntityNotExists.User",
        "The user does not exist.",
    )
    assert (failure.request_id, failure.status) == ("R-1", 404)


def test_exhausted_retries_are_unwrapped_to_the_last_failure() -> None:
    wrapped = UnretryableException(
        RetryPolicyContext(retries_attempted=8, exception=RetryError("timed out"))
    )
    failure = as_permctl_error("ListUsers", wrapped)
    assert isinstance(failure, ApiError)
    assert (failure.code, failure.request_id) == ("NetworkError", None)


def test_missing_credentials_say_how_to_provide_them_without_a_traceback(tmp_path: Path) -> None:
    """The real default chain, in a clean process: no env keys, no CLI profile, no ECS role."""
    script = textwrap.dedent(
        """
        from permctl.providers import ConnectionSettings, open_providers
        from permctl.errors import CredentialsError
        settings = ConnectionSettings(endpoints={"ram": "http://127.0.0.1:9"})
        with open_providers(settings) as providers:
            try:
                providers.ram.resolve_user("alice")
            except CredentialsError as error:
                print("CredentialsError:", error)
        """
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "PERMCTL_"))
    }
    env.update(HOME=str(tmp_path), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.startswith("CredentialsError: No Alibaba Cloud credentials found")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stdout
    assert "--emulator" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_missing_profile_is_named_in_the_credentials_error() -> None:
    from alibabacloud_credentials.exceptions import CredentialException

    failure = as_permctl_error("GetUser", CredentialException("no such profile"), profile="prod")
    assert isinstance(failure, CredentialsError)
    assert "'prod'" in str(failure)


def test_parallel_results_come_back_in_input_order() -> None:
    connection = Connection(ConnectionSettings(concurrency=4))
    try:
        assert connection.map(lambda n: n * n, range(50), label="squares") == [
            n * n for n in range(50)
        ]
    finally:
        connection.close()


def test_the_first_parallel_failure_is_raised() -> None:
    def fail_on_seven(n: int) -> int:
        if n == 7:
            raise ApiError("DescribeUserPermissions", "Forbidden", "no", "R-7", 403)
        return n

    connection = Connection(ConnectionSettings(concurrency=4))
    try:
        with pytest.raises(ApiError, match="R-7"):
            connection.map(fail_on_seven, range(20), label="reads")
    finally:
        connection.close()
