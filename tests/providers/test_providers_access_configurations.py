"""Access configurations read and changed through the provider, over HTTP against the
emulator with the real SDK."""

from __future__ import annotations

import json

from emulated_org import DEV_ACCOUNT, DIRECTORY, ECS_ADMIN, READ_ONLY, TEAM_ACCOUNT

from permctl.emulator import Emulator
from permctl.model import AccessConfiguration, Provisioning
from permctl.policydocument import canonical_policy
from permctl.providers import Providers

CONSOLE_POLICY = {
    "Statement": [{"Resource": "*", "Action": "ecs:Describe*", "Effect": "Allow"}],
    "Version": "1",
}


def test_reading_normalizes_policies_and_costs_one_policy_listing_per_configuration_asked(
    emu: Emulator, providers: Providers
) -> None:
    ac = providers.access_configurations
    ac.add_system_policy(DIRECTORY, ECS_ADMIN, "AliyunECSFullAccess")
    ac.put_inline_policy(DIRECTORY, ECS_ADMIN, None, json.dumps(CONSOLE_POLICY))
    emu.reset_log()
    listing = ac.read(DIRECTORY, ["ECS-Admin"])
    assert listing.names == {ECS_ADMIN: "ECS-Admin", READ_ONLY: "ReadOnly"}
    (record,) = listing.read.values()
    assert record.granted == AccessConfiguration(
        name="ECS-Admin",
        system_policies=("AliyunECSFullAccess",),
        inline_policy=canonical_policy(
            {
                "Version": "1",
                "Statement": [{"Effect": "Allow", "Action": ["ecs:Describe*"], "Resource": ["*"]}],
            }
        ),
    )
    assert record.inline_policy_name == "permctl-inline"
    assert record.provisionings == (
        Provisioning(DEV_ACCOUNT, "ReprovisionRequired"),
        Provisioning(TEAM_ACCOUNT, "ReprovisionRequired"),
    )
    assert emu.counts() == {
        "ListAccessConfigurations": 1,
        "ListPermissionPoliciesInAccessConfiguration": 1,
        "ListAccessConfigurationProvisionings": 1,
    }


def test_an_up_to_date_configuration_needs_no_provisioning_listing(
    emu: Emulator, providers: Providers
) -> None:
    listing = providers.access_configurations.read(DIRECTORY, [ECS_ADMIN, "ReadOnly", "Gone"])
    assert set(listing.read) == {ECS_ADMIN, READ_ONLY}
    assert all(not r.provisionings for r in listing.read.values())
    assert emu.count("ListAccessConfigurationProvisionings") == 0


def test_created_then_updated_attributes_read_back(providers: Providers) -> None:
    ac = providers.access_configurations
    wanted = AccessConfiguration(name="Net-Admin", description="VPC", session_duration=7200)
    configuration_id = ac.create(DIRECTORY, wanted)
    longer = AccessConfiguration(name="Net-Admin", description="VPC", session_duration=43200)
    ac.update(DIRECTORY, configuration_id, wanted, longer)
    assert ac.read(DIRECTORY, ["Net-Admin"]).read[configuration_id].granted == longer


def test_reprovisioning_is_a_task_waited_for(providers: Providers) -> None:
    ac = providers.access_configurations
    ac.add_system_policy(DIRECTORY, ECS_ADMIN, "AliyunECSFullAccess")
    task = ac.provision(DIRECTORY, ECS_ADMIN, DEV_ACCOUNT)
    assert providers.cloudsso.wait_for_task(DIRECTORY, task).succeeded
    assert ac.provisionings(DIRECTORY, ECS_ADMIN) == (
        Provisioning(DEV_ACCOUNT, "Provisioned"),
        Provisioning(TEAM_ACCOUNT, "ReprovisionRequired"),
    )
