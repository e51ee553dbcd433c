"""Wire quirks are absorbed in the providers: what leaves them is always the normalized model."""

from __future__ import annotations

import json

import pytest

from permctl.model import MeshRole, PrincipalKind
from permctl.providers.cloudsso import filter_eq
from permctl.providers.resourcedirectory import RdAccount, split_path
from permctl.providers.servicemesh import (
    grant_payload,
    permission_entries,
    principal_from_body,
    wire_bool,
)

ADMIN_ON_PROD = {
    "ParentId": 0,
    "IsRamRole": False,
    "ResourceType": "cluster",
    "RoleType": "custom",
    "RoleName": "istio-admin",
    "ResourceId": "c-prod",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("True", True), (None, False)],
)
def test_is_ram_role_is_read_from_booleans_and_strings(value: object, expected: bool) -> None:
    assert wire_bool(value) is expected


def test_a_single_permission_object_reads_as_a_one_entry_list() -> None:
    assert permission_entries({"Permissions": ADMIN_ON_PROD}) == [ADMIN_ON_PROD]


def test_absent_permissions_read_as_none_held() -> None:
    assert permission_entries({"RequestId": "r"}) == []


def test_xml_style_wrapped_permissions_are_unwrapped() -> None:
    body = {"Permissions": {"Permission": [ADMIN_ON_PROD, ADMIN_ON_PROD]}}
    assert permission_entries(body) == [ADMIN_ON_PROD, ADMIN_ON_PROD]


def test_string_is_ram_role_true_is_kept_as_a_claim_but_the_declared_kind_stands() -> None:
    body = {"Permissions": [{**ADMIN_ON_PROD, "IsRamRole": "true", "ParentId": "0"}]}
    live = principal_from_body("300", PrincipalKind.RAM_USER, body)
    assert (live.kind, live.wire_kind) == (PrincipalKind.RAM_USER, PrincipalKind.RAM_ROLE)


def test_every_grant_is_kept_including_unmanaged_meshes_with_role_type_verbatim() -> None:
    body = {
        "Permissions": [
            ADMIN_ON_PROD,
            {
                **ADMIN_ON_PROD,
                "ResourceId": "c-elsewhere",
                "RoleName": "istio-ops",
                "RoleType": "odd",
            },
        ]
    }
    live = principal_from_body("278", PrincipalKind.RAM_USER, body)
    assert live.permissions == {
        MeshRole("c-prod", "istio-admin", "custom"),
        MeshRole("c-elsewhere", "istio-ops", "odd"),
    }
    assert live.kind is PrincipalKind.RAM_USER


def test_a_principal_holding_nothing_keeps_the_kind_it_was_asked_as() -> None:
    live = principal_from_body("300", PrincipalKind.RAM_ROLE, {"Permissions": []})
    assert live.kind is PrincipalKind.RAM_ROLE
    assert live.permissions == frozenset()


def test_grant_payload_is_the_full_list_in_the_documented_shape() -> None:
    payload = json.loads(
        grant_payload(
            PrincipalKind.RAM_ROLE,
            [MeshRole("c-b", "istio-ops"), MeshRole("c-a", "istio-admin", "custom")],
        )
    )
    assert payload == [
        {
            "IsCustom": True,
            "Cluster": "c-a",
            "RoleName": "istio-admin",
            "RoleType": "custom",
            "IsRamRole": True,
        },
        {
            "IsCustom": True,
            "Cluster": "c-b",
            "RoleName": "istio-ops",
            "RoleType": "custom",
            "IsRamRole": True,
        },
    ]


def test_an_empty_grant_payload_is_an_empty_array() -> None:
    assert grant_payload(PrincipalKind.RAM_USER, []) == "[]"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice", "UserName eq alice"),
        ("alice.smith@example.com", "UserName eq alice.smith@example.com"),
        ("alice smith", None),
        ('bob" or UserName sw "', None),
        ("back\\slash", None),
    ],
)
def test_filters_take_the_documented_unquoted_form_or_are_not_sent(
    name: str, expected: str | None
) -> None:
    assert filter_eq("UserName", name) == expected


def test_an_account_belongs_to_every_folder_above_it() -> None:
    account = RdAccount(
        "1142", "dev-test", "dev-test", split_path("rd-k4/r-Wm/fd-outer/fd-inner/1142")
    )
    assert account.in_folder("fd-outer")
    assert account.in_folder("fd-inner")
    assert account.in_folder("r-Wm")
    assert not account.in_folder("1142")
    assert not account.in_folder("fd-other")
