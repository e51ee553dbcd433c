"""Apply as the documented wire may really behave: IsRamRole read either way, an empty list
granted (or refused), and refused calls reported as the call that was refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from apply_support import BOB, FRANK, PROD, STAGING, has_changes, permctl, permissions, write_file

from permctl.emulator import DenyRule, Emulator, Knobs

ALICE, SRE_ONCALL = "278525736094801234", "300000000000000002"


def frank_listed_with_nothing(tmp_path: Path) -> Path:
    """frank holds one role, on a managed mesh, and the file gives him none: the grant that
    follows is of an empty list."""
    document = {
        "version": 1,
        "settings": {"safety": {"max_delete_percent": 100}},
        "asm": {
            "meshes": {"prod": PROD, "staging": STAGING},
            "principals": [{"name": "frank", "ram_user": "frank"}],
        },
    }
    return write_file(tmp_path, document)


def test_a_principal_losing_every_role_is_granted_an_empty_list_and_read_back_empty(
    emu: Emulator, tmp_path: Path
) -> None:
    code, out, err = permctl("apply", "--auto-approve", "--quiet", "--format", "json",
                             str(frank_listed_with_nothing(tmp_path)))  # fmt: skip
    assert code == 0, err
    (grant,) = [c for c in emu.calls if c.action == "GrantUserPermissions"]
    assert (grant.params["SubAccountUserId"], json.loads(grant.params["Permissions"])) == (
        FRANK,
        [],
    )
    report = json.loads(out)
    assert report["verification_reads"] == 1 and report["succeeded"]
    (frank,) = [u for u in emu.dump()["ram"]["users"] if u["id"] == FRANK]
    assert frank["grants"] == []


def test_an_empty_list_refused_names_the_principal_and_what_to_do(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve(Knobs(refuse_empty_grants=True))
    code, out, _ = permctl("apply", "--auto-approve", "--quiet",
                           str(frank_listed_with_nothing(tmp_path)))  # fmt: skip
    assert code == 1
    refused = next(c for c in emu.calls if c.action == "GrantUserPermissions")
    (line,) = [line for line in out.splitlines() if line.strip().startswith("failed")]
    assert (
        f"grant frank ({FRANK}): GrantUserPermissions failed: InvalidParameter.Permissions" in line
    )
    assert "keep one role for it in the file" in line
    assert line.endswith(f"; to see why: permctl diagnose {refused.request_id}")


def test_a_refused_grant_names_the_action_its_code_and_how_to_see_why(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = serve(Knobs(deny=(DenyRule("GrantUserPermissions", frozenset({BOB})),)))
    code, out, _ = permctl("apply", "--auto-approve", "--quiet",
                           str(write_file(tmp_path, permissions())))  # fmt: skip
    assert code == 1
    refused = next(c for c in emu.calls if c.action == "GrantUserPermissions" and c.code)
    (line,) = [line for line in out.splitlines() if line.strip().startswith("failed")]
    assert line == (
        f"  failed   grant bob ({BOB}): GrantUserPermissions failed: NoPermission: You are not "
        "authorized to perform this operation. Action: servicemesh:GrantUserPermissions "
        f"(RequestId {refused.request_id}); to see why: permctl diagnose {refused.request_id}"
    )


def test_is_ram_role_read_the_other_way_warns_and_grants_as_the_file_declares(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    serve(Knobs(is_ram_role_means_user=True))
    file = write_file(tmp_path, permissions())
    code, _, err = permctl("plan", "--quiet", str(file))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert (
        f"warning: alice ({ALICE}): the file declares ram_user, but DescribeUserPermissions "
        "says IsRamRole=true (a RAM role as GrantUserPermissions reads it, the opposite as "
        "DescribeUserPermissions' page does); granting it as ram_user"
    ) in warnings
    assert any(
        f"sre-oncall ({SRE_ONCALL}): DescribeUsersWithPermissions lists it under UserType "
        "RamRole, but DescribeUserPermissions says IsRamRole=false" in w
        for w in warnings
    )
    code, _, err = permctl("apply", "--auto-approve", "--quiet", str(file))
    assert code == 0, err
    assert not has_changes(file)


def test_is_ram_role_that_agrees_with_the_file_warns_of_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    code, _, err = permctl("plan", "--quiet", str(write_file(tmp_path, permissions())))
    assert code == 0 and "warning" not in err
