"""What every renderer shares: the summary line, counts and text made safe to show."""

from __future__ import annotations

import pytest
from plan_states import ACC_A, OPS, PROD, TODAY, assignment, cloudsso, desired, held, live
from plan_states import principal as wanted

from permctl.plan import build_plan
from permctl.render.common import NO_CHANGES, count_of, printable, summary_line


def test_summary_line_counts_each_kind_of_change() -> None:
    plan = build_plan(
        desired(
            wanted("alice", "u1", {PROD: OPS}),
            sso=cloudsso(assignment("ac-read", ACC_A, "s1"), prune=True),
        ),
        live(held("u1", (PROD, "istio-admin")), assignments=[assignment("ac-admin", ACC_A, "s2")]),
        TODAY,
    )

    assert summary_line(plan) == (
        "Plan: 0 to add, 1 to change, 0 to remove on 1 principal; "
        "1 CloudSSO assignment to create, 1 to delete."
    )


def test_summary_line_without_changes_still_counts_unmanaged_grants() -> None:
    plan = build_plan(desired(), live(held("u9", (PROD, OPS)), held("u8", (PROD, OPS))), TODAY)

    assert summary_line(plan) == f"{NO_CHANGES} 2 unmanaged grants left alone."


@pytest.mark.parametrize(("number", "expected"), [(0, "0 grants"), (1, "1 grant"), (2, "2 grants")])
def test_count_of_uses_the_plural_except_for_one(number: int, expected: str) -> None:
    assert count_of(number, "grant") == expected


@pytest.mark.parametrize(
    "hostile",
    ["\x1b[31m", "line\nbreak", "bidi\u202eoverride", "zero\u200bwidth", "para\u2029sep", "\x7f"],
)
def test_printable_replaces_what_could_rewrite_a_terminal(hostile: str) -> None:
    shown = printable(hostile)

    assert all(ch.isprintable() for ch in shown)
    assert "\N{REPLACEMENT CHARACTER}" in shown


def test_printable_keeps_ordinary_names_of_any_script() -> None:
    assert printable("张伟 — Zoë (ops)") == "张伟 — Zoë (ops)"
