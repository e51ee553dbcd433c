"""The state file: loading, validation with every problem reported, and dumping back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from alibabacloud_sts20150401.client import Client as StsClient
from emulator_support import ALICE, PROD, org_state, sdk_config

from permctl.emulator import Emulator, EmulatorState, StateFileError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "live-state.yaml"


def test_the_example_organisation_loads() -> None:
    state = EmulatorState.load(EXAMPLE)
    assert len(state.meshes) == 3
    assert (len(state.users_by_name), len(state.roles_by_name)) == (8, 3)
    assert state.rd is not None and state.rd.accounts["114240524784abcd"].name == "dev-test"
    directory = state.directories["d-00fc2p61abcd"]
    assert (len(directory.users), len(directory.groups)) == (6, 3)
    assert {c.name for c in directory.access_configurations.values()} == {
        "ECS-Admin",
        "ReadOnly",
        "Billing",
        "NetworkAdmin",
    }
    assert len(directory.assignments) >= 15
    assert all(not key.access_key_id.startswith("LTAI") for key in state.keys.values())


def test_yaml_json_and_dict_sources_load_the_same_state(tmp_path: Path) -> None:
    as_yaml, as_json = tmp_path / "state.yaml", tmp_path / "state.json"
    as_yaml.write_text(yaml.safe_dump(org_state()))
    as_json.write_text(json.dumps(org_state()))
    dumps = [EmulatorState.load(source).dump() for source in (as_yaml, as_json, org_state())]
    assert dumps[0] == dumps[1] == dumps[2]


def test_a_dump_loads_back_to_the_same_state() -> None:
    first = EmulatorState.load(EXAMPLE).dump()
    assert EmulatorState.load(first).dump() == first


def test_numbers_where_ids_belong_are_taken_as_their_digits() -> None:
    state = EmulatorState.load(
        yaml.safe_load(
            """
            account_id: 1000000000000001
            meshes: [{id: c1, name: m}]
            ram:
              users:
                - {id: 278525736094801234, name: alice, grants: [{mesh: c1, role: istio-ops}]}
            """
        )
    )
    assert state.account_id == "1000000000000001"
    assert list(state.grants) == ["278525736094801234"]


def test_every_broken_reference_is_reported_at_once() -> None:
    state = org_state()
    state["ram"]["users"][0]["grants"].append({"mesh": "c-nowhere", "role": "istio-ops"})
    state["ram"]["roles"].append({"id": ALICE, "name": "alice-again"})
    state["resource_directory"]["folders"].append({"id": "fd-lost", "name": "x", "parent": "fd-x"})
    directory = state["cloudsso"]["directories"][0]
    directory["assignments"].append(
        {
            "access_configuration": "ac-x",
            "account": "000",
            "principal_type": "Group",
            "principal": "g-x",
        }
    )
    with pytest.raises(StateFileError) as raised:
        EmulatorState.load(state)
    message = str(raised.value)
    for problem in (
        "unknown mesh 'c-nowhere'",
        f"RAM principal id '{ALICE}' appears 2 times",
        "folder 'fd-lost' does not lead up to the root folder",
        "unknown access configuration 'ac-x'",
        "unknown account '000'",
        "unknown Group 'g-x'",
    ):
        assert problem in message


def test_a_field_of_the_wrong_kind_is_located(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    user = "{id: '1', name: a, grants: [{mesh: c1, role: root}]}"
    path.write_text(f"meshes: [{{id: c1, name: m}}]\nram: {{users: [{user}]}}\n")
    with pytest.raises(StateFileError) as raised:
        EmulatorState.load(path)
    assert str(path) in str(raised.value)
    assert "ram.users.0.grants.0.role" in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("meshes: [", "not valid YAML"), ("- a list", "mapping")],
)
def test_an_unreadable_file_is_one_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "state.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(StateFileError, match=message):
        EmulatorState.load(path)


def test_without_access_keys_a_pair_is_generated_and_works() -> None:
    state = org_state()
    del state["access_keys"]
    with Emulator(state) as emu:
        assert emu.access_key_id.startswith("permctl-emulator-")
        config = sdk_config(emu, emu.access_key_id, emu.access_key_secret)
        assert StsClient(config).get_caller_identity().body.identity_type == "Account"
        assert "access_keys" not in emu.dump()


def test_the_dump_holds_the_live_grants(emu: Emulator) -> None:
    emu.state.grants[ALICE] = ()
    dumped = emu.dump()
    alice = next(u for u in dumped["ram"]["users"] if u["id"] == ALICE)
    assert alice["grants"] == []
    assert Emulator(dumped).state.grants[ALICE] == ()
    assert dumped["meshes"][0] == {"id": PROD, "name": "prod-mesh", "region_id": "cn-hangzhou"}
