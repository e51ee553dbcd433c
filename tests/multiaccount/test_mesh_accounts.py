"""Meshes of several accounts in one file: each group of meshes reached as one identity is a
mesh account, whose principals are looked up, read and granted through that identity. The
same name is another RAM user in each account."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator
from permctl.emulator.handlers import ROUTES
from permctl.model import MeshRole, PrincipalKind
from permctl.providers import RoleAccess
from permctl.workflow import Target, connect_as

HOME, MEMBER_A, MEMBER_B = "1000000000000001", "2000000000000002", "3000000000000003"
ROLE_A, ROLE_B = f"acs:ram::{MEMBER_A}:role/permctl", f"acs:ram::{MEMBER_B}:role/permctl"
HOME_MESH, HOME_OTHER = "c0000000000000000000000000000001", "c0000000000000000000000000000011"
PROD, PROD_OTHER = "c0000000000000000000000000000002", "c0000000000000000000000000000012"
STAGING, STAGING_OTHER = "c0000000000000000000000000000003", "c0000000000000000000000000000013"
# One alice per account: three RAM users with three ids.
ALICE_HOME, ALICE_A, ALICE_B, CAROL = "100", "200", "400", "101"
ADMIN = "istio-admin"


def _account(account_id: str, meshes: list[tuple[str, str]], users: list[Any]) -> dict[str, Any]:
    """With a user and a role the file does not list, holding roles on the managed mesh (the
    first): the plan names them by listing the account's RAM users and roles."""
    digit, managed = account_id[0], meshes[0][0]
    return {
        "account_id": account_id,
        "meshes": [{"id": mesh_id, "name": name} for mesh_id, name in meshes],
        "ram": {
            "users": [*users, _user(f"{digit}05", "erin", (managed, "istio-ops"))],
            "roles": [
                {"id": f"{digit}02", "name": "permctl"},
                {**_user(f"{digit}03", "auditor", (managed, "istio-readonly"))},
            ],
        },
    }


def _user(user_id: str, name: str, *grants: tuple[str, str]) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "grants": [{"mesh": mesh, "role": role} for mesh, role in grants],
    }


STATE: dict[str, Any] = {
    **_account(
        HOME,
        [(HOME_MESH, "home-mesh"), (HOME_OTHER, "home-other")],
        [
            _user(ALICE_HOME, "alice", (HOME_OTHER, "istio-ops")),
            _user(CAROL, "carol"),
        ],
    ),
    "accounts": [
        _account(
            MEMBER_A,
            [(PROD, "prod-mesh"), (PROD_OTHER, "prod-other")],
            [_user(ALICE_A, "alice", (PROD, "istio-ops"), (PROD_OTHER, "istio-readonly"))],
        ),
        _account(
            MEMBER_B,
            [(STAGING, "staging-mesh"), (STAGING_OTHER, "staging-other")],
            [_user(ALICE_B, "alice", (STAGING_OTHER, "istio-admin"))],
        ),
    ],
}

runner = CliRunner()


