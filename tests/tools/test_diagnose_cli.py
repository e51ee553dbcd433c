"""`permctl diagnose` as a user runs it after a failed command: the failing command and the
diagnosis both reach an emulator over HTTP with the real SDK, as a shell pointed at it would."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import DenyRule, Emulator

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
HOME = "1000000000000001"
DIRECTORY = "d-00fc2p61abcd"

runner = CliRunner()


def failing_request_id(*args: str) -> str:
    """Run a command that fails; the RequestId its error tells the user to diagnose."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    match = re.search(r"to see why: permctl diagnose (\S+)", result.stderr)
    assert match, result.stderr
    return match[1]


def plan_denied(emu: Emulator, rule: DenyRule) -> str:
    """The RequestId the example's plan names when `rule` refuses a call; the rule is lifted
    before the diagnosis, which must not be refused itself."""
    emu.set_knobs(deny=(rule,))
    request_id = failing_request_id("plan", "--quiet", str(EXAMPLE))
    emu.set_knobs(deny=())
    return request_id


def diagnosed(request_id: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    """`permctl diagnose` in JSON and as text."""
    return diagnose_json(request_id), runner.invoke(app, ["diagnose", request_id]).stdout


def diagnose_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["diagnose", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_a_throttled_call_is_shown_as_throttled(example_emu: Emulator) -> None:
    # x-acs-retry-after of 1 ms: the SDK's retries give up at once instead of backing off.
    example_emu.set_knobs(throttle_rate=1.0, retry_after_ms=1)
    request_id = failing_request_id("plan", "--quiet", str(EXAMPLE))
    example_emu.set_knobs(throttle_rate=0.0)

    result = runner.invoke(app, ["diagnose", request_id])

    assert result.exit_code == 0, result.output
    assert f"RequestId   {request_id}" in result.stdout
    assert "Throttling  FC.DENY (the call was throttled" in result.stdout
    assert "Error       Throttling.User: Request was denied due to user flow control." in (
        result.stdout
    )
    assert "Access denied" not in result.stdout
    diagnosis = diagnose_json(request_id)
    assert diagnosis["format_version"] == "1"
    assert diagnosis["throttled"] is True
    assert diagnosis["http_status"] == 400
    assert diagnosis["caller"] == {"account_id": HOME, "type": "customer"}
    assert diagnosis["access_denied"] is None


def test_an_access_denial_names_action_resource_policy_kind_and_the_allowing_statement(
    example_emu: Emulator,
) -> None:
    request_id = plan_denied(example_emu, DenyRule("ListAccessAssignments"))

    diagnosis = diagnose_json(request_id)

    directory_arn = f"acs:cloudsso:*:{HOME}:directory/{DIRECTORY}"
    assert diagnosis["api"] == "ListAccessAssignments"
    assert diagnosis["http_status"] == 403
    assert diagnosis["error_code"] == "NoPermission"
    assert diagnosis["throttled"] is False
    assert diagnosis["parameters"]["DirectoryId"] == DIRECTORY
    denied = diagnosis["access_denied"]
    assert denied["action"] == "cloudsso:ListAccessAssignments"
    assert denied["resource"] == directory_arn
    assert denied["policy_type"] == "AccountLevelIdentityBasedPolicy"
    assert diagnosis["allowing_policy"] == {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["cloudsso:ListAccessAssignments"],
                "Resource": [directory_arn],
            }
        ],
    }
    text = runner.invoke(app, ["diagnose", request_id]).stdout
    assert (
        f"cloudsso:ListAccessAssignments on {directory_arn} was not allowed by the identity's "
        "RAM policies in its account"
    ) in text
    assert '"cloudsso:ListAccessAssignments"' in text


def test_a_denial_names_the_product_of_the_call(example_emu: Emulator) -> None:
    request_id = plan_denied(example_emu, DenyRule("ListAccessAssignments"))

    text = runner.invoke(app, ["diagnose", request_id]).stdout

    assert "API         cloudsso:ListAccessAssignments (2021-05-15)" in text
    assert diagnose_json(request_id)["product"] == "cloudsso"


def test_an_explicit_deny_names_the_matched_policy_and_offers_no_allow(
    example_emu: Emulator,
) -> None:
    request_id = plan_denied(example_emu, DenyRule("ListAccessAssignments", kind="explicit"))

    diagnosis, text = diagnosed(request_id)

    denied = diagnosis["access_denied"]
    assert (denied["explicit_deny"], denied["matched_policies"]) == (
        True,
        ["Custom deny-permissions-changes"],
    )
    assert diagnosis["allowing_policy"] is None
    assert "was explicitly denied by the identity's RAM policies in its account" in text
    assert "Denying policies: Custom deny-permissions-changes" in text
    assert text.endswith(
        "An explicit Deny wins over any Allow: remove or narrow the denying policy.\n"
    )


def test_a_control_policy_denial_says_only_the_resource_directory_can_lift_it(
    example_emu: Emulator,
) -> None:
    request_id = plan_denied(example_emu, DenyRule("ListAccessAssignments", kind="control"))

    diagnosis, text = diagnosed(request_id)

    denied = diagnosis["access_denied"]
    assert denied["policy_type"] == "ControlPolicy"
    assert denied["matched_policies"] == ["ControlPolicy cp-freezepermissions01"]
    assert diagnosis["allowing_policy"] is None
    assert "was explicitly denied by a resource directory control policy" in text
    assert text.endswith(
        "No RAM policy of this account can allow it: only the resource directory's management "
        "account can change the control policy, or detach it from this account.\n"
    )


def test_the_request_id_a_failed_apply_item_names_is_diagnosed(example_emu: Emulator) -> None:
    bob = "278525736094805678"
    example_emu.set_knobs(
        deny=(DenyRule("GrantUserPermissions", frozenset({bob}), kind="explicit"),)
    )
    result = runner.invoke(app, ["apply", "--auto-approve", "--quiet", str(EXAMPLE)])
    assert result.exit_code == 1
    match = re.search(
        r"grant bob \(\d+\): GrantUserPermissions failed: NoPermission: .*"
        r"; to see why: permctl diagnose (\S+)$",
        result.stdout,
        re.M,
    )
    assert match, result.stdout
    text = runner.invoke(app, ["diagnose", match[1]]).stdout
    assert "API         servicemesh:GrantUserPermissions (2020-01-11)" in text
    assert "servicemesh:GrantUserPermissions on * was explicitly denied" in text
    assert "Denying policies: Custom deny-permissions-changes" in text


def test_an_unknown_request_id_is_one_error_line(example_emu: Emulator) -> None:
    result = runner.invoke(app, ["diagnose", "00000000-0000-0000-0000-000000000000"])

    assert result.exit_code == 1
    assert "GetRequestLog failed: RequestLog.NotFound" in result.stderr
    assert "Traceback" not in result.output


def test_a_malformed_role_arn_is_refused_before_any_call(example_emu: Emulator) -> None:
    result = runner.invoke(app, ["diagnose", "X", "--assume-role", "arn:aws:iam::1:role/x"])

    assert result.exit_code == 1
    assert "--assume-role 'arn:aws:iam::1:role/x' is not a RAM role ARN" in result.stderr
    assert example_emu.calls == ()
