"""The organisation the access report and the plan's people are tested on, and the file
that manages part of it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

PROD, STAGING = "c57b848115458460583a4260cb713abc", "c4ec191f4e12145c09286ea3e2b8fabc"
ALICE, BOB, MALLORY, CI_ROLE = "2001", "2002", "2003", "3001"
DIRECTORY = "d-00access0001"
PROD_MAIN, DEV_TEST, SANDBOX = "1843117161000001", "1142405247840001", "1928374655000001"
ADMIN, READ_ONLY = "ac-admin000001", "ac-readonly001"
PLATFORM, SRE, EMPTY, EVERYONE = "g-platform0001", "g-sre00000001", "g-empty000001", "g-everyone001"
EVERYONE_SIZE = 150  # two pages of ListGroupMembers at 100 a page
ASSIGNMENT_FIELDS = ("access_configuration", "account", "principal_type", "principal")
TODAY = date.today()
SOON, LATER, PAST = TODAY + timedelta(5), TODAY + timedelta(40), TODAY - timedelta(3)


def organisation() -> dict[str, Any]:
    """Carol is in platform-admins and sre, which both hold Admin on prod-main; alice holds it
    directly too; `everyone` needs two pages of members; `empty` has none."""
    fillers = [{"id": f"u-filler{i:06d}", "name": f"filler-{i:03d}"} for i in range(EVERYONE_SIZE)]
    people = [{"id": f"u-{name}", "name": name} for name in ("alice", "bob", "carol", "dave")]
    return {
        "account_id": "1000000000000001",
        "access_keys": [{"id": "access-test-key", "secret": "access-test-secret-not-real"}],
        "meshes": [{"id": PROD, "name": "prod-mesh"}, {"id": STAGING, "name": "staging-mesh"}],
        "ram": {
            "users": [
                {"id": ALICE, "name": "alice", "grants": [{"mesh": PROD, "role": "istio-admin"}]},
                {"id": BOB, "name": "bob", "grants": [{"mesh": STAGING, "role": "istio-ops"}]},
                {
                    "id": MALLORY,
                    "name": "mallory",
                    "grants": [{"mesh": PROD, "role": "istio-admin"}],
                },
            ],
            "roles": [
                {
                    "id": CI_ROLE,
                    "name": "ci-deployer",
                    "grants": [{"mesh": PROD, "role": "istio-ops"}],
                }
            ],
        },
        "resource_directory": {
            "id": "rd-access1",
            "root_folder_id": "r-access1",
            "accounts": [
                {"id": PROD_MAIN, "name": "prod-main"},
                {"id": DEV_TEST, "name": "dev-test"},
                {"id": SANDBOX, "name": "sandbox"},
            ],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "access-directory",
                    "users": [*people, *fillers],
                    "groups": [
                        {
                            "id": PLATFORM,
                            "name": "platform-admins",
                            "members": ["u-alice", "u-carol"],
                        },
                        {"id": SRE, "name": "sre", "members": ["u-carol", "u-dave"]},
                        {"id": EMPTY, "name": "empty"},
                        {"id": EVERYONE, "name": "everyone", "members": [u["id"] for u in fillers]},
                    ],
                    "access_configurations": [
                        {"id": ADMIN, "name": "Admin"},
                        {"id": READ_ONLY, "name": "ReadOnly"},
                    ],
                    "assignments": [
                        dict(zip(ASSIGNMENT_FIELDS, held, strict=True))
                        for held in (
                            (ADMIN, PROD_MAIN, "Group", PLATFORM),
                            (ADMIN, PROD_MAIN, "Group", SRE),
                            (ADMIN, PROD_MAIN, "User", "u-alice"),
                            (READ_ONLY, DEV_TEST, "Group", EMPTY),
                            (READ_ONLY, DEV_TEST, "Group", EVERYONE),
                            (ADMIN, SANDBOX, "Group", SRE),  # an account the file leaves alone
                        )
                    ],
                }
            ]
        },
    }


def permissions() -> dict[str, Any]:
    return {
        "version": 1,
        "asm": {
            "meshes": {"prod": PROD, "staging": STAGING},
            "teams": {"admins": {"prod": "istio-admin"}, "oncall": {"prod": "istio-admin"}},
            "principals": [
                {
                    "name": "alice",
                    "ram_user": ALICE,
                    "teams": ["admins", "oncall"],
                    "expires": SOON,
                },
                {
                    "name": "bob",
                    "ram_user": "bob",
                    "roles": {"staging": "istio-ops"},
                    "expires": PAST,
                },
                {"name": "ci", "ram_role": "ci-deployer", "roles": {"prod": "istio-ops"}},
            ],
        },
        "cloudsso": {
            "directory": DIRECTORY,
            "assignments": [
                {
                    "access_configuration": "Admin",
                    "accounts": ["prod-main"],
                    "groups": ["platform-admins", "sre"],
                    "users": ["alice"],
                    "expires": LATER,
                },
                {
                    "access_configuration": "ReadOnly",
                    "accounts": ["dev-test"],
                    "groups": ["empty", "everyone"],
                },
            ],
        },
    }
