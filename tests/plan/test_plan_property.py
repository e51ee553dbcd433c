"""Property: applying a plan to the live state it came from yields the file within scope and
changes nothing outside it, whatever the states."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st
from plan_states import SOURCE, TODAY

from permctl.model import (
    ASM_ROLES,
    AsmPrincipalLive,
    Assignment,
    DesiredAsm,
    DesiredAssignment,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    LiveState,
    Mesh,
    MeshRole,
    PrincipalKind,
    SafetySettings,
)
from permctl.plan import AssignmentCreate, AssignmentDelete, Plan, build_plan

MANAGED = ("m0", "m1", "m2")
UNMANAGED = ("x0", "x1")
PRINCIPALS = tuple(f"p{i}" for i in range(6))
ACCOUNTS = ("a0", "a1", "a2", "a3")
EXPIRIES = st.sampled_from([None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1)])

mesh_roles = st.builds(
    MeshRole,
    mesh_id=st.sampled_from(MANAGED + UNMANAGED),
    role=st.sampled_from((*ASM_ROLES, "custom-role")),
    role_type=st.sampled_from(("custom", "system")),
)
assignments = st.builds(
    Assignment,
    access_configuration_id=st.sampled_from(("ac-admin", "ac-read")),
    account_id=st.sampled_from(ACCOUNTS),
    principal_type=st.sampled_from(("User", "Group")),
    principal_id=st.sampled_from(("s0", "s1", "s2")),
)


@st.composite
def states(draw: st.DrawFn) -> tuple[DesiredState, LiveState]:
    kinds = {p: draw(st.sampled_from(PrincipalKind)) for p in PRINCIPALS}
    live_asm = {
        p: AsmPrincipalLive(p, kinds[p], draw(st.frozensets(mesh_roles, max_size=6)))
        for p in draw(st.sets(st.sampled_from(PRINCIPALS)))
    }
    listed = draw(st.sets(st.sampled_from(PRINCIPALS)))
    principals = tuple(
        DesiredPrincipal(
            label=f"label-{p}",
            principal_id=p,
            kind=kinds[p],
            roles=MappingProxyType(
                draw(st.dictionaries(st.sampled_from(MANAGED), st.sampled_from(ASM_ROLES)))
            ),
            source=SOURCE,
            expires=draw(EXPIRIES),
        )
        for p in sorted(listed)
    )
    scope = draw(st.frozensets(st.sampled_from(ACCOUNTS)))
    wanted = tuple(
        DesiredAssignment(a, SOURCE, draw(EXPIRIES))
        for a in draw(st.lists(assignments, max_size=6))
        if a.account_id in scope
    )
    desired = DesiredState(
        asm=DesiredAsm(tuple(Mesh(m, m) for m in MANAGED), principals, draw(st.booleans())),
        cloudsso=DesiredCloudSso("d", "accounts", scope, wanted, draw(st.booleans())),
        safety=SafetySettings(),
    )
    live = LiveState(
        asm=MappingProxyType(live_asm), assignments=draw(st.frozensets(assignments, max_size=8))
    )
    return desired, live


def _apply(plan: Plan, live: LiveState) -> LiveState:
    """What the cloud holds after apply executes every change of the plan."""
    asm = dict(live.asm)
    for update in plan.asm_updates:
        held = asm.get(update.principal_id)
        assert frozenset(update.before) == (held.permissions if held else frozenset())
        asm[update.principal_id] = AsmPrincipalLive(
            update.principal_id, update.kind, frozenset(update.after)
        )
    held_assignments = set(live.assignments)
    for change in plan.sso_changes:
        assert (change.assignment in held_assignments) == isinstance(change, AssignmentDelete)
        if isinstance(change, AssignmentCreate):
            held_assignments.add(change.assignment)
        else:
            held_assignments.remove(change.assignment)
    return LiveState(asm=MappingProxyType(asm), assignments=frozenset(held_assignments))


def _on(grants: frozenset[MeshRole], meshes: tuple[str, ...]) -> frozenset[MeshRole]:
    return frozenset(g for g in grants if g.mesh_id in meshes)


def _roles_on_managed(state: LiveState, principal_id: str) -> set[tuple[str, str]]:
    held = state.asm.get(principal_id)
    return {(g.mesh_id, g.role) for g in _on(held.permissions, MANAGED)} if held else set()


@settings(max_examples=200, deadline=None)
@given(states())
def test_applying_the_plan_yields_the_file_within_scope_and_nothing_else(
    state: tuple[DesiredState, LiveState],
) -> None:
    desired, live = state
    assert desired.asm is not None and desired.cloudsso is not None
    plan = build_plan(desired, live, TODAY)
    after = _apply(plan, live)

    for principal_id in live.asm.keys() | after.asm.keys():
        before_held = live.asm.get(principal_id)
        after_held = after.asm.get(principal_id)
        before = before_held.permissions if before_held else frozenset()
        assert _on(after_held.permissions if after_held else frozenset(), UNMANAGED) == _on(
            before, UNMANAGED
        )

    listed = {p.principal_id: p for p in desired.asm.principals}
    for p in listed.values():
        expired = p.expires is not None and p.expires < TODAY
        wanted = set() if expired else set(p.roles.items())
        assert _roles_on_managed(after, p.principal_id) == wanted
    for principal_id in live.asm.keys() - listed.keys():
        expected = set() if desired.asm.prune_unlisted else _roles_on_managed(live, principal_id)
        assert _roles_on_managed(after, principal_id) == expected

    sso = desired.cloudsso
    active = {d.assignment for d in sso.assignments if d.expires is None or d.expires >= TODAY}
    declared = {d.assignment for d in sso.assignments}
    in_scope = {a for a in live.assignments if a.account_id in sso.managed_account_ids}
    undeclared = set() if sso.prune_unlisted else in_scope - declared
    assert {a for a in after.assignments if a.account_id in sso.managed_account_ids} == (
        active | undeclared
    )
    assert {a for a in after.assignments if a.account_id not in sso.managed_account_ids} == {
        a for a in live.assignments if a.account_id not in sso.managed_account_ids
    }

    assert all(update.changes for update in plan.asm_updates)
    assert not build_plan(desired, after, TODAY).has_changes
