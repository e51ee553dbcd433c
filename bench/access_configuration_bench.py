"""The calls plan and apply make for access configurations, next to their lower bounds.

A directory holds N access configurations, each with a system policy and an inline policy and
each assigned on K accounts; the file changes every one of them (its description, one system
policy swapped for another, one action added to its inline policy). Run through the CLI against
the emulator, as a user runs it.

Lower bounds: reads = the access configuration listing (one page per 100)
plus one ListPermissionPoliciesInAccessConfiguration per managed access configuration; writes =
one UpdateAccessConfiguration per access configuration, one Add and one Remove per system
policy changed, one call per inline policy, one ProvisionAccessConfiguration per account where
it is provisioned. Re-provisioning also costs one ListAccessConfigurationProvisionings per
updated access configuration and one GetTaskStatus (at least) per task.

    python bench/access_configuration_bench.py [--configurations N] [--accounts K]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator, Knobs

DIRECTORY = "d-bench0000001"
READS = ("ListAccessConfigurations", "ListPermissionPoliciesInAccessConfiguration")
WRITES = (
    "UpdateAccessConfiguration",
    "AddPermissionPolicyToAccessConfiguration",
    "RemovePermissionPolicyFromAccessConfiguration",
    "UpdateInlinePolicyForAccessConfiguration",
    "ProvisionAccessConfiguration",
)


def policy(*actions: str) -> dict[str, Any]:
    return {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
    }


def state(configurations: int, accounts: int) -> dict[str, Any]:
    account_ids = [f"{100000000000 + i:016d}" for i in range(accounts)]
    return {
        "access_keys": [{"id": "bench-key", "secret": "bench-secret-not-real"}],
        "resource_directory": {
            "id": "rd-bench",
            "root_folder_id": "r-bench",
            "accounts": [{"id": a, "name": f"account-{i}"} for i, a in enumerate(account_ids)],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "bench",
                    "users": [{"id": "u-bench0000001", "name": "alice"}],
                    "access_configurations": [
                        {
                            "id": f"ac-bench{i:06d}",
                            "name": f"Config-{i}",
                            "system_policies": ["ReadOnlyAccess"],
                            "inline_policy": policy("ecs:Describe*"),
                        }
                        for i in range(configurations)
                    ],
                    "assignments": [
                        {
                            "access_configuration": f"ac-bench{i:06d}",
                            "account": a,
                            "principal_type": "User",
                            "principal": "u-bench0000001",
                        }
                        for i in range(configurations)
                        for a in account_ids
                    ],
                }
            ]
        },
    }


def desired(configurations: int) -> dict[str, Any]:
    return {
        "version": 1,
        "settings": {"safety": {"max_delete_percent": 100}},
        "cloudsso": {
            "directory": DIRECTORY,
            "scope": "directory",
            "access_configurations": [
                {
                    "name": f"Config-{i}",
                    "description": "changed",
                    "system_policies": ["AliyunECSReadOnlyAccess"],
                    "inline_policy": policy("ecs:Describe*", "ecs:StartInstance"),
                }
                for i in range(configurations)
            ],
            "assignments": [],
        },
    }


def point_at(emu: Emulator) -> None:
    """As a shell would: the endpoint and keys in the environment, set before the first command
    imports the credentials package (which reads them once, then)."""
    os.environ["PERMCTL_ENDPOINT"] = emu.url
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = emu.access_key_id
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = emu.access_key_secret


def run(emu: Emulator, *args: str) -> tuple[float, dict[str, int]]:
    emu.reset_log()
    started = time.perf_counter()
    result = CliRunner().invoke(app, list(args))
    elapsed = time.perf_counter() - started
    if result.exit_code not in (0, 2):
        raise SystemExit(result.output)
    return elapsed, dict(emu.counts())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configurations", type=int, default=40)
    parser.add_argument("--accounts", type=int, default=3)
    args = parser.parse_args()
    n, k = args.configurations, args.accounts
    with (
        tempfile.TemporaryDirectory() as directory,
        Emulator(state(n, k), knobs=Knobs(seed=1)) as emu,
    ):
        point_at(emu)
        file = Path(directory) / "permissions.yaml"
        file.write_text(yaml.safe_dump(desired(n)))
        plan_s, plan_calls = run(emu, "plan", "--quiet", str(file))
        apply_s, apply_calls = run(emu, "apply", "--quiet", "--auto-approve", str(file))
        again_s, again_calls = run(emu, "apply", "--quiet", "--auto-approve", str(file))
    pages = -(-n // 100)
    bounds = {
        "ListAccessConfigurations": pages,
        "ListPermissionPoliciesInAccessConfiguration": n,
        "UpdateAccessConfiguration": n,
        "AddPermissionPolicyToAccessConfiguration": n,
        "RemovePermissionPolicyFromAccessConfiguration": n,
        "UpdateInlinePolicyForAccessConfiguration": n,
        "ProvisionAccessConfiguration": n * k,
    }
    print(f"{n} access configurations, each assigned on {k} accounts; every one changed")
    print(f"{'call':48} {'plan':>6} {'apply':>6} {'bound':>6}")
    for action, bound in bounds.items():
        print(
            f"{action:48} {plan_calls.get(action, 0):>6} {apply_calls.get(action, 0):>6} {bound:>6}"
        )
    for action in ("ListAccessConfigurationProvisionings", "GetTaskStatus"):
        print(f"{action:48} {plan_calls.get(action, 0):>6} {apply_calls.get(action, 0):>6}")
    second = sum(again_calls.get(a, 0) for a in WRITES)
    print(
        f"plan {plan_s:.2f} s, apply {apply_s:.2f} s; second apply {again_s:.2f} s, {second} writes"
    )


if __name__ == "__main__":
    main()
