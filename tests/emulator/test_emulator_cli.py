"""`python -m permctl.emulator serve` and the `serve` function the permctl CLI calls."""

from __future__ import annotations

import io
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.models import Config
from emulator_support import clients
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import DenyRule, Emulator, Knobs
from permctl.emulator.__main__ import knobs_from, main, parser, serve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "live-state.yaml"


def exported(output: str, name: str) -> str:
    match = re.search(rf"^  export {name}=(\S+)$", output, re.M)
    assert match, output
    return match[1]


def alice_id(output: str) -> str:
    url = exported(output, "PERMCTL_ENDPOINT")
    config = Config(
        access_key_id=exported(output, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        access_key_secret=exported(output, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        endpoint=url.removeprefix("http://"),
        protocol="HTTP",
    )
    user = RamClient(config).get_user(ram.GetUserRequest(user_name="alice")).body.user
    return str(user.user_id)


def test_serve_prints_what_to_export_and_serves_until_stopped() -> None:
    out, stop = io.StringIO(), threading.Event()
    server = threading.Thread(target=serve, args=(EXAMPLE,), kwargs={"out": out, "stop": stop})
    server.start()
    try:
        deadline = time.monotonic() + 10
        while "Press Ctrl+C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert alice_id(out.getvalue()) == "278525736094801234"
        assert exported(out.getvalue(), "ALIBABA_CLOUD_ACCESS_KEY_ID") == "permctl-emulator-key"
    finally:
        stop.set()
        server.join(timeout=10)
    assert not server.is_alive()


def test_every_knob_can_be_set_from_the_command_line() -> None:
    args = parser().parse_args(
        [
            "serve", "--state", "s.yaml", "--seed", "3", "--latency-ms", "20",
            "--throttle-rate", "0.1", "--throttle-status", "429", "--retry-after-ms", "500",
            "--error-5xx-rate", "0.05", "--qps-cap", "50", "--task-delay-s", "1.5",
            "--qps-cap", "DescribeUserPermissions=20", "--published-limits",
            "--task-failure-rate", "0.2", "--fail-after-write-rate", "0.01", "--native-shapes",
            "--is-ram-role-means-user", "--filter-quotes", "reject", "--refuse-empty-grants",
            "--deny", "GrantUserPermissions:278525736094801234,300000000000000001",
            "--deny", "ListAccounts", "--deny", "ListUsers/control",
        ]
    )  # fmt: skip
    assert knobs_from(args) == Knobs(
        seed=3,
        latency_ms=20,
        throttle_rate=0.1,
        throttle_status=429,
        retry_after_ms=500,
        error_5xx_rate=0.05,
        qps_cap=50,
        api_qps_caps=(("DescribeUserPermissions", 20),),
        published_limits=True,
        task_delay_s=1.5,
        task_failure_rate=0.2,
        fail_after_write_rate=0.01,
        native_shapes=True,
        is_ram_role_means_user=True,
        filter_quotes="reject",
        refuse_empty_grants=True,
        deny=(
            DenyRule(
                "GrantUserPermissions", frozenset({"278525736094801234", "300000000000000001"})
            ),
            DenyRule("ListAccounts"),
            DenyRule("ListUsers", kind="control"),
        ),
    )


@pytest.mark.parametrize("cap", ["=5", "Describe=many", "lots"])
def test_a_malformed_qps_cap_is_refused(cap: str) -> None:
    with pytest.raises(ValueError, match="expected N or ACTION=N"):
        knobs_from(parser().parse_args(["serve", "--state", "s.yaml", "--qps-cap", cap]))


def test_a_bad_state_file_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--state", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml: cannot read the emulator state" in capsys.readouterr().err


def test_a_knob_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--state", "s.yaml", "--throttle-rate", "2"])
    assert exited.value.code == 1
    assert "throttle_rate must be between 0 and 1" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_naming_it_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["emulator", "serve", "--state", str(EXAMPLE), "--port", str(port)]
        )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: permctl emulator serve: port {port} of 127.0.0.1 is already in use; stop what "
        "listens there, choose another --port, or leave --port out for a free one\n"
    )


def test_serve_help_names_the_permctl_command_and_explains_every_option() -> None:
    result = CliRunner().invoke(app, ["emulator", "serve", "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("usage: permctl emulator serve ")
    options = re.findall(
        r"^  (--[a-z0-9-]+)(?: [A-Z_:,.\[\]]+)?(?:\s+(\S.*))?$", result.stdout, re.M
    )
    explained = dict(options)
    assert len(explained) >= 15
    for option, meaning in explained.items():
        if not meaning:  # argparse wraps the help of a long option to the next line
            after = result.stdout.split(option, 1)[1].splitlines()[1]
            meaning = after.strip()
        assert meaning, option


def test_the_module_runs_from_a_shell_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "permctl.emulator", "serve", "--state", str(EXAMPLE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(8)]
        assert alice_id("".join(lines)) == "278525736094801234"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert (process.returncode, out, err) == (0, "stopped\n", "")


def test_the_emulator_starts_and_stops_without_a_with_block() -> None:
    emu = Emulator(EXAMPLE).start()
    try:
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        alice = clients(emu).ram.get_user(ram.GetUserRequest(user_name="alice"))
        assert alice.body.user.user_id == "278525736094801234"
    finally:
        emu.stop()
    emu.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.endpoint
