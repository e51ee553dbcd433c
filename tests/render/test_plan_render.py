"""The three plan formats: golden files for one rich plan, and the properties a reader relies
on (escaping, size limits, colour that can be turned off). Regenerate the golden files with
PERMCTL_UPDATE_GOLDEN=1 after an intended change, and review the diff."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from plan_states import (
    ACC_A,
    ADMIN,
    DEV,
    OPS,
    OTHER,
    PROD,
    READONLY,
    TODAY,
    assignment,
    cloudsso,
    desired,
    held,
    live,
    principal,
    rich_example,
)
from rich.console import Console

from permctl.plan import Plan, build_plan
from permctl.render import json as json_render
from permctl.render import markdown, text

GOLDEN = Path(__file__).parent / "golden"


def _rich_plan() -> Plan:
    return build_plan(*rich_example(), TODAY)


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("plan.txt", text.render_plain),
        ("plan.md", markdown.render),
        ("plan.json", json_render.render),
    ],
)
def test_rendering_matches_golden_file(name: str, render: Callable[[Plan], str]) -> None:
    rendered = render(_rich_plan())
    golden = GOLDEN / name
    if os.environ.get("PERMCTL_UPDATE_GOLDEN") == "1":
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


def test_empty_plan_says_live_state_matches_the_file() -> None:
    plan = build_plan(
        desired(principal("alice", "u1", {PROD: OPS})), live(held("u1", (PROD, OPS))), TODAY
    )

    assert text.render_plain(plan) == "No changes. Live state matches the file.\n"
    assert markdown.render(plan) == (
        "## permctl plan\n\n**No changes. Live state matches the file.**\n"
    )
    assert json.loads(json_render.render(plan))["has_changes"] is False


def test_no_changes_still_reports_unmanaged_grants() -> None:
    plan = build_plan(desired(), live(held("u9", (PROD, OPS))), TODAY)

    assert text.render_plain(plan).endswith(
        "No changes. Live state matches the file. 1 unmanaged grant left alone.\n"
    )


def test_text_colour_is_dropped_by_a_console_without_colour() -> None:
    plan = _rich_plan()
    coloured, plain = Console(force_terminal=True, width=300), Console(no_color=True, width=300)

    with coloured.capture() as with_colour:
        coloured.print(text.render(plan))
    with plain.capture() as without_colour:
        plain.print(text.render(plan))

    assert "\x1b[32m+" in with_colour.get()
    assert "\x1b[3" not in without_colour.get()


HOSTILE = "x | `y` <img src=x onerror=alert(1)> **bold** [link](http://evil) @org/team\n# h"


def _hostile_plan() -> Plan:
    return build_plan(
        desired(principal(HOSTILE, "u1", {PROD: ADMIN}), names={"u1": HOSTILE}),
        live(held("u1", (PROD, "istio-ops | injected"))),
        TODAY,
    )


def test_markdown_escapes_a_hostile_name() -> None:
    rendered = markdown.render(_hostile_plan())

    row = next(line for line in rendered.splitlines() if "istio\\-admin" in line)
    assert row.count(" | ") == 6  # seven cells: the name's pipe did not add one
    assert "<img" not in rendered
    assert "`y`" not in rendered and "**bold**" not in rendered and "[link](" not in rendered
    assert "@org" not in rendered  # no mention fires
    assert "\n# h" not in rendered


def test_text_output_neutralises_terminal_escapes_in_names() -> None:
    plan = build_plan(
        desired(principal("evil\x1b[2Jname\nnext", "u1", {PROD: ADMIN})), live(), TODAY
    )

    rendered = text.render_plain(plan)
    assert "\x1b" not in rendered
    assert "evil\N{REPLACEMENT CHARACTER}[2Jname\N{REPLACEMENT CHARACTER}next" in rendered


def _huge_plan(principals: int) -> Plan:
    wanted = [
        principal(f"user-{i:05}-" + "n" * 40, f"u{i:05}", {PROD: ADMIN, DEV: READONLY})
        for i in range(principals)
    ]
    current = [held(f"u{i:05}", (PROD, OPS), (OTHER, ADMIN)) for i in range(principals)]
    return build_plan(
        desired(*wanted, sso=cloudsso(*(assignment("ac", ACC_A, f"s{i}") for i in range(500)))),
        live(*current, held("u99999", (PROD, ADMIN))),
        TODAY,
    )


def test_markdown_of_a_huge_plan_fits_in_one_github_comment_and_says_what_it_left_out() -> None:
    plan = _huge_plan(1_000)
    assert plan.summary.adds + plan.summary.role_changes > 1_000

    rendered = markdown.render(plan)

    assert len(rendered) <= markdown.COMMENT_LIMIT
    assert "and 1750 more; the full plan is in `permctl plan --format json`" in rendered
    assert "rows were left out to fit in one comment" in rendered
    assert "<details>" in rendered  # big sections start collapsed


def test_markdown_budget_holds_when_every_row_is_long() -> None:
    long_labels = build_plan(
        desired(
            *(principal("L" * 5_000 + str(i), f"u{i}", {PROD: ADMIN, DEV: OPS}) for i in range(300))
        ),
        live(*(held(f"x{i}", (PROD, "R" * 5_000)) for i in range(300))),
        TODAY,
    )

    rendered = markdown.render(long_labels)

    assert 60_000 < len(rendered) <= markdown.COMMENT_LIMIT
    assert "rows were left out to fit in one comment" in rendered


def test_json_lists_every_change_and_the_unsafe_reasons() -> None:
    document = json.loads(json_render.render(_huge_plan(1_000)))

    assert document["format_version"] == "2"
    changes = [c for u in document["asm"]["updates"] for c in u["changes"]]
    assert len(changes) == 2_000
    assert len(document["cloudsso"]["changes"]) == 500
    assert document["summary"]["role_changes"] == 1_000
    assert document["summary"]["unmanaged"] == 1
