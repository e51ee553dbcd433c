"""The JSON examples of the API reference pages, read through the providers' own parsing: what
the docs show must never trip permctl, whatever the emulator answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alibabacloud_cloudsso20210515 import models as sso_models
from alibabacloud_resourcedirectorymaster20220419 import models as rd_models

from permctl.model import Assignment, MeshRole, PrincipalKind
from permctl.providers.cloudsso import assignment_listing
from permctl.providers.resourcedirectory import accounts_of, rd_account
from permctl.providers.servicemesh import principal_from_body

EXAMPLES = Path(__file__).parent / "api_examples"


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return document


def test_describe_user_permissions_example_reads_as_one_admin_role() -> None:
    body = example("servicemesh-DescribeUserPermissions")
    live = principal_from_body("27852573609480", PrincipalKind.RAM_ROLE, body)
    assert live.permissions == {MeshRole("c57b848115458460583a4260cb713****", "istio-admin")}
    # The example's IsRamRole false is kept as a claim; the kind asked for stands.
    assert (live.kind, live.wire_kind) == (PrincipalKind.RAM_ROLE, PrincipalKind.RAM_USER)


def test_list_access_assignments_example_is_one_complete_page() -> None:
    body = sso_models.ListAccessAssignmentsResponseBody().from_map(
        example("cloudsso-ListAccessAssignments")
    )
    # A NextToken alongside IsTruncated false: the listing ends here.
    assert body.next_token and body.is_truncated is False
    listing = assignment_listing(body.access_assignments)
    assert listing.assignments == {
        Assignment("ac-00jhtfl8thteu6uj****", "114240524784****", "User", "u-00q8wbq42wiltcrk****")
    }
    assert listing.names["u-00q8wbq42wiltcrk****"] == "Alice"


def test_list_authorized_accounts_example_reads_its_account_and_folders() -> None:
    body = rd_models.ListAuthorizedAccountsResponseBody().from_map(
        example("resourcedirectory-ListAuthorizedAccounts")
    )
    (account,) = [rd_account(item) for item in accounts_of(body)]
    assert (account.account_id, account.name) == ("184311716100****", "someone@example.com")
    assert account.in_folder("fd-bVaRIG****")
