"""No credential ever leaves permctl: not on stdout or stderr at any verbosity, not in a plan,
report, metrics file, audit log or any other file it writes, and not when a call fails.

The AccessKey secret, the STS security token and the plan-signing key are canaries: they are
set both in the environment and in an aliyun CLI profile (~/.aliyun/config.json in a temporary
HOME), every command runs with each, and every output and every file in the working directory
is searched for them afterwards. The API is the emulator, which only accepts calls signed with
that secret and carrying that token, so the commands really use them.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from alibabacloud_credentials.utils import auth_constant, auth_util
from security_support import DIRECTORY, EXAMPLE, PROD, example_state, permctl

from permctl.emulator import Emulator
from permctl.emulator.faults import DenyRule
from permctl.emulator.signing import Credential
from permctl.providers import connection
from permctl.providers.connection import RetryPolicy

KEY_ID = "canary-access-key-id-0001"
SECRET = "Cn4ry-AccessKeySecret-7f3a9c1e5b"
# As an STS token is: base64, so that URL-encoded copies are searched for too.
TOKEN = "CAIS8gJ1q6Ft5B2yfSjIr5bk+Cn4ry/SecurityToken=="
PLAN_KEY = "Cn4ry-PlanSigningKey-2d8e6a0c4f"
CANARIES = (SECRET, TOKEN, PLAN_KEY)
SEARCHED = frozenset(form for c in CANARIES for form in (c, quote(c, safe="")))
PROFILE = "canary"
SOURCES = ("environment", "profile")
VERBOSITIES = ((), ("-v",), ("--debug",))
FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay_ms=5, max_delay_ms=20)
ASSUMING_FILE = f"""\
version: 1
asm:
  account: {{assume_role: "acs:ram::1000000000000001:role/ci-deployer"}}
  meshes: {{prod: {PROD}}}
  principals: [{{name: alice, ram_user: alice, roles: {{prod: istio-admin}}}}]
