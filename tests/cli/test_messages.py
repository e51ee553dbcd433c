"""Messages that send the user the right way: diagnose only where its log can explain, the fix
for a refused prune of a protected principal."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import DenyRule, Emulator
from permctl.providers.connection import CONNECTION_ATTEMPTS

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "permissions.yaml.example"
STATE = REPO / "examples" / "live-state.yaml"

runner = CliRunner()


def test_a_wrong_secret_says_to_check_the_credentials_and_their_source_not_diagnose(
    example_emu: Emulator, use_access_key: Callable[[str, str], None]
) -> None:
    use_access_key(example_emu.access_key_id, "not-the-secret")
    result = runner.invoke(app, ["plan", "-q", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "SignatureDoesNotMatch" in result.stderr
    assert result.stderr.endswith(
        "  check the credentials and where they came from (the ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET variables)\n"
    )
    assert "permctl diagnose" not in result.stderr
    assert "not-the-secret" not in result.stderr


def test_diagnose_failing_does_not_suggest_diagnosing_itself(example_emu: Emulator) -> None:
    example_emu.set_knobs(deny=(DenyRule("GetRequestLog"),))
    result = runner.invoke(app, ["diagnose", "01E1FE97-340E-49A1-9BB9-B47032263B23"])
    assert result.exit_code == 1
    assert "GetRequestLog failed" in result.stderr
    assert "permctl diagnose" not in result.stderr


def test_a_denied_call_still_points_at_diagnose(example_emu: Emulator) -> None:
    example_emu.set_knobs(deny=(DenyRule("ListAccessAssignments"),))
    result = runner.invoke(app, ["plan", "-q", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "\n  to see why: permctl diagnose " in result.stderr


def test_pruning_a_protected_principal_the_file_does_not_list_says_how_to_keep_pruning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "permissions.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(text.replace("  prune_unlisted: false", "  prune_unlisted: true", 1))
    result = runner.invoke(app, ["plan", "-q", str(path), "--emulator", str(STATE)])
    assert result.exit_code == 1
    assert (
        "protected principals would lose or change 2 grant(s) (safety.protected_principals; "
        "--force does not override this); to keep prune_unlisted on, list the protected "
        "principal in the file with the roles or assignments it holds (docs/recipes.md, "
        "Break-glass principals)"
    ) in result.stderr


def test_drift_leaves_out_accepted_access_and_protected_principals(tmp_path: Path) -> None:
    drift = ["drift", "-q", "--emulator", str(STATE)]
    text = EXAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "permissions.yaml"
    path.write_text(text.replace("[break-glass]", "[]"), encoding="utf-8")
    everything = runner.invoke(app, [*drift, str(path)])
    assert everything.exit_code == 2
    assert "break-glass" in everything.stdout

    path.write_text(text, encoding="utf-8")
    protected = runner.invoke(app, [*drift, str(path)])
    assert protected.exit_code == 2
    assert "break-glass" not in protected.stdout.replace("protected principals", "")
    assert "2 accepted items not shown (drift.accept, protected principals)." in protected.stdout

    accept = (
        "drift:\n  accept:\n"
        "    - {principal: sre-oncall, reason: on-call rotation managed by the pager tool}\n"
        "    - {principal: ci-deployer, mesh: prod, reason: deploys}\n"
    )
    path.write_text(text + accept, encoding="utf-8")
    accepted = runner.invoke(app, [*drift, str(path)])
    assert "sre-oncall" not in accepted.stdout
    kept = int(accepted.stdout.split("Drift: ")[1].split(" ")[0])
    assert kept < int(protected.stdout.split("Drift: ")[1].split(" ")[0])


def test_plan_says_how_many_unmanaged_grants_drift_will_report() -> None:
    result = runner.invoke(app, ["plan", str(EXAMPLE), "--emulator", str(STATE)])
    assert result.exit_code == 0
    assert result.stderr.endswith(
        "note permctl drift will report 8 unmanaged grants; 2 more accepted (drift.accept, "
        "protected principals)\n"
    )


def test_an_accepted_entry_needs_a_reason_and_one_target(tmp_path: Path) -> None:
    path = tmp_path / "permissions.yaml"
    path.write_text(
        "version: 1\ndrift:\n  accept:\n    - {principal: x}\n"
        "    - {principal: y, mesh: prod, account: dev, reason: r}\n"
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "drift.accept[0].reason: missing" in result.stderr
    assert "drift.accept[1]: give mesh or account, not both" in result.stderr


def test_an_unreachable_endpoint_is_one_sentence_naming_it_and_its_source(
    monkeypatch: pytest.MonkeyPatch, use_access_key: Callable[[str, str], None]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PERMCTL_ENDPOINT", endpoint)
    use_access_key("key", "secret")
    result = runner.invoke(app, ["-v", "plan", "-q", str(EXAMPLE)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    # Reads run in parallel: whichever call failed first is named.
    action, sentence = lines[-1].removeprefix("error ").split(" failed: ", 1)
    assert action.isalpha()
    assert sentence == (
        f"NetworkError: cannot reach 127.0.0.1:{port} (PERMCTL_ENDPOINT={endpoint}) after "
        f"{CONNECTION_ATTEMPTS} attempts: connection refused; check that it serves there, or "
        "unset PERMCTL_ENDPOINT"
    )
    assert any(line.startswith(f"api: {action} failed NetworkError") for line in lines)
    assert "HTTPConnectionPool" not in result.stderr


def test_a_saved_plan_applied_twice_is_already_applied_not_stale(
    example_emu: Emulator, tmp_path: Path
) -> None:
    plan_file = str(tmp_path / "plan.json")
    assert runner.invoke(app, ["plan", "-q", str(EXAMPLE), "--out", plan_file]).exit_code == 0
    first = runner.invoke(app, ["apply", "-q", str(EXAMPLE), "--plan", plan_file])
    assert first.exit_code == 0, first.stderr
    writes = len(example_emu.writes)
    again = runner.invoke(app, ["apply", "-q", str(EXAMPLE), "--plan", plan_file])
    assert (again.exit_code, again.stdout) == (0, "This plan is already applied: nothing to do.\n")
    assert len(example_emu.writes) == writes
