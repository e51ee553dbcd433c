"""`permctl apply` end to end against the emulator with the real SDK: convergence,
idempotence, grants on unmanaged meshes, batching, ordering, safety, confirmation, reports and
the audit log."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from apply_support import (
    BOB,
    CAROL,
    DEVELOPERS,
    FRANK,
    MANAGED,
    PROD,
    SANDBOX,
    STAGING,
    apply_json,
    completed_tasks,
    extra_user_id,
    grants_lost_outside_managed,
    has_changes,
    permctl,
    permissions,
    write_calls,
    write_file,
)

from permctl.apply import GRANT_BATCH_SIZE
from permctl.emulator import Emulator, GrantWrite, MeshGrant


def test_apply_converges_and_a_second_apply_writes_nothing(emu: Emulator, tmp_path: Path) -> None:
    file = write_file(tmp_path, permissions())
    code, report, err = apply_json(str(file))
    assert code == 0, err
    assert report["succeeded"] and report["summary"] == {"done": 12, "failed": 0, "skipped": 0}
    assert not has_changes(file)
    emu.reset_log()
    code, report, err = apply_json(str(file))
    assert code == 0, err
    assert report["items"] == [] and write_calls(emu) == 0


def test_grants_on_unmanaged_meshes_survive_every_write(emu: Emulator, tmp_path: Path) -> None:
    # Pruning takes everything on prod and staging from the unlisted principals: frank holds
    # nothing elsewhere and ends with an empty list; break-glass, sre-oncall and auditor keep
    # their sandbox grants.
    file = write_file(tmp_path, permissions(prune_asm=True))
    code, _, err = apply_json(str(file))
    assert code == 0, err
    grants = {w.principal_id: w for w in emu.writes if isinstance(w, GrantWrite)}
    assert grants_lost_outside_managed(emu) == []
    assert grants[FRANK].after == ()
    assert grants[BOB].after == (
        MeshGrant(PROD, "istio-readonly"),
        MeshGrant(SANDBOX, "istio-readonly"),
    )
    assert grants[CAROL].after == (
        MeshGrant(STAGING, "istio-readonly"),
        MeshGrant(SANDBOX, "istio-admin"),
    )
    pruned_with_sandbox = [w for w in grants.values() if w.before and w.principal_id != FRANK]
    assert all(
        {g for g in w.before if g.mesh not in MANAGED}
        == set(w.after) - {g for g in w.after if g.mesh in MANAGED}
        for w in pruned_with_sandbox
    )


def test_principals_given_the_same_list_share_grant_calls(
    serve: Callable[..., Emulator], tmp_path: Path
) -> None:
    newcomers = 2 * GRANT_BATCH_SIZE + 5
    emu = serve(extra_users=newcomers)
    document = permissions()
    document["asm"]["principals"] += [
        {"name": f"extra-{i}", "ram_user": extra_user_id(i), "roles": {"prod": "istio-readonly"}}
        for i in range(newcomers)
    ]
    code, report, err = apply_json(str(write_file(tmp_path, document)))
    assert code == 0, err
    grant_calls = [c for c in emu.calls if c.action == "GrantUserPermissions"]
    batched = [c for c in grant_calls if "SubAccountUserIds" in c.params]
    # The four principals the base file changes each get a list of their own: a call each.
    assert len(batched) == math.ceil(newcomers / GRANT_BATCH_SIZE)
    assert len(grant_calls) == len(batched) + 4
    granted = [pid for c in batched for pid in json.loads(c.params["SubAccountUserIds"])]
    assert sorted(granted) == sorted(extra_user_id(i) for i in range(newcomers))
    # Each was read by the plan, just before its grant and once more after every write.
    reads = [
        c.params["SubAccountUserId"] for c in emu.calls if c.action == "DescribeUserPermissions"
    ]
    assert all(reads.count(principal_id) == 3 for principal_id in granted)
    assert report["verification_reads"] == newcomers + 4
    assert report["summary"]["done"] == newcomers + 4 + 8


def test_creates_finish_before_any_delete_starts(emu: Emulator, tmp_path: Path) -> None:
    code, _, err = apply_json(str(write_file(tmp_path, permissions())))
    assert code == 0, err
    first_delete = min(c.time for c in emu.calls if c.action == "DeleteAccessAssignment")
    tasks = completed_tasks(emu)
    creates = [t for t in tasks if t.operation == "CreateAccessAssignment"]
    deletes = [t for t in tasks if t.operation == "DeleteAccessAssignment"]
    assert len(creates) == 6 and len(deletes) == 2
    status_calls = [c for c in emu.calls if c.action == "GetTaskStatus"]
    assert (
        max(c.time for c in status_calls if c.params["TaskId"] in {t.task_id for t in creates})
        <= first_delete
    )
    assert {t.assignment.principal_id for t in deletes} == {DEVELOPERS}
    assert {t.deprovision_strategy for t in deletes} == {
        "DeprovisionForLastAccessAssignmentOnAccount"
    }


def test_an_unsafe_plan_is_refused_before_any_write_unless_forced(
    emu: Emulator, tmp_path: Path
) -> None:
    document = permissions(prune_asm=True)
    document["settings"] = {"safety": {"max_delete_percent": 10}}
    file = write_file(tmp_path, document)
    code, out, err = permctl("apply", "--auto-approve", "--quiet", str(file))
    assert code == 1
    assert "too much change" in err and "--force overrides" in err
    assert write_calls(emu) == 0
    assert "Service Mesh" in out  # the plan was shown, so the refusal can be understood
    code, _, err = apply_json("--force", str(file))
    assert code == 0, err
    assert not has_changes(file)


def test_without_a_terminal_apply_asks_for_auto_approve_and_writes_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    code, _, err = permctl("apply", "--quiet", str(write_file(tmp_path, permissions())))
    assert code == 1
    assert "--auto-approve" in err and "not a terminal" in err
    assert write_calls(emu) == 0


def test_nothing_to_do_needs_no_confirmation(emu: Emulator, tmp_path: Path) -> None:
    file = write_file(tmp_path, permissions())
    assert apply_json(str(file))[0] == 0
    code, out, err = permctl("apply", "--quiet", str(file))
    assert code == 0, err
    assert "Nothing to apply" in out


def test_text_report_lists_each_item_with_its_request_id(emu: Emulator, tmp_path: Path) -> None:
    code, out, err = permctl(
        "apply", "--auto-approve", "--quiet", str(write_file(tmp_path, permissions()))
    )
    assert code == 0, err
    grant_ids = {c.request_id for c in emu.calls if c.action == "GrantUserPermissions"}
    assert all(f"(RequestId {rid})" in out for rid in grant_ids)
    assert "done     grant bob (278525736094805678)" in out
    assert out.rstrip().endswith("Apply complete: 12 done, 0 failed, 0 skipped (12 write calls).")


def test_audit_log_has_one_line_per_write_and_no_secret(emu: Emulator, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"earlier": "line"}\n', encoding="utf-8")
    code, _, err = apply_json("--audit-log", str(audit), str(write_file(tmp_path, permissions())))
    assert code == 0, err
    text = audit.read_text(encoding="utf-8")
    assert emu.access_key_secret not in text
    lines = [json.loads(line) for line in text.splitlines()[1:]]
    writes = [
        c
        for c in emu.calls
        if c.action in ("GrantUserPermissions", "CreateAccessAssignment", "DeleteAccessAssignment")
    ]
    assert sorted(line["request_id"] for line in lines) == sorted(c.request_id for c in writes)
    bob = next(line for line in lines if line.get("principal") == BOB)
    assert bob["action"] == "GrantUserPermissions" and bob["outcome"] == "done"
    assert {line["identity"] for line in lines} == {"the caller's own credentials"}
    assert {"mesh_id": SANDBOX, "role": "istio-readonly"} in bob["before"]
    assert {"mesh_id": SANDBOX, "role": "istio-readonly"} in bob["after"]
    # Who the credentials are, the principal and meshes by name, the plan by its digest.
    assert {line["caller"]["account_id"] for line in lines} == {"1000000000000001"}
    assert {line["caller"]["arn"] for line in lines} == {"acs:ram::1000000000000001:root"}
    assert len({line["plan_digest"] for line in lines}) == 1
    assert lines[0]["plan_digest"].startswith("sha256:")
    assert bob["principal_name"] == "bob"
    # Every section acts as the caller: GetCallerIdentity once, for the plan's check and the log.
    assert emu.count("GetCallerIdentity") == 1
    assert {g.get("mesh_alias") for g in bob["after"]} >= {"prod"}
    swap = [line for line in lines if line.get("principal") == DEVELOPERS]
    assert {line["action"] for line in swap} == {"CreateAccessAssignment", "DeleteAccessAssignment"}
    assert all({"time", "target", "before", "after", "outcome"} <= line.keys() for line in swap)