"""


@dataclass
class Sweep:
    """Runs permctl commands in `work` and keeps everything they printed."""

    work: Path
    home: Path
    printed: list[tuple[str, str]] = field(default_factory=list)

    def run(
        self, *args: str, verbosity: tuple[str, ...] = ("--debug",), source: str = "profile"
    ) -> tuple[int, str]:
        """`permctl VERBOSITY COMMAND [--profile] ARGS...`: exit code and stderr. Credentials
        come from the profile when `source` is "profile", else from the environment."""
        command, *rest = args
        takes_profile = command in ("plan", "apply", "drift", "import", "init", "diagnose")
        profile = ("--profile", PROFILE) if source == "profile" and takes_profile else ()
        argv = [*verbosity, command, *profile, *rest]
        code, out, err = permctl(*argv)
        assert "Traceback" not in out + err, (argv, err)
        self.printed.append((" ".join(argv), out + err))
        return code, err

    def assert_no_canary(self, *others: str) -> None:
        """The search itself, for the canaries and `others`: every output, and every file
        below the working directory and HOME except the profile that holds the credentials by
        design."""
        profile = self.home / ".aliyun" / "config.json"
        written = [p for p in (*self.work.rglob("*"), *self.home.rglob("*")) if p.is_file()]
        assert len(written) > 1
        for canary in SEARCHED | set(others):
            leaks = [where for where, text in self.printed if canary in text]
            leaks += [str(p) for p in written if p != profile and canary.encode() in p.read_bytes()]
            assert not leaks, f"{canary} found in {leaks}"


def _profile_file(secret: str = SECRET) -> str:
    profile = {
        "name": PROFILE,
        "mode": "StsToken",
        "access_key_id": KEY_ID,
        "access_key_secret": secret,
        "sts_token": TOKEN,
        "region_id": "cn-shanghai",
    }
    return json.dumps({"current": PROFILE, "profiles": [profile]})


@pytest.fixture
def emu() -> Iterator[Emulator]:
    state = example_state()
    state["access_keys"] = [{"id": KEY_ID, "secret": SECRET, "security_token": TOKEN}]
    with Emulator(state) as emulator:
        yield emulator


@pytest.fixture
def sweep(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Sweep:
    """Credentials in the environment and in the profile, for runs to take from either.
    The credentials package reads HOME and its variables when it is imported, so what it
    took then is brought up to date as a shell would have it from the start."""
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".aliyun").mkdir(parents=True)
    work.mkdir()
    (home / ".aliyun" / "config.json").write_text(_profile_file(), encoding="utf-8")
    (work / "permissions.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(auth_constant, "HOME", str(home))
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    for name, attribute, value in (
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "environment_access_key_id", KEY_ID),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "environment_access_key_secret", SECRET),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "environment_security_token", TOKEN),
    ):
        monkeypatch.setenv(name, value)
        monkeypatch.setattr(auth_util, attribute, value)
    monkeypatch.setenv("PERMCTL_ENDPOINT", emu.url)
    monkeypatch.setenv("PERMCTL_PLAN_KEY", PLAN_KEY)
    # Failures are retried as in production, only without seconds of backoff.
    sdk_retries = connection.retry_options
    monkeypatch.setattr(connection, "retry_options", lambda _: sdk_retries(FAST_RETRIES))
    return Sweep(work, home)


def test_no_command_prints_or_writes_a_credential_at_any_verbosity(
    sweep: Sweep, emu: Emulator
) -> None:
    # Every verbosity, each source at least once, and both at the most verbose.
    for verbosity, source in (
        ((), "profile"),
        (("-v",), "environment"),
        (("--debug",), "environment"),
        (("--debug",), "profile"),
    ):
        for args in (
            ("validate", "--format", "json", "permissions.yaml"),
            ("plan", "--out", "plan.json", "--format", "json", "permissions.yaml"),
            ("apply", "--plan", "plan.json", "--audit-log", "audit.jsonl", "--format", "json"),
            ("drift", "--out", "drift.json", "--metrics-file", "drift.prom", "permissions.yaml"),
            ("import", "--mesh", f"{PROD}=prod", "--directory", DIRECTORY, "--out", "i.yaml"),
            ("init", "--directory", DIRECTORY, "--out", "init.yaml"),
            ("policy", "--mode", "apply"),
            ("schema", "--out", "schema.json"),
        ):
            code, err = sweep.run(*args, verbosity=verbosity, source=source)
            assert code in (0, 2), (args, err)
        for name in ("i.yaml", "init.yaml"):
            (sweep.work / name).unlink()
    assert sweep.run("fmt", "permissions.yaml")[0] == 0
    (sweep.work / "assumed.yaml").write_text(ASSUMING_FILE, encoding="utf-8")
    for source in SOURCES:
        assert sweep.run("plan", "--out", "assumed.json", "assumed.yaml", source=source)[0] == 0
    # AssumeRole's session keys are secrets as much as the caller's own.
    sessions = [k for k in emu.state.keys.values() if k.access_key_id != KEY_ID]
    assert sessions
    sweep.assert_no_canary(
        *(s for k in sessions for s in (k.access_key_secret, k.security_token) if s)
    )
    # The commands read and wrote as the canary key (or as the role it assumed): the sweep
    # searched real traffic.
    assert {c.access_key_id for c in emu.calls} == {KEY_ID, *(k.access_key_id for k in sessions)}
    assert emu.writes


def test_no_failure_prints_or_writes_a_credential(sweep: Sweep, emu: Emulator) -> None:
    correct = emu.state.keys[KEY_ID]
    for key in (
        Credential(KEY_ID, "another-secret", TOKEN),  # SignatureDoesNotMatch
        Credential(KEY_ID, SECRET, "another-token"),  # InvalidSecurityToken
    ):
        emu.state.keys[KEY_ID] = key
        for source in SOURCES:
            _fails(sweep, "plan", "permissions.yaml", source=source)
    emu.state.keys[KEY_ID] = correct

    assert sweep.run("plan", "--out", "stale.json", "permissions.yaml")[0] in (0, 2)
    emu.set_knobs(deny=(DenyRule("GrantUserPermissions"),))
    _fails(sweep, "apply", "--auto-approve", "--audit-log", "audit.jsonl", "permissions.yaml")
    emu.set_knobs(deny=(DenyRule("DescribeUserPermissions"),))
    err = _fails(
        sweep, "drift", "--metrics-file", "m.prom", "permissions.yaml", source="environment"
    )
    emu.set_knobs(deny=())
    for verbosity in VERBOSITIES:
        sweep.run("diagnose", _request_id(err), verbosity=verbosity)
    sweep.run("diagnose", "--format", "json", "0000-not-a-request", source="environment")

    emu.set_knobs(error_5xx_rate=1.0)
    _fails(sweep, "plan", "permissions.yaml", source="environment")
    emu.set_knobs(error_5xx_rate=0.0)

    # The denied apply still made its CloudSSO changes: the saved plan is stale.
    _fails(sweep, "apply", "--plan", "stale.json")
    document = json.loads((sweep.work / "stale.json").read_text(encoding="utf-8"))
    document["snapshot"]["asm"] = []
    (sweep.work / "edited.json").write_text(json.dumps(document), encoding="utf-8")
    _fails(sweep, "apply", "--plan", "edited.json", source="environment")
    (sweep.work / "broken.yaml").write_text("version: 1\nasm: [\n", encoding="utf-8")
    _fails(sweep, "plan", "broken.yaml")

    profile = sweep.home / ".aliyun" / "config.json"
    profile.write_text(_profile_file()[:-20], encoding="utf-8")  # cut inside the secret's entry
    _fails(sweep, "plan", "permissions.yaml")
    profile.write_text(_profile_file(), encoding="utf-8")
    _fails(sweep, "plan", "--profile", "no-such-profile", "permissions.yaml", source="environment")
    sweep.assert_no_canary()


def test_unreachable_endpoints_print_no_credential(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch, unused_port: int
) -> None:
    """The credentials package signs AssumeRole in its URL, beside the caller's SecurityToken,
    and a connection error quotes that URL: permctl printed the token there."""
    unreachable = f"http://127.0.0.1:{unused_port}"
    (sweep.work / "assumed.yaml").write_text(ASSUMING_FILE, encoding="utf-8")
    monkeypatch.setenv("PERMCTL_ENDPOINT_STS", unreachable)
    for source in SOURCES:
        err = _fails(sweep, "plan", "assumed.yaml", source=source)
        assert "SecurityToken=<redacted>" in err
    monkeypatch.setenv("PERMCTL_ENDPOINT", unreachable)
    _fails(sweep, "plan", "permissions.yaml", source="environment")
    sweep.assert_no_canary()


def test_a_real_process_prints_no_credential(emu: Emulator, tmp_path: Path) -> None:
    """The same guarantee outside the test runner's capture: a process of its own, with the
    credentials in its environment from the start, --debug, the SDK's own wire dump on
    (DEBUG=sdk prints every request's headers, and it printed the security token), a role
    assumed and a call denied."""
    home = tmp_path / "home"
    (home / ".aliyun").mkdir(parents=True)
    (home / ".aliyun" / "config.json").write_text(_profile_file(), encoding="utf-8")
    (tmp_path / "assumed.yaml").write_text(ASSUMING_FILE, encoding="utf-8")
    emu.set_knobs(deny=(DenyRule("DescribeUserPermissions"),))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "DEBUG": "sdk",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
        "PERMCTL_ENDPOINT": emu.url,
        "PERMCTL_PLAN_KEY": PLAN_KEY,
    }
    printed = ""
    plan = ("plan", "--out", str(tmp_path / "plan.json"), str(tmp_path / "assumed.yaml"))
    for profile in ((), ("--profile", PROFILE)):
        result = subprocess.run(
            [sys.executable, "-m", "permctl", "--debug", *plan, *profile],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1 and "NoPermission" in result.stderr, result.stderr
        assert "x-acs-security-token : <redacted>" in result.stderr
        printed += result.stdout + result.stderr
    sessions = [k for k in emu.state.keys.values() if k.access_key_id != KEY_ID]
    assert len(sessions) == 2
    searched = SEARCHED | {s for k in sessions for s in (k.access_key_secret, k.security_token)}
    for canary in searched:
        assert canary and canary not in printed


def _fails(sweep: Sweep, *args: str, source: str = "profile") -> str:
    code, err = sweep.run(*args, source=source)
    assert code == 1, (args, err)
    return err


def _request_id(err: str) -> str:
    found = re.search(r"permctl diagnose (\S+)", err)
    assert found, err
    return found[1]


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
