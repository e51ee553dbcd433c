"""Comparing two versions of an access configuration: what a reviewer is shown, and which
changes are called out as widening."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from plan_states import TODAY, cloudsso, desired, live

from permctl.model import (
    AccessConfiguration,
    LiveAccessConfiguration,
    LiveAccessConfigurations,
    SafetySettings,
)
from permctl.plan import PlanIsUnsafe, TooMuchChange, build_plan
from permctl.plan.access_configurations import PartChange, compare, granting_nothing
from permctl.policydocument import canonical_policy


def granting(*statements: dict[str, Any], **fields: Any) -> AccessConfiguration:
    policy = (
        canonical_policy({"Version": "1", "Statement": list(statements)}) if statements else None
    )
    return AccessConfiguration(**{"name": "ECS-Admin", "inline_policy": policy, **fields})


DESCRIBE = {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}
DENY_RAM = {"Effect": "Deny", "Action": ["ram:*"], "Resource": ["*"]}
FROM_OFFICE = {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}


def test_key_order_and_a_single_action_as_a_string_are_no_change() -> None:
    as_list = {"Resource": ["*"], "Action": ["ecs:Describe*"], "Effect": "Allow"}
    diff = compare(granting(DESCRIBE, DENY_RAM), granting(DENY_RAM, as_list))
    assert not diff.has_changes


def test_an_action_added_to_an_allow_statement_widens_and_is_shown_inside_it() -> None:
    wider = {**DESCRIBE, "Action": ["ecs:Describe*", "ecs:*"]}
    diff = compare(granting(DESCRIBE), granting(wider))
    (change,) = diff.statements
    assert change.action == "change"
    assert change.parts == (PartChange("Action", added=("ecs:*",)),)
    assert diff.widening == ("+ Allow ecs:* on *",)


def test_an_action_taken_off_an_allow_statement_narrows() -> None:
    wider = {**DESCRIBE, "Action": ["ecs:Describe*", "ecs:*"]}
    diff = compare(granting(wider), granting(DESCRIBE))
    assert diff.statements[0].parts == (PartChange("Action", removed=("ecs:*",)),)
    assert not diff.widens


def test_new_allow_statement_widens_and_a_new_deny_does_not() -> None:
    assert compare(granting(DESCRIBE), granting(DESCRIBE, {**DENY_RAM})).widening == ()
    vpc = {"Effect": "Allow", "Action": "vpc:*", "Resource": "*"}
    diff = compare(granting(DESCRIBE), granting(DESCRIBE, vpc))
    assert [(c.action, c.statement) for c in diff.statements] == [("add", "Allow vpc:* on *")]
    assert diff.widening == ("+ Allow vpc:* on *",)


def test_removing_a_deny_widens() -> None:
    diff = compare(granting(DESCRIBE, DENY_RAM), granting(DESCRIBE))
    assert diff.widening == ("- Deny ram:* on *",)


def test_a_condition_removed_from_an_allow_widens() -> None:
    guarded = {**DESCRIBE, "Condition": FROM_OFFICE}
    diff = compare(granting(guarded), granting(DESCRIBE))
    (change,) = diff.statements
    assert change.parts == (
        PartChange("Condition", removed=("IpAddress acs:SourceIp 10.0.0.0/8",)),
    )
    assert diff.widens
    assert not compare(granting(DESCRIBE), granting(guarded)).widens


def test_a_resource_wildcard_widens() -> None:
    bucket = {"Effect": "Allow", "Action": "oss:GetObject", "Resource": "acs:oss:*:*:logs/*"}
    diff = compare(granting(bucket), granting({**bucket, "Resource": ["acs:oss:*:*:logs/*", "*"]}))
    assert diff.widening == ("+ Allow oss:GetObject on *",)


def test_allow_turned_into_deny_is_a_statement_removed_and_one_added() -> None:
    diff = compare(granting(DESCRIBE), granting({**DESCRIBE, "Effect": "Deny"}))
    assert [c.action for c in diff.statements] == ["remove", "add"]
    assert not diff.widens


def test_system_policy_added_and_longer_session_widen_attributes_do_not() -> None:
    before = granting(session_duration=3600, description="old")
    after = granting(
        session_duration=7200, description="new", system_policies=("AliyunECSFullAccess",)
    )
    diff = compare(before, after)
    assert diff.widening == ("+ system policy AliyunECSFullAccess", "session 3600 s -> 7200 s")
    assert [a.field for a in diff.attributes] == ["description", "session_duration"]
    assert not compare(after, before).widens


def test_a_new_access_configuration_widens_by_what_it_allows() -> None:
    new = granting(DESCRIBE, DENY_RAM, system_policies=("ReadOnlyAccess",), session_duration=7200)
    diff = compare(granting_nothing(new), new)
    assert diff.widening == ("+ system policy ReadOnlyAccess", "+ Allow ecs:Describe* on *")
    assert not diff.attributes


# -- in a plan: deletion counts toward the safety threshold ---------------------------------


def _live_configurations(*names: str) -> LiveAccessConfigurations:
    records = {
        f"ac-{n.lower()}": LiveAccessConfiguration(f"ac-{n.lower()}", granting(name=n))
        for n in names
    }
    return LiveAccessConfigurations(
        MappingProxyType({i: r.granted.name for i, r in records.items()}), MappingProxyType(records)
    )


def test_deleted_access_configurations_count_toward_max_delete_percent() -> None:
    sso = replace(cloudsso(), access_configurations=(), prune_access_configurations=True)
    state = desired(
        sso=sso,
        asm=False,
        safety=SafetySettings(max_delete_percent=30, min_existing_for_threshold=1),
    )
    unused = replace(live(), access_configurations=_live_configurations("A", "B", "C"))
    plan = build_plan(state, unused, TODAY)
    assert [c.action for c in plan.access_configuration_changes] == ["delete"] * 3
    with pytest.raises(PlanIsUnsafe) as refusal:
        plan.raise_if_unsafe()
    (issue,) = refusal.value.issues
    assert isinstance(issue, TooMuchChange)
    assert "3 of 3 existing managed grants" in issue.reason
    assert "access configuration A (ac-a)" in issue.grants
    plan.raise_if_unsafe(frozenset({"force"}))
