"""Sixteen clients at once: ten thousand calls, reads mixed with full-list grants, none lost.

The clients sign as the SDK does (its own signing function) but skip the SDK's request
building, which costs more CPU than the emulator's whole answer and would make this test about
the GIL instead of about the emulator.
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from emulator_support import (
    ALICE,
    BUSY_ACCOUNT,
    CONCURRENT_USERS,
    DIRECTORY,
    PROD,
    SANDBOX,
    STAGING,
    SignedHttp,
)

from permctl.emulator import Emulator, GrantWrite, MeshGrant
from permctl.providers.servicemesh import permission_entries

THREADS, CALLS = 16, 10_000
MESH = ("2020-01-11",)
ROLES = ("istio-admin", "istio-ops", "istio-readonly")


def principals_of(thread: int) -> list[str]:
    return [str(278525736090000000 + i) for i in range(thread, CONCURRENT_USERS, THREADS)]


def random_list(rng: random.Random) -> tuple[MeshGrant, ...]:
    meshes = rng.sample((PROD, STAGING, SANDBOX), rng.randint(0, 3))
    return tuple(MeshGrant(mesh, rng.choice(ROLES)) for mesh in meshes)


def held(client: SignedHttp, principal: str) -> tuple[MeshGrant, ...]:
    reply = client.call("DescribeUserPermissions", *MESH, {"SubAccountUserId": principal})
    assert reply.status == 200, reply.body
    entries = permission_entries(reply.body)
    return tuple(MeshGrant(p["ResourceId"], p["RoleName"]) for p in entries)


def run_client(emu: Emulator, thread: int, calls: int) -> dict[str, tuple[MeshGrant, ...]]:
    """Grants every fifth call to a principal this thread alone owns, reading in between; each
    grant must be read back as written. Returns what it wrote last to each principal."""
    rng, client = random.Random(thread), SignedHttp(emu)
    mine = principals_of(thread)
    last: dict[str, tuple[MeshGrant, ...]] = {}
    reads = [
        ("DescribeUserPermissions", "2020-01-11", {"SubAccountUserId": ALICE}),
        ("ListAccessAssignments", "2021-05-15", {"DirectoryId": DIRECTORY, "MaxResults": "20",
                                                 "TargetType": "RD-Account",
                                                 "TargetId": BUSY_ACCOUNT}),
        ("GetUser", "2015-05-01", {"UserName": "alice"}),
    ]  # fmt: skip
    made = 0
    while made < calls:
        principal = rng.choice(mine)
        if made % 5 == 0 and made + 2 <= calls:
            wanted = random_list(rng)
            items = [{"IsCustom": True, "Cluster": g.mesh, "RoleName": g.role} for g in wanted]
            params = {"SubAccountUserId": principal, "Permissions": json.dumps(items)}
            assert client.call("GrantUserPermissions", *MESH, params).status == 200
            assert held(client, principal) == wanted
            last[principal], made = wanted, made + 2
        else:
            reply = client.call(*rng.choice(reads))
            assert reply.status == 200, reply.body
            made += 1
    client.close()
    return last


def test_sixteen_clients_lose_no_write_and_see_no_error(emu: Emulator) -> None:
    start = threading.Barrier(THREADS, timeout=60)  # a client that never starts fails the test

    def client(thread: int) -> dict[str, tuple[MeshGrant, ...]]:
        start.wait()
        return run_client(emu, thread, CALLS // THREADS)

    with ThreadPoolExecutor(THREADS) as pool:
        written = [g for last in pool.map(client, range(THREADS)) for g in last.items()]

    assert len(emu.calls) == CALLS
    assert all(call.status == 200 for call in emu.calls)
    assert len({call.request_id for call in emu.calls}) == CALLS
    assert {p: emu.state.grants[p] for p, _ in written} == dict(written)
    # Each principal's writes chain: what one wrote is what the next one found.
    chains: defaultdict[str, list[GrantWrite]] = defaultdict(list)
    for write in emu.writes:
        assert isinstance(write, GrantWrite)
        chains[write.principal_id].append(write)
    for principal, writes in chains.items():
        assert all(a.after == b.before for a, b in pairwise(writes)), principal
        assert writes[-1].after == emu.state.grants[principal]
