"""The people section of `permctl plan`: who gains and who loses which access when a group's
assignment is added or removed, counting people (a member holding the access another way
neither gains nor loses it), in text, markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from access_org import DIRECTORY, PLATFORM, PROD_MAIN, READ_ONLY, SRE
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator
from permctl.emulator.faults import DenyRule
from permctl.model import MeshRole, PrincipalKind, SafetySettings
from permctl.plan import MeshRoleChange, Plan, PrincipalUpdate, Snapshot, Unmanaged
from permctl.plan.people import people_changes
from permctl.plan.saved import read_plan_file
from permctl.render import markdown, text

runner = CliRunner()


def sso_file(tmp_path: Path, assignments: list[dict[str, Any]], prune: bool = False) -> Path:
    document = {
        "version": 1,
        "cloudsso": {"directory": DIRECTORY, "prune_unlisted": prune, "assignments": assignments},
    }
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def plan(path: Path, *options: str) -> str:
    result = runner.invoke(app, ["plan", "--quiet", str(path), *options])
    assert result.exit_code == 0, result.output
    return result.stdout


# Everything live on prod-main, as the file must declare it not to prune it.
PROD_MAIN_ADMINS = {"access_configuration": "Admin", "accounts": ["prod-main"]}


def test_a_group_assignment_added_reaches_each_member(emu: Emulator, tmp_path: Path) -> None:
    path = sso_file(
        tmp_path,
        [
            {
                "access_configuration": "ReadOnly",
                "accounts": ["prod-main"],
                "groups": ["platform-admins"],
            }
        ],
    )
    text = plan(path)
    assert "People (through groups too): 2 people gain access, no one loses access" in text
    assert "  + 2 people gain ReadOnly on prod-main (through group platform-admins)\n" in text
    people = json.loads(plan(path, "--format", "json"))["people"]
    assert people == [
        {
            "action": "gain",
            "service": "cloudsso",
            "target_id": PROD_MAIN,
            "target_name": "prod-main",
            "role_id": READ_ONLY,
            "role_name": "ReadOnly",
            "through_group_id": PLATFORM,
            "through_group_name": "platform-admins",
            "count": 2,
            "people": [
                {"principal_id": "u-alice", "name": "alice"},
                {"principal_id": "u-carol", "name": "carol"},
            ],
            "members_unknown": False,
        }
    ]
    assert (
        "| gain | 2 people gain ReadOnly on prod\\-main \\(through group platform\\-admins\\) |"
        in (plan(path, "--format", "markdown"))
    )


def test_a_person_reached_through_two_groups_is_counted_once(emu: Emulator, tmp_path: Path) -> None:
    added = {"access_configuration": "ReadOnly", "accounts": ["prod-main"]}
    text = plan(sso_file(tmp_path, [{**added, "groups": ["platform-admins", "sre"]}]))
    assert "  + 2 people gain ReadOnly on prod-main (through group platform-admins)\n" in text
    assert "  + 2 people gain ReadOnly on prod-main (through group sre)\n" in text
    assert "People (through groups too): 3 people gain access, no one loses access" in text


def test_a_group_assignment_removed_loses_only_members_without_another_way(
    emu: Emulator, tmp_path: Path
) -> None:
    # sre's Admin on prod-main is pruned: carol keeps Admin through platform-admins, dave
    # loses it. alice keeps hers (direct and platform-admins).
    kept = {**PROD_MAIN_ADMINS, "groups": ["platform-admins"], "users": ["alice"]}
    path = sso_file(tmp_path, [kept], prune=True)
    text = plan(path)
    assert "  - dave loses Admin on prod-main (through group sre)\n" in text
    assert "carol loses" not in text
    assert "People (through groups too): no one gains access, 1 person loses access" in text
    people = json.loads(plan(path, "--format", "json"))["people"]
    assert [(p["action"], p["through_group_id"], p["count"]) for p in people] == [("lose", SRE, 1)]
    assert emu.count("ListGroupMembers") == 2 * 2  # platform-admins and sre, two plans


def test_members_the_caller_may_not_read_leave_the_plan_whole_and_say_so(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_knobs(deny=(DenyRule("ListGroupMembers", frozenset({PLATFORM})),))
    added = {"access_configuration": "ReadOnly", "accounts": ["prod-main"]}
    path = sso_file(tmp_path, [{**added, "groups": ["platform-admins", "sre"]}])
    text = plan(path)
    assert (
        "  + the members of group platform-admins gain ReadOnly on prod-main "
        "(they could not be read)\n"
    ) in text
    assert "  + 2 people gain ReadOnly on prod-main (through group sre)\n" in text
    people = json.loads(plan(path, "--format", "json"))["people"]
    assert [(p["through_group_id"], p["count"], p["members_unknown"]) for p in people] == [
        (PLATFORM, 0, True),
        (SRE, 2, False),
    ]


def test_a_saved_plan_keeps_its_people(emu: Emulator, tmp_path: Path) -> None:
    added = {"access_configuration": "ReadOnly", "accounts": ["prod-main"], "groups": ["sre"]}
    saved = tmp_path / "plan.json"
    shown = plan(sso_file(tmp_path, [added]), "--out", str(saved))
    plan_read_back = read_plan_file(saved).plan
    assert [(p.action, p.through_group_id, len(p.people)) for p in plan_read_back.people] == [
        ("gain", SRE, 2)
    ]
    assert text.render_plain(plan_read_back) == shown


def test_a_plan_without_cloudsso_group_changes_reads_no_members(
    emu: Emulator, tmp_path: Path
) -> None:
    same = {**PROD_MAIN_ADMINS, "groups": ["platform-admins", "sre"], "users": ["alice"]}
    text = plan(sso_file(tmp_path, [same]))
    assert "People" not in text
    assert emu.count("ListGroupMembers") == 0


def test_a_long_people_section_is_collapsed_in_markdown() -> None:
    def update(index: int) -> PrincipalUpdate:
        mesh = f"m-{index}"
        after = (MeshRole(mesh, "istio-ops"),)
        change = MeshRoleChange(mesh, None, "istio-ops")
        return PrincipalUpdate(
            str(index), PrincipalKind.RAM_USER, f"p{index}", (), after, (change,)
        )

    def rendered(count: int) -> str:
        updates = tuple(update(i) for i in range(count))
        people = people_changes(updates, (), Snapshot(), {}, {})
        built = Plan(
            asm_updates=updates,
            sso_changes=(),
            unmanaged=Unmanaged(),
            snapshot=Snapshot(),
            managed_mesh_ids=tuple(u.after[0].mesh_id for u in updates),
            managed_account_ids=(),
            directory_id=None,
            names={},
            safety=SafetySettings(),
            caller_principal_ids=frozenset(),
            existing_managed_grants=0,
            mesh_admins=(),
            people=people,
        )
        section = markdown.render(built).split("People (through groups too)")[0]
        return section.rsplit("\n", 2)[-2]

    # A line per principal: each gains a role on its own mesh.
    assert rendered(1) == "<details open>"
    assert rendered(21) == "<details>"
