"""The lookups resolve is made of, without a server: names of accounts and suggestions."""

from __future__ import annotations

import pytest

from permctl.providers.resourcedirectory import RdAccount
from permctl.resolve import accounts_named, unknown_message

DEV = RdAccount("1001", "dev@example.com", "dev", ("rd", "r-root", "fd-dev", "1001"))
PROD = RdAccount("1002", "prod@example.com", "prod", ("rd", "r-root", "1002"))
# Its display name is another account's id, and its account name another's display name.
CONFUSING = RdAccount("1003", "dev", "1002", ("rd", "r-root", "1003"))
ACCOUNTS = (DEV, PROD, CONFUSING)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("1001", [DEV]),
        ("1002", [PROD]),  # an id wins over a display name
        ("dev", [DEV]),  # a display name wins over an account name
        ("prod@example.com", [PROD]),
        ("nothing", []),
    ],
)
def test_an_account_is_named_by_id_then_display_name_then_account_name(
    ref: str, expected: list[RdAccount]
) -> None:
    assert accounts_named(ref, ACCOUNTS) == expected


def test_a_display_name_two_accounts_share_names_both() -> None:
    twin = RdAccount("1004", "dev-2@example.com", "dev", ("rd", "r-root", "1004"))

    assert accounts_named("dev", (*ACCOUNTS, twin)) == [DEV, twin]


def test_an_unknown_name_suggests_the_closest_known_ones() -> None:
    message = unknown_message("RAM user", "alcie", ["alice", "alicia", "bob", "alice"])

    assert message == "no RAM user named 'alcie'; did you mean 'alice' or 'alicia'?"


def test_an_unknown_name_with_nothing_close_suggests_nothing() -> None:
    assert unknown_message("RAM user", "zz", ["alice", "bob"]) == "no RAM user named 'zz'"


def test_a_folder_holds_the_accounts_below_it_not_itself() -> None:
    assert DEV.in_folder("fd-dev") and DEV.in_folder("r-root")
    assert not PROD.in_folder("fd-dev")
    assert not DEV.in_folder("1001")
