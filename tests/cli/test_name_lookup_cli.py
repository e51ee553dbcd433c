"""CloudSSO names in a directory too large for one page, however the API takes a quoted filter
value: found by the documented unquoted filter or in the full listing, never called unknown
while they exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator, Knobs
from permctl.emulator.faults import FILTER_QUOTES

STATE = Path(__file__).parents[2] / "examples" / "live-state.yaml"
runner = CliRunner()


def large_directory() -> dict[str, Any]:
    """The example organisation with 300 more CloudSSO users, then one whose name has a space."""
    state: dict[str, Any] = yaml.safe_load(STATE.read_text(encoding="utf-8"))
    users = state["cloudsso"]["directories"][0]["users"]
    users[:0] = [{"id": f"u-many{i:07d}", "name": f"many-{i}"} for i in range(300)]
    users.append({"id": "u-maryann0000001", "name": "mary ann"})
    return state


def assigning_to(tmp_path: Path, *users: str) -> Path:
    document = {
        "version": 1,
        "cloudsso": {
            "directory": "d-00fc2p61abcd",
            "assignments": [
                {"access_configuration": "ReadOnly", "accounts": ["dev-test"], "users": list(users)}
            ],
        },
    }
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("quotes", FILTER_QUOTES)
def test_names_far_down_resolve_whatever_the_api_makes_of_quotes(
    point_at: Callable[[Emulator], None], tmp_path: Path, quotes: str
) -> None:
    with Emulator(large_directory(), Knobs(filter_quotes=quotes)) as emu:
        point_at(emu)
        result = runner.invoke(
            app, ["plan", "--quiet", str(assigning_to(tmp_path, "bob", "mary ann"))]
        )
        filters = [c.params.get("Filter") for c in emu.calls if c.action == "ListUsers"]
    assert result.exit_code == 0, result.stderr
    assert "User bob (u-00bobq42wiltcrkabcd)" in result.stdout
    assert "User mary ann (u-maryann0000001)" in result.stdout
    # bob by the documented filter; "mary ann" no filter carries unambiguously: full listing.
    # (The two lookups run at once: their calls interleave.)
    assert sorted(filters, key=str) == [None, None, None, None, "UserName eq bob"]


@pytest.mark.parametrize("quotes", FILTER_QUOTES)
def test_a_name_is_unknown_only_once_the_full_listing_lacks_it(
    point_at: Callable[[Emulator], None], tmp_path: Path, quotes: str
) -> None:
    with Emulator(large_directory(), Knobs(filter_quotes=quotes)) as emu:
        point_at(emu)
        result = runner.invoke(app, ["plan", "--quiet", str(assigning_to(tmp_path, "mary-ann"))])
        listed = emu.count("ListUsers")
    assert result.exit_code == 1
    assert "no CloudSSO user named 'mary-ann'; did you mean 'mary ann'?" in result.stderr
    # The first page of 307, the filtered lookup, then the three other pages once (the
    # suggestion reuses them).
    assert listed == 1 + 1 + 3