@contextmanager
def serving(state: dict[str, Any], point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    """An emulator holding `state`, which permctl reaches."""
    emulator = Emulator(state).start()
    try:
        point_at(emulator)
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    with serving(STATE, point_at) as served:
        yield served


def write(tmp_path: Path, principals: list[dict[str, Any]] | None = None) -> Path:
    document = {
        "version": 1,
        "asm": {
            "meshes": {
                "home": HOME_MESH,
                "prod": {"id": PROD, "account": {"assume_role": ROLE_A}},
                "staging": {"id": STAGING, "account": {"assume_role": ROLE_B}},
            },
            "principals": principals
            or [
                {
                    "name": "alice",
                    "ram_user": "alice",
                    "roles": {
                        "home": "istio-readonly",
                        "prod": "istio-admin",
                        "staging": "istio-ops",
                    },
                },
                {"name": "carol", "ram_user": CAROL, "roles": {"home": "istio-admin"}},
            ],
        },
    }
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def permctl(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def plan_json(path: Path) -> dict[str, Any]:
    code, out, err = permctl("plan", "--quiet", "--format", "json", str(path))
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def granted(emu: Emulator) -> dict[str, tuple[str | None, str | None]]:
    """Principal id -> (account, access key) of the GrantUserPermissions that wrote it."""
    return {
        call.params["SubAccountUserId"]: (call.account_id, call.access_key_id)
        for call in emu.calls
        if call.action == "GrantUserPermissions" and call.code is None
    }


def held(emu: Emulator, account_id: str, user_id: str) -> set[tuple[str, str]]:
    dumped = emu.dump()
    accounts = [dumped, *dumped.get("accounts", [])]
    [account] = [a for a in accounts if a["account_id"] == account_id]
    [user] = [u for u in account["ram"]["users"] if u["id"] == user_id]
    return {(g["mesh"], g["role"]) for g in user.get("grants", [])}


def assumed(emu: Emulator) -> list[str]:
    return sorted(call.params["RoleArn"] for call in emu.calls if call.action == "AssumeRole")


def test_the_plan_changes_each_accounts_own_principal(emu: Emulator, tmp_path: Path) -> None:
    plan = plan_json(write(tmp_path))

    after = {
        update["principal_id"]: {(g["mesh_id"], g["role"]) for g in update["after"]}
        for update in plan["asm"]["updates"]
    }
    # Each alice keeps what she holds on her account's unmanaged mesh.
    assert after == {
        ALICE_HOME: {(HOME_OTHER, "istio-ops"), (HOME_MESH, "istio-readonly")},
        ALICE_A: {(PROD_OTHER, "istio-readonly"), (PROD, "istio-admin")},
        ALICE_B: {(STAGING_OTHER, "istio-admin"), (STAGING, "istio-ops")},
        CAROL: {(HOME_MESH, "istio-admin")},
    }
    assert plan["identities"] == {
        "asm[home]": "the caller's own credentials",
        "asm[prod]": f"{ROLE_A} (session permctl)",
        "asm[staging]": f"{ROLE_B} (session permctl)",
        "cloudsso": "the caller's own credentials",
    }
    assert assumed(emu) == [ROLE_A, ROLE_B]


def test_the_text_plan_says_who_acts_on_each_mesh_account(emu: Emulator, tmp_path: Path) -> None:
    code, out, err = permctl("plan", "--quiet", str(write(tmp_path)))

    assert code == 0, err
    assert out.startswith(
        "Acting as:\n"
        "  asm[home]: the caller's own credentials\n"
        f"  asm[prod]: {ROLE_A} (session permctl)\n"
        f"  asm[staging]: {ROLE_B} (session permctl)\n"
    )


def test_apply_grants_each_principal_through_its_accounts_identity(
    emu: Emulator, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"

    code, _, err = permctl(
        "apply", "--quiet", "--auto-approve", "--audit-log", str(audit), str(write(tmp_path))
    )

    assert code == 0, err
    writers = granted(emu)
    assert {pid: account for pid, (account, _) in writers.items()} == {
        ALICE_HOME: HOME,
        CAROL: HOME,
        ALICE_A: MEMBER_A,
        ALICE_B: MEMBER_B,
    }
    assert writers[ALICE_HOME][1] == emu.access_key_id
    assert len({writers[ALICE_A][1], writers[ALICE_B][1], emu.access_key_id}) == 3
    assert held(emu, HOME, ALICE_HOME) == {(HOME_OTHER, "istio-ops"), (HOME_MESH, "istio-readonly")}
    assert held(emu, MEMBER_A, ALICE_A) == {(PROD_OTHER, "istio-readonly"), (PROD, "istio-admin")}
    assert held(emu, MEMBER_B, ALICE_B) == {(STAGING_OTHER, "istio-admin"), (STAGING, "istio-ops")}
    # Planning, applying and reading back: each role assumed once in the run.
    assert assumed(emu) == [ROLE_A, ROLE_B]
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert {(line["principal"], line["identity"]) for line in lines} == {
        (ALICE_HOME, "the caller's own credentials"),
        (CAROL, "the caller's own credentials"),
        (ALICE_A, f"{ROLE_A} (session permctl)"),
        (ALICE_B, f"{ROLE_B} (session permctl)"),
    }
    code, out, err = permctl("plan", "--quiet", "--detailed-exitcode", str(write(tmp_path)))
    assert code == 0, out + err


def give_alice_b(*grants: MeshRole) -> None:
    """Another writer replaces the list of account B's alice, through B's role."""
    with connect_as(Target(), RoleAccess(ROLE_B, None, "other-writer")) as providers:
        providers.servicemesh.grant([ALICE_B], PrincipalKind.RAM_USER, grants)


def test_drift_reads_each_account_through_its_identity(emu: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path)
    code, _, err = permctl("apply", "--quiet", "--auto-approve", str(path))
    assert code == 0, err
    code, before, err = permctl("drift", "--quiet", str(path))
    # Only the principals the file does not list, each named in its own account.
    assert code == 2, err
    assert "erin (205) on mesh prod" in before and "auditor (303) on mesh staging" in before
    assert "alice" not in before

    give_alice_b(MeshRole(STAGING_OTHER, "istio-admin"), MeshRole(STAGING, "istio-admin"))
    code, after, err = permctl("drift", "--quiet", str(path))

    assert code == 2, err
    assert [line.strip() for line in after.splitlines() if "alice" in line] == [
        f"RAM user alice ({ALICE_B}) on mesh staging ({STAGING}): live istio-admin, file istio-ops"
    ]


def test_a_saved_plan_applies_and_is_stale_when_one_accounts_principal_changed(
    emu: Emulator, tmp_path: Path
) -> None:
    path, plan = write(tmp_path), tmp_path / "plan.json"
    code, _, err = permctl("plan", "--quiet", "--out", str(plan), str(path))
    assert code == 0, err
    give_alice_b(MeshRole(STAGING_OTHER, "istio-readonly"))
    emu.reset_log()

    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(path))

    assert code == 1
    assert f"live state changed since it was made (principal alice ({ALICE_B}))" in err
    assert granted(emu) == {}
    code, _, err = permctl("plan", "--quiet", "--out", str(plan), str(path))
    assert code == 0, err
    code, _, err = permctl("apply", "--quiet", "--plan", str(plan), str(path))
    assert code == 0, err
    assert set(granted(emu)) == {ALICE_HOME, CAROL, ALICE_A, ALICE_B}
    assert held(emu, MEMBER_B, ALICE_B) == {
        (STAGING_OTHER, "istio-readonly"),
        (STAGING, "istio-ops"),
    }


def test_a_name_missing_from_one_account_is_reported_for_that_account(
    emu: Emulator, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        [
            {
                "name": "carol",
                "ram_user": "carol",
                "roles": {"home": "istio-ops", "prod": "istio-ops"},
            }
        ],
    )

    code, _, err = permctl("plan", "--quiet", str(path))

    assert code == 1
    assert f"no RAM user in the account of asm[prod] ({ROLE_A} (session permctl))" in err
    assert "named 'carol'" in err and "asm.principals[0].ram_user" in err
    assert "asm[home]" not in err


def test_an_id_with_roles_in_two_accounts_is_refused_at_the_principal(
    emu: Emulator, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        [{"name": "carol", "ram_user": CAROL, "roles": {"home": "istio-ops", "prod": "istio-ops"}}],
    )

    code, _, err = permctl("plan", "--quiet", str(path))

    assert code == 1
    assert "permissions.yaml:" in err and "asm.principals[0].ram_user" in err
    assert f"{CAROL} is the id of a principal of one account" in err
    assert "home reached as the caller's own credentials" in err
    assert f"prod reached as {ROLE_A} (session permctl)" in err
    assert emu.calls == ()
    code, _, err = permctl("validate", str(path))
    assert code == 1
    assert f"{CAROL} is the id of a principal of one account" in err


def test_policy_gives_each_mesh_accounts_identity_its_calls(emu: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path)
    code, _, err = permctl("apply", "--quiet", "--auto-approve", str(path))
    assert code == 0, err
    code, out, err = permctl("policy", str(path), "--mode", "apply")
    assert code == 0, err

    documents = {
        policy["attach_to"]: {
            action
            for statement in policy["document"]["Statement"]
            for action in statement["Action"]
        }
        for policy in json.loads(out)["policies"]
        if policy["purpose"] != "permctl diagnose"
    }
    by_key = {
        emu.access_key_id: "the caller's own credentials",
        **{
            key: arn
            for arn in (ROLE_A, ROLE_B)
            for key in {c.access_key_id for c in emu.calls if c.account_id == arn.split(":")[3]}
        },
    }
    called: dict[str, set[str]] = {}
    for call in emu.calls:
        service = ROUTES[(call.version, call.action)].service
        called.setdefault(by_key[call.access_key_id or ""], set()).add(f"{service}:{call.action}")
    assert documents == called


def test_the_lockout_guard_knows_the_identity_acting_in_each_account(
    point_at: Callable[[Emulator], None], tmp_path: Path
) -> None:
    state = json.loads(json.dumps(STATE))
    [role] = [r for r in state["accounts"][0]["ram"]["roles"] if r["name"] == "permctl"]
    role["grants"] = [{"mesh": PROD, "role": "istio-admin"}]
    path = write(tmp_path, [{"name": "alice", "ram_user": "alice", "roles": {"prod": ADMIN}}])
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["asm"]["prune_unlisted"] = True
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with serving(state, point_at) as emu:
        code, _, err = permctl("apply", "--quiet", "--auto-approve", str(path))

        assert code == 1
        assert "the plan would remove or change the grants of permctl (202)" in err
        assert granted(emu) == {}
