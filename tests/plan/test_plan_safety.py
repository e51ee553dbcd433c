"""Plan.raise_if_unsafe, the one safety gate: each refusal, with and without the override that
accepts it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from plan_states import (
    ACC_A,
    ADMIN,
    DEV,
    OPS,
    PROD,
    READONLY,
    STAGING,
    TODAY,
    assignment,
    cloudsso,
    desired,
    held,
    live,
    principal,
)

from permctl.errors import UnsafePlan
from permctl.model import SafetySettings
from permctl.plan import (
    CallerLockout,
    MeshAdminLockout,
    Plan,
    PlanIsUnsafe,
    ProtectedPrincipalChange,
    SafetyIssue,
    TooMuchChange,
    build_plan,
)


@contextmanager
def refused_for(
    kind: type[SafetyIssue], match: str | None = None
) -> Iterator[pytest.ExceptionInfo[PlanIsUnsafe]]:
    """The gate refuses the plan for this one reason, whose message matches `match`."""
    with pytest.raises(PlanIsUnsafe) as refusal:
        yield refusal
    assert [type(issue) for issue in refusal.value.issues] == [kind]
    assert re.search(match or "", str(refusal.value.issues[0]))


def _readonly_team(count: int) -> list:
    return [held(f"u{i:02}", (DEV, READONLY)) for i in range(count)]


def _plan_removing(removed: int, existing: int, safety: SafetySettings) -> Plan:
    """`existing` readonly grants on dev, of which the file keeps all but `removed`."""
    team = _readonly_team(existing)
    kept = [principal(p.principal_id, p.principal_id, {DEV: READONLY}) for p in team[removed:]]
    gone = [principal(p.principal_id, p.principal_id, {}) for p in team[:removed]]
    return build_plan(desired(*kept, *gone, safety=safety), live(*team), TODAY)


def test_removing_more_than_the_threshold_is_too_much_change() -> None:
    plan = _plan_removing(4, 10, SafetySettings(max_delete_percent=30))

    with refused_for(TooMuchChange, "4 of 10 existing managed grants \\(40.0%\\)") as refusal:
        plan.raise_if_unsafe()
    assert "u00 on dev (c-dev): istio-readonly -> nothing" in str(refusal.value.issues[0])
    assert str(refusal.value).endswith("(--force overrides)); nothing was saved or applied")


def test_removing_exactly_the_threshold_is_allowed() -> None:
    _plan_removing(3, 10, SafetySettings(max_delete_percent=30)).raise_if_unsafe()


def test_too_much_change_is_overridden_by_force() -> None:
    plan = _plan_removing(4, 10, SafetySettings(max_delete_percent=30))

    plan.raise_if_unsafe(frozenset({"force"}))


def test_threshold_does_not_apply_below_the_minimum_existing_grants() -> None:
    safety = SafetySettings(max_delete_percent=30, min_existing_for_threshold=10)

    plan = _plan_removing(5, 9, safety)

    plan.raise_if_unsafe()


def test_cloudsso_deletes_count_towards_too_much_change() -> None:
    stale = [assignment("ac-read", ACC_A, f"sso-{i}") for i in range(10)]
    plan = build_plan(
        desired(
            sso=cloudsso(*stale[:6], prune=True),
            safety=SafetySettings(max_delete_percent=30),
            asm=False,
        ),
        live(assignments=stale),
        TODAY,
    )

    with refused_for(TooMuchChange, "4 of 10"):
        plan.raise_if_unsafe()


def test_message_lists_at_most_ten_grants_and_counts_the_rest() -> None:
    plan = _plan_removing(12, 20, SafetySettings(max_delete_percent=30))

    (issue,) = plan.safety_issues()
    assert len(issue.grants) == 12
    assert str(issue).endswith("; and 2 more")


def test_changing_a_protected_principal_is_refused_even_with_force() -> None:
    plan = build_plan(
        desired(
            principal("breakglass", "u1", {PROD: OPS}),
            safety=SafetySettings(
                protected_principals=frozenset({"breakglass"}), min_existing_for_threshold=100
            ),
        ),
        live(held("u1", (PROD, ADMIN)), held("u2", (PROD, ADMIN))),
        TODAY,
    )

    with refused_for(ProtectedPrincipalChange, "breakglass \\(u1\\) on prod"):
        plan.raise_if_unsafe(frozenset({"force", "allow_lockout"}))


@pytest.mark.parametrize("protected", ["u1", "ops-bot", "breakglass"])
def test_protected_principal_matches_label_id_or_name(protected: str) -> None:
    plan = build_plan(
        desired(
            principal("breakglass", "u1", {}),
            safety=SafetySettings(
                protected_principals=frozenset({protected}), min_existing_for_threshold=100
            ),
        ),
        live(held("u1", (STAGING, OPS)), names={"u1": "ops-bot"}),
        TODAY,
    )

    assert [type(i) for i in plan.safety_issues()] == [ProtectedPrincipalChange]


def test_adding_grants_to_a_protected_principal_is_fine() -> None:
    plan = build_plan(
        desired(
            principal("breakglass", "u1", {PROD: ADMIN}),
            safety=SafetySettings(
                protected_principals=frozenset({"u1"}), min_existing_for_threshold=100
            ),
        ),
        live(),
        TODAY,
    )

    plan.raise_if_unsafe()


def test_deleting_a_protected_cloudsso_principals_assignment_is_refused() -> None:
    stray = assignment("ac-admin", ACC_A, "sso-root")
    plan = build_plan(
        desired(
            sso=cloudsso(prune=True),
            safety=SafetySettings(
                protected_principals=frozenset({"root"}), min_existing_for_threshold=100
            ),
            asm=False,
        ),
        live(assignments=[stray], names={"sso-root": "root"}),
        TODAY,
    )

    with refused_for(ProtectedPrincipalChange):
        plan.raise_if_unsafe(frozenset({"force"}))


def _last_admin_leaves_prod() -> Plan:
    return build_plan(
        desired(principal("alice", "u1", {PROD: OPS}), principal("bob", "u2", {PROD: OPS})),
        live(held("u1", (PROD, ADMIN)), held("u2", (PROD, OPS))),
        TODAY,
    )


def test_leaving_a_mesh_without_any_admin_is_a_lockout() -> None:
    with refused_for(MeshAdminLockout, "leave prod \\(c-prod\\) with no istio-admin"):
        _last_admin_leaves_prod().raise_if_unsafe(frozenset({"force"}))


def test_mesh_admin_lockout_is_overridden_by_allow_lockout() -> None:
    _last_admin_leaves_prod().raise_if_unsafe(frozenset({"allow_lockout"}))


def test_another_admin_remaining_is_not_a_lockout() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: OPS})),
        live(held("u1", (PROD, ADMIN)), held("u9", (PROD, ADMIN))),
        TODAY,
    )

    plan.raise_if_unsafe()


def test_admin_granted_by_the_same_plan_prevents_a_lockout() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: OPS}), principal("carol", "u3", {PROD: ADMIN})),
        live(held("u1", (PROD, ADMIN))),
        TODAY,
    )

    plan.raise_if_unsafe()


def test_removing_the_callers_own_grants_is_a_lockout() -> None:
    plan = build_plan(
        desired(principal("deployer", "u1", {PROD: READONLY})),
        live(held("u1", (PROD, OPS)), caller="u1"),
        TODAY,
    )

    with refused_for(CallerLockout, "deployer \\(u1\\), the identity running permctl"):
        plan.raise_if_unsafe(frozenset({"force"}))
    plan.raise_if_unsafe(frozenset({"allow_lockout"}))


def test_adding_to_the_callers_grants_is_fine() -> None:
    plan = build_plan(
        desired(principal("deployer", "u1", {PROD: OPS, DEV: OPS})),
        live(held("u1", (PROD, OPS)), caller="u1"),
        TODAY,
    )

    plan.raise_if_unsafe()


def test_every_reason_is_available_at_once_most_serious_first() -> None:
    plan = build_plan(
        desired(
            principal("deployer", "u1", {}),
            safety=SafetySettings(
                protected_principals=frozenset({"deployer"}),
                max_delete_percent=10,
                min_existing_for_threshold=1,
            ),
        ),
        live(held("u1", (PROD, ADMIN)), caller="u1"),
        TODAY,
    )

    issues = plan.safety_issues()
    assert [type(i) for i in issues] == [
        ProtectedPrincipalChange,
        MeshAdminLockout,
        CallerLockout,
        TooMuchChange,
    ]
    assert all(isinstance(i, UnsafePlan) for i in issues)
    assert [i.override for i in issues] == [None, "allow_lockout", "allow_lockout", "force"]
