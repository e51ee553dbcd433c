"""What group members cost an access report: calls and wall time of reading them.

A directory of 60 groups of up to 450 members (a page is 100) is served by the emulator with
30 ms of latency per call; the members of every group are read with the default ceiling of
calls in flight (32), as `permctl access` reads those of the groups holding access in scope.
Calls are compared with the lower bound, one ListGroupMembers per page of each group, and wall
time with calls x latency / concurrency, or the calls at CloudSSO's published limit (kept by
default, at 95 %) when that is longer. Also printed: how soon the groups' first pages were all
sent, and how many were sent before any group's next page.

    python bench/access_bench.py [--groups N] [--latency-ms N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from permctl.cloudlimits import DEFAULT_CEILING, published_qps
from permctl.emulator import Emulator, Knobs
from permctl.providers import AccessKey, ConnectionSettings, open_providers
from permctl.providers.cloudsso import DIRECTORY_PAGE_SIZE
from permctl.providers.connection import SERVICES
from permctl.providers.pacing import MARGIN

DIRECTORY_ID = "d-accessbench1"
USERS = 2_000


def group_sizes(groups: int) -> list[int]:
    """From empty to 450 members, so that groups take from one to five pages."""
    return [(index * 37) % 451 for index in range(groups)]


def organisation(groups: int) -> dict[str, Any]:
    users = [{"id": f"u-bench{index:08d}", "name": f"user-{index}"} for index in range(USERS)]
    return {
        "account_id": "1000000000000001",
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY_ID,
                    "name": "access-bench",
                    "users": users,
                    "groups": [
                        {
                            "id": f"g-bench{index:08d}",
                            "name": f"group-{index}",
                            "members": [
                                users[(index * 53 + offset) % USERS]["id"] for offset in range(size)
                            ],
                        }
                        for index, size in enumerate(group_sizes(groups))
                    ],
                }
            ]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CEILING)
    args = parser.parse_args()
    sizes = group_sizes(args.groups)
    knobs = Knobs(seed=1, latency_ms=args.latency_ms)
    with Emulator(organisation(args.groups), knobs=knobs) as emu:
        settings = ConnectionSettings(
            access_key=AccessKey(emu.access_key_id, emu.access_key_secret),
            endpoints={service: emu.url for service in SERVICES},
            concurrency=args.concurrency,
        )
        with open_providers(settings) as providers:
            started = time.monotonic()
            members = providers.cloudsso.read_group_members(
                DIRECTORY_ID, [f"g-bench{index:08d}" for index in range(args.groups)]
            )
            elapsed = time.monotonic() - started
        member_calls = [c for c in emu.calls if c.action == "ListGroupMembers"]
    calls = len(member_calls)
    first_pages = [c for c in member_calls if not c.params.get("NextToken")]
    next_pages = [c for c in member_calls if c.params.get("NextToken")]
    next_from = min((c.time for c in next_pages), default=float("inf"))
    first_spread_s = max(c.time for c in first_pages) - min(c.time for c in first_pages)
    fewest = sum(max(1, math.ceil(size / DIRECTORY_PAGE_SIZE)) for size in sizes)
    limit_qps = MARGIN * (published_qps("cloudsso", "ListGroupMembers") or float("inf"))
    floor_s = max(fewest * args.latency_ms / 1000 / args.concurrency, fewest / limit_qps)
    read = sum(len(people) for people in members.values())
    print(f"groups: {args.groups}, members read: {read} (expected {sum(sizes)})")
    print(f"ListGroupMembers calls: {calls} (fewest possible: {fewest})")
    print(
        f"first pages: {len(first_pages)}, all sent within {first_spread_s:.2f} s; "
        f"{sum(c.time < next_from for c in first_pages)} before any next page"
    )
    print(
        f"wall time: {elapsed:.2f} s (floor, the larger of {args.latency_ms} ms a call with "
        f"{args.concurrency} in flight and {limit_qps:g} calls/s: {floor_s:.2f} s)"
    )


if __name__ == "__main__":
    main()
