"""The example organisation, permission files over it, and ways to run and watch apply.

The emulator runs in the test process; permctl reaches it through PERMCTL_ENDPOINT and the
AccessKey variables, in process (CliRunner) or as a separate process (for kill -9 and a
terminal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import AssignmentWrite, Emulator, GrantWrite
from permctl.model import Assignment, MeshRole, PrincipalKind
from permctl.providers import AccessKey, ConnectionSettings, Providers, open_providers
from permctl.providers.connection import SERVICES

REPO = Path(__file__).parents[2]
STATE = REPO / "examples" / "live-state.yaml"
PROD, STAGING = "c57b848115458460583a4260cb713abc", "c4ec191f4e12145c09286ea3e2b8fabc"
SANDBOX = "d1e2f3a4b5c6d7e8f9a0b1c2d3e4fabc"  # not managed by any file here
MANAGED = frozenset({PROD, STAGING})
BOB, CAROL, FRANK = "278525736094805678", "278525736094809012", "278525736094802345"
DIRECTORY = "d-00fc2p61abcd"
DEV_TEST, DEV_SANDBOX = "114240524784abcd", "114240524785abcd"
ECS_ADMIN, READ_ONLY = "ac-00jhtfl8thteu6ujabcd", "ac-00readonly00001abcd"
DEVELOPERS = "g-00developers0001abcd"
WRITE_ACTIONS = ("GrantUserPermissions", "CreateAccessAssignment", "DeleteAccessAssignment")

runner = CliRunner()


def organisation(extra_users: int = 0) -> dict[str, Any]:
    """The example organisation, with `extra_users` more RAM users holding nothing."""
    state: dict[str, Any] = yaml.safe_load(STATE.read_text(encoding="utf-8"))
    state["ram"]["users"] += [
        {"id": extra_user_id(index), "name": f"extra-{index}", "grants": []}
        for index in range(extra_users)
    ]
    return state


def extra_user_id(index: int) -> str:
    return str(278525736095000000 + index)


def permissions(*, prune_asm: bool = False, prune_sso: bool = True, **extra: Any) -> dict[str, Any]:
    """A file that changes four principals (bob and carol also hold sandbox grants, which must
    survive) and swaps the developers group's access configurations on two accounts."""
    document: dict[str, Any] = {
        "version": 1,
        "settings": {"safety": {"max_delete_percent": 100}},
        "asm": {
            "meshes": {"prod": PROD, "staging": STAGING},
            "principals": [
                {"name": "alice", "ram_user": "alice", "roles": both("istio-admin")},
                {"name": "bob", "ram_user": "bob", "roles": {"prod": "istio-readonly"}},
                {"name": "carol", "ram_user": "carol", "roles": {"staging": "istio-readonly"}},
                {"name": "dave", "ram_user": "dave", "roles": both("istio-ops")},
                {"name": "ci", "ram_role": "ci-deployer", "roles": {"staging": "istio-ops"}},
            ],
            "prune_unlisted": prune_asm,
        },
        "cloudsso": {
            "directory": DIRECTORY,
            "scope": "accounts",
            "assignments": [
                {
                    "access_configuration": "ECS-Admin",
                    "accounts": ["dev-test"],
                    "users": ["alice"],
                    "groups": ["platform-admins", "developers"],
                },
                {
                    "access_configuration": "ReadOnly",
                    "accounts": ["dev-sandbox"],
                    "groups": ["developers"],
                },
                {
                    "access_configuration": "ReadOnly",
                    "accounts": ["dev-test", "dev-sandbox"],
                    "users": ["bob", "carol"],
                },
            ],
            "prune_unlisted": prune_sso,
        },
    }
    document.update(extra)
    return document


def busy_permissions(newcomers: int) -> dict[str, Any]:
    """`permissions(prune_asm=True)` plus `newcomers` extra users, given three shared lists."""
    document = permissions(prune_asm=True)
    roles = ("istio-readonly", "istio-ops", "istio-admin")
    document["asm"]["principals"] += [
        {
            "name": f"extra-{i}",
            "ram_user": extra_user_id(i),
            "roles": {"prod": roles[i % 3], "staging": "istio-readonly"},
        }
        for i in range(newcomers)
    ]
    return document


def both(role: str) -> dict[str, str]:
    return {"prod": role, "staging": role}


