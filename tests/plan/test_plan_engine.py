"""build_plan on hand-built states: one test per rule a user relies on."""

from __future__ import annotations

import pytest
from plan_states import (
    ACC_A,
    ACC_B,
    ACC_OUTSIDE,
    ADMIN,
    DEV,
    OPS,
    OTHER,
    PROD,
    READONLY,
    SOURCE,
    STAGING,
    TODAY,
    YESTERDAY,
    assignment,
    cloudsso,
    desired,
    held,
    live,
    principal,
    rich_example,
)

from permctl.model import AsmPrincipalLive, DesiredAssignment, MeshRole, PrincipalKind
from permctl.plan import (
    AssignmentCreate,
    AssignmentDelete,
    MeshRoleChange,
    UnmanagedGrant,
    build_plan,
    drift_items,
    take_snapshot,
)


def test_new_principal_gets_its_roles_as_adds() -> None:
    plan = build_plan(desired(principal("alice", "u1", {PROD: ADMIN})), live(), TODAY)

    (update,) = plan.asm_updates
    assert update.before == ()
    assert update.after == (MeshRole(PROD, ADMIN),)
    assert update.changes == (MeshRoleChange(PROD, None, ADMIN),)


def test_principal_in_sync_produces_no_update() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: ADMIN})),
        live(held("u1", (PROD, ADMIN), (OTHER, OPS))),
        TODAY,
    )

    assert plan.asm_updates == ()
    assert not plan.has_changes


def test_grants_on_unmanaged_meshes_are_kept_verbatim() -> None:
    unmanaged = MeshRole(OTHER, "some-custom-role", role_type="system")
    live_state = live(
        AsmPrincipalLive(
            "u1", PrincipalKind.RAM_USER, frozenset({MeshRole(PROD, READONLY), unmanaged})
        )
    )

    plan = build_plan(desired(principal("alice", "u1", {PROD: ADMIN})), live_state, TODAY)

    assert plan.asm_updates[0].after == (unmanaged, MeshRole(PROD, ADMIN))


def test_role_change_shown_per_mesh_but_one_update_per_principal() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: ADMIN, STAGING: OPS, DEV: READONLY})),
        live(held("u1", (PROD, OPS), (STAGING, READONLY), (OTHER, ADMIN))),
        TODAY,
    )

    (update,) = plan.asm_updates
    assert update.changes == (
        MeshRoleChange(DEV, None, READONLY),
        MeshRoleChange(PROD, OPS, ADMIN),
        MeshRoleChange(STAGING, READONLY, OPS),
    )
    assert set(update.after) == {
        MeshRole(PROD, ADMIN),
        MeshRole(STAGING, OPS),
        MeshRole(DEV, READONLY),
        MeshRole(OTHER, ADMIN),
    }


def test_principal_losing_all_managed_roles_keeps_unmanaged_ones() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {})),
        live(held("u1", (PROD, ADMIN), (DEV, OPS), (OTHER, READONLY))),
        TODAY,
    )

    (update,) = plan.asm_updates
    assert update.after == (MeshRole(OTHER, READONLY),)
    assert [c.action for c in update.changes] == ["remove", "remove"]


def test_full_removal_when_nothing_else_is_held() -> None:
    plan = build_plan(desired(principal("alice", "u1", {})), live(held("u1", (PROD, ADMIN))), TODAY)

    assert plan.asm_updates[0].after == ()


def test_extra_roles_on_one_mesh_collapse_to_the_declared_one() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: OPS})),
        live(held("u1", (PROD, ADMIN), (PROD, OPS))),
        TODAY,
    )

    (update,) = plan.asm_updates
    assert update.changes == (MeshRoleChange(PROD, ADMIN, None),)
    assert update.after == (MeshRole(PROD, OPS),)


def test_roles_declared_on_meshes_the_file_does_not_manage_are_ignored() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {OTHER: ADMIN})), live(held("u1", (OTHER, OPS))), TODAY
    )

    assert plan.asm_updates == ()


def test_expired_principal_loses_its_managed_roles_with_reason_expired() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: ADMIN}, expires=YESTERDAY)),
        live(held("u1", (PROD, ADMIN), (OTHER, OPS))),
        TODAY,
    )

    (update,) = plan.asm_updates
    assert update.changes == (MeshRoleChange(PROD, ADMIN, None, "expired"),)
    assert update.after == (MeshRole(OTHER, OPS),)


def test_principal_expiring_today_is_still_valid() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: ADMIN}, expires=TODAY)),
        live(held("u1", (PROD, ADMIN))),
        TODAY,
    )

    assert not plan.has_changes


