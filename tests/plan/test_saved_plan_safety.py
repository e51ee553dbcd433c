"""A saved plan is judged at apply as it was when planned: the safety check of the plan rebuilt
from the file finds exactly the issues `build_plan`'s plan had, whatever the states."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from plan_states import TODAY
from test_plan_property import PRINCIPALS, states

from permctl.errors import UnsafePlan
from permctl.model import DesiredState, LiveState, SafetySettings
from permctl.plan import Plan, SafetyIssue, build_plan
from permctl.plan.saved import read_plan_file, write_plan_file
from permctl.plan.saved_safety import SAFETY_CONTEXT, check_saved_plan_safety, safety_record

protected = st.sets(st.sampled_from((*PRINCIPALS, *(f"label-{p}" for p in PRINCIPALS), "s0")))
safety_settings = st.builds(
    SafetySettings,
    max_delete_percent=st.sampled_from((0.0, 10.0, 30.0, 100.0)),
    min_existing_for_threshold=st.sampled_from((0, 3, 10)),
    protected_principals=protected.map(frozenset),
)


def saved(plan: Plan, force: bool, allow_lockout: bool, directory: Path) -> Path:
    path = directory / "plan.json"
    write_plan_file(
        plan,
        path,
        config_digest="sha256:config",
        permctl_version="test",
        desired_context={
            SAFETY_CONTEXT: safety_record(plan, force=force, allow_lockout=allow_lockout)
        },
        key=b"",
    )
    return path


def refusal(path: Path, safety: SafetySettings, force: bool, allow_lockout: bool) -> str | None:
    try:
        check_saved_plan_safety(
            read_plan_file(path, key=b""), safety, force=force, allow_lockout=allow_lockout
        )
    except UnsafePlan as refused:
        return str(refused)
    return None


def assert_refused_for(message: str | None, issues: list[SafetyIssue]) -> None:
    if not issues:
        assert message is None
        return
    assert message is not None
    for issue in issues:
        assert str(issue) in message


@settings(max_examples=150, deadline=None)
@given(
    states(), safety_settings, st.sampled_from((None, *PRINCIPALS)), st.booleans(), st.booleans()
)
def test_the_saved_plan_has_the_issues_the_plan_had(
    state: tuple[DesiredState, LiveState],
    safety: SafetySettings,
    caller: str | None,
    force: bool,
    allow_lockout: bool,
) -> None:
    desired, live = state
    desired, live = (
        replace(desired, safety=safety),
        replace(live, caller_principal_ids=frozenset([caller] if caller else [])),
    )
    plan = build_plan(desired, live, TODAY)
    issues = list(plan.safety_issues())
    with tempfile.TemporaryDirectory() as directory:
        path = saved(plan, force, allow_lockout, Path(directory))
        blocking = [
            i for i in issues if not i.overridden_by(force=force, allow_lockout=allow_lockout)
        ]
        assert_refused_for(refusal(path, safety, force, allow_lockout), blocking)
        assert_refused_for(refusal(path, safety, False, False), issues)