def write_file(directory: Path, document: dict[str, Any], name: str = "permissions.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def permctl(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args])
    return result.exit_code, result.stdout, result.stderr


def apply_json(*args: str) -> tuple[int, dict[str, Any], str]:
    """`permctl apply --auto-approve --quiet --format json ARGS`: exit code, report, stderr."""
    code, out, err = permctl("apply", "--auto-approve", "--quiet", "--format", "json", *args)
    assert out.strip(), err
    return code, json.loads(out), err


def plan_changes(file: Path) -> dict[str, Any]:
    code, out, err = permctl("plan", "--quiet", "--format", "json", str(file))
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def has_changes(file: Path) -> bool:
    code, _, err = permctl("plan", "--quiet", "--detailed-exitcode", str(file))
    assert code in (0, 2), err
    return code == 2


def write_calls(emu: Emulator) -> int:
    return sum(emu.count(action) for action in WRITE_ACTIONS)


def grants_lost_outside_managed(emu: Emulator) -> list[tuple[str, str, str]]:
    """Every grant on an unmanaged mesh that any write ever took away: must stay empty."""
    return [
        (write.principal_id, lost.mesh, lost.role)
        for write in emu.writes
        if isinstance(write, GrantWrite)
        for lost in write.lost
        if lost.mesh not in MANAGED
    ]


def completed_tasks(emu: Emulator) -> list[AssignmentWrite]:
    return [w for w in emu.writes if isinstance(w, AssignmentWrite)]


def environment(emu: Emulator) -> dict[str, str]:
    """What a shell pointing permctl at the emulator sets."""
    return {
        **os.environ,
        "PERMCTL_ENDPOINT": emu.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.access_key_secret,
    }


def permctl_command(*args: str) -> Sequence[str]:
    return [sys.executable, "-m", "permctl", *args]


def kill_apply(
    emu: Emulator, file: Path, when: Callable[[], bool], timeout_s: float = 60.0
) -> bool:
    """`permctl apply --auto-approve FILE` in its own process, killed with SIGKILL as soon as
    `when()` holds (polled every 2 ms); False if it ended, or `timeout_s` passed, first."""
    return signal_apply(emu, file, when, (signal.SIGKILL,), timeout_s=timeout_s).reached


@dataclass(frozen=True)
class Signalled:
    reached: bool  # `when()` held before apply ended
    returncode: int
    stdout: str
    stderr: str


def signal_apply(
    emu: Emulator,
    file: Path,
    when: Callable[[], bool],
    signals: Sequence[signal.Signals],
    *options: str,
    timeout_s: float = 60.0,
) -> Signalled:
    """`permctl apply --auto-approve --quiet OPTIONS FILE` in its own process, sent `signals`
    (50 ms apart) as soon as `when()` holds, polled every 2 ms."""
    process = subprocess.Popen(
        permctl_command("apply", "--auto-approve", "--quiet", *options, str(file)),
        env=environment(emu),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout_s
    reached = False
    while process.poll() is None and time.monotonic() < deadline:
        if reached := when():
            break
        time.sleep(0.002)
    for number in signals:
        if process.poll() is None:
            process.send_signal(number)
            time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=timeout_s)
    return Signalled(reached, process.returncode, stdout, stderr)


def total_calls(emu: Emulator) -> int:
    return sum(emu.counts().values())


def emulator_settings(emu: Emulator, key: AccessKey | None = None) -> ConnectionSettings:
    """Explicit endpoints and key, whatever the environment says: runs against several
    emulators can share a process."""
    return ConnectionSettings(
        endpoints={service: emu.url for service in SERVICES},
        access_key=key or AccessKey(emu.access_key_id, emu.access_key_secret),
        endpoints_from_env=False,
    )


@contextmanager
def other_writer(emu: Emulator, key: AccessKey | None = None) -> Iterator[Providers]:
    """Someone else changing live state through the API while permctl is not looking."""
    with open_providers(emulator_settings(emu, key)) as providers:
        yield providers


def grant_behind_our_back(emu: Emulator, principal_id: str, *grants: MeshRole) -> None:
    with other_writer(emu) as providers:
        providers.servicemesh.grant([principal_id], PrincipalKind.RAM_USER, grants)


def assign_behind_our_back(emu: Emulator, assignment: Assignment) -> None:
    with other_writer(emu) as providers:
        task = providers.cloudsso.create_assignment(DIRECTORY, assignment)
        assert providers.cloudsso.wait_for_task(DIRECTORY, task).succeeded