def test_expired_principal_with_nothing_live_plans_nothing() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: ADMIN}, expires=YESTERDAY)), live(), TODAY
    )

    assert not plan.has_changes


def test_unlisted_principal_is_reported_unmanaged_and_left_alone_without_prune() -> None:
    plan = build_plan(desired(), live(held("u9", (PROD, OPS), (OTHER, ADMIN))), TODAY)

    assert plan.asm_updates == ()
    assert plan.unmanaged.asm == (
        UnmanagedGrant("u9", PrincipalKind.RAM_USER, MeshRole(PROD, OPS)),
    )


def test_unlisted_principal_loses_only_managed_roles_with_prune() -> None:
    plan = build_plan(
        desired(prune=True),
        live(held("u9", (PROD, OPS), (OTHER, ADMIN), kind=PrincipalKind.RAM_ROLE)),
        TODAY,
    )

    (update,) = plan.asm_updates
    assert update.label is None
    assert update.kind is PrincipalKind.RAM_ROLE
    assert update.changes == (MeshRoleChange(PROD, OPS, None, "unlisted"),)
    assert update.after == (MeshRole(OTHER, ADMIN),)
    assert plan.unmanaged.asm == ()


def test_unlisted_principal_holding_only_unmanaged_meshes_is_not_mentioned() -> None:
    plan = build_plan(desired(prune=True), live(held("u9", (OTHER, ADMIN))), TODAY)

    assert not plan.has_changes
    assert len(plan.unmanaged) == 0


def test_updates_are_sorted_by_principal_id_whatever_the_input_order() -> None:
    principals = [principal(f"p{i}", f"u{i}", {PROD: OPS}) for i in (3, 1, 2)]

    plan = build_plan(desired(*principals), live(), TODAY)
    reversed_plan = build_plan(desired(*reversed(principals)), live(), TODAY)

    assert [u.principal_id for u in plan.asm_updates] == ["u1", "u2", "u3"]
    assert plan == reversed_plan


def test_cloudsso_creates_missing_assignments() -> None:
    wanted = assignment("ac-admin", ACC_A, "sso-u1")

    plan = build_plan(desired(sso=cloudsso(wanted), asm=False), live(), TODAY)

    assert plan.sso_changes == (AssignmentCreate(wanted),)
    assert plan.directory_id == "d-dir"


def test_cloudsso_undeclared_assignment_in_scope_is_unmanaged_without_prune() -> None:
    stray = assignment("ac-admin", ACC_B, "sso-u2")

    plan = build_plan(desired(sso=cloudsso(), asm=False), live(assignments=[stray]), TODAY)

    assert plan.sso_changes == ()
    assert plan.unmanaged.cloudsso == (stray,)


def test_cloudsso_undeclared_assignment_in_scope_is_deleted_with_prune() -> None:
    stray = assignment("ac-admin", ACC_B, "sso-u2")

    plan = build_plan(
        desired(sso=cloudsso(prune=True), asm=False), live(assignments=[stray]), TODAY
    )

    assert plan.sso_changes == (AssignmentDelete(stray, "unlisted"),)


def test_cloudsso_assignments_outside_scope_are_never_touched() -> None:
    outside = assignment("ac-admin", ACC_OUTSIDE, "sso-u2")

    plan = build_plan(
        desired(sso=cloudsso(prune=True), asm=False), live(assignments=[outside]), TODAY
    )

    assert not plan.has_changes
    assert len(plan.unmanaged) == 0
    assert plan.existing_managed_grants == 0


def test_cloudsso_expired_assignment_still_live_is_deleted_with_reason_expired() -> None:
    old = assignment("ac-admin", ACC_A, "sso-u1")
    expired = DesiredAssignment(old, SOURCE, expires=YESTERDAY)

    plan = build_plan(desired(sso=cloudsso(expired), asm=False), live(assignments=[old]), TODAY)

    assert plan.sso_changes == (AssignmentDelete(old, "expired"),)


def test_cloudsso_expired_assignment_not_live_plans_nothing() -> None:
    expired = DesiredAssignment(assignment("ac-admin", ACC_A, "sso-u1"), SOURCE, YESTERDAY)

    plan = build_plan(desired(sso=cloudsso(expired), asm=False), live(), TODAY)

    assert not plan.has_changes


def test_snapshot_holds_the_live_state_of_every_touched_target() -> None:
    on_a = assignment("ac-read", ACC_A, "sso-u3")
    plan = build_plan(
        desired(
            principal("alice", "u1", {PROD: ADMIN}),
            principal("bob", "u2", {PROD: OPS}),
            sso=cloudsso(assignment("ac-admin", ACC_A, "sso-u1"), on_a),
        ),
        live(held("u1", (OTHER, OPS)), held("u2", (PROD, OPS)), assignments=[on_a]),
        TODAY,
    )

    assert [(p.principal_id, p.permissions) for p in plan.snapshot.asm] == [
        ("u1", (MeshRole(OTHER, OPS),))
    ]
    assert [(a.account_id, a.assignments) for a in plan.snapshot.cloudsso] == [(ACC_A, (on_a,))]


def test_fingerprint_changes_when_the_touched_live_state_differs() -> None:
    wanted = desired(principal("alice", "u1", {PROD: ADMIN}))

    first = build_plan(wanted, live(held("u1", (OTHER, OPS))), TODAY)
    second = build_plan(wanted, live(held("u1", (OTHER, ADMIN))), TODAY)

    assert first.fingerprint() != second.fingerprint()
    again = build_plan(wanted, live(held("u1", (OTHER, OPS))), TODAY)
    assert first.fingerprint() == again.fingerprint()


def test_a_fresh_read_of_unchanged_targets_has_the_plans_fingerprint() -> None:
    desired_state, live_state = rich_example()
    plan = build_plan(desired_state, live_state, TODAY)
    principals = [(p.principal_id, p.kind) for p in plan.snapshot.asm]
    accounts = [a.account_id for a in plan.snapshot.cloudsso]

    unchanged = take_snapshot(live_state, principals, accounts)
    moved_on = take_snapshot(
        live(*live_state.asm.values(), assignments=[assignment("ac-admin", ACC_B, "sso-new")]),
        principals,
        accounts,
    )

    assert unchanged.fingerprint() == plan.fingerprint()
    assert moved_on.fingerprint() != plan.fingerprint()


def test_summary_counts_every_kind_of_change() -> None:
    plan = build_plan(
        desired(
            principal("alice", "u1", {PROD: ADMIN, STAGING: OPS}),
            sso=cloudsso(assignment("ac-admin", ACC_A, "sso-u1"), prune=True),
        ),
        live(
            held("u1", (STAGING, READONLY), (DEV, OPS)),
            held("u9", (PROD, OPS)),
            assignments=[assignment("ac-admin", ACC_B, "sso-u2")],
        ),
        TODAY,
    )

    summary = plan.summary
    assert (summary.adds, summary.role_changes, summary.removes) == (1, 1, 1)
    assert (summary.principals, summary.creates, summary.deletes, summary.unmanaged) == (1, 1, 1, 1)


def test_display_names_prefer_labels_then_names_then_mesh_aliases() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: ADMIN}), names={"u1": "alice.smith"}),
        live(names={"u1": "ignored-live-name"}),
        TODAY,
    )

    update = plan.asm_updates[0]
    assert plan.describe_mesh_change(update, update.changes[0]) == (
        "alice (u1) on prod (c-prod): nothing -> istio-admin"
    )
    assert plan.describe("u1") == "alice.smith (u1)"
    assert plan.describe("unknown-id") == "unknown-id"


def test_drift_classifies_every_change_and_unmanaged_grant() -> None:
    plan = build_plan(
        desired(
            principal("alice", "u1", {PROD: ADMIN, STAGING: OPS, DEV: OPS}),
            principal("gone", "u2", {PROD: OPS}, expires=YESTERDAY),
            sso=cloudsso(assignment("ac-admin", ACC_A, "sso-u1")),
        ),
        live(
            held("u1", (STAGING, READONLY), (DEV, OPS), (DEV, ADMIN)),
            held("u2", (PROD, OPS)),
            held("u9", (PROD, OPS)),
            assignments=[assignment("ac-read", ACC_B, "sso-u2")],
        ),
        TODAY,
    )

    kinds = sorted((item.service, item.kind, item.principal_id) for item in drift_items(plan))
    assert kinds == [
        ("asm", "expired_still_live", "u2"),
        ("asm", "in_file_missing_live", "u1"),
        ("asm", "live_not_in_file", "u1"),
        ("asm", "live_not_in_file", "u9"),
        ("asm", "role_mismatch", "u1"),
        ("cloudsso", "in_file_missing_live", "sso-u1"),
        ("cloudsso", "live_not_in_file", "sso-u2"),
    ]


def test_a_principal_listed_twice_is_refused_rather_than_overwritten() -> None:
    twice = desired(principal("a", "u1", {PROD: ADMIN}), principal("b", "u1", {DEV: OPS}))

    with pytest.raises(ValueError, match="more than once"):
        build_plan(twice, live(), TODAY)
