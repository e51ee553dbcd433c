"""How close apply comes to the fewest write calls and the shortest wall time possible.

The organisation of bench/read_bench.py (2,000 principals on 8 meshes, 6 of them managed) is
served by the emulator, in its own process, with 30 ms of latency per call. The plan changes
10 % of the principals (one role each on a managed mesh) and makes 1,000 CloudSSO changes (500
creates, 500 deletes); apply runs with the default ceiling of calls in flight (32), keeping
CloudSSO's published limits (20 writes/s), as by default.

Lower bounds: writes = the distinct (kind, new list) groups, each chunked by the grant batch
size, plus one call per CloudSSO change; calls = those writes, two reads per changed principal
(the optimistic check before its grant, the read-back after every write) and one GetTaskStatus
per task; wall = calls x latency / concurrency, or the CloudSSO writes at 95 % of their
published limit when that is longer, plus the wait before the first task poll, which no amount
of concurrency hides.

    python bench/apply_bench.py [--principals N] [--accounts N] [--assignments N]
        [--sso-changes N] [--latency-ms N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import time
from collections import Counter
from multiprocessing.connection import Connection
from types import MappingProxyType
from typing import Any

from read_bench import DIRECTORY_ID, SOURCE, organisation

from permctl.apply import GRANT_BATCH_SIZE, ApplyReport, Changes, apply_changes, grant_batches
from permctl.cloudlimits import CLOUDSSO_LOW_QPS
from permctl.emulator import Emulator, Knobs
from permctl.model import (
    ASM_ROLES,
    Assignment,
    DesiredAsm,
    DesiredAssignment,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    Mesh,
    PrincipalKind,
    SafetySettings,
)
from permctl.plan import build_plan
from permctl.providers import AccessKey, ConnectionSettings, Session, open_providers
from permctl.providers.connection import SERVICES
from permctl.providers.live import read_live_state
from permctl.providers.pacing import DEFAULT_CEILING, MARGIN
from permctl.workflow import utc_today

MANAGED_MESHES = 6
WRITES = ("GrantUserPermissions", "CreateAccessAssignment", "DeleteAccessAssignment")


def desired_state(
    state: dict[str, Any], changed_share: float, sso_changes: int, seed: int
) -> DesiredState:
    """Live state with `changed_share` of the principals given another role on one managed
    mesh, half of `sso_changes` assignments dropped (pruned) and half added."""
    rng = random.Random(seed)
    meshes = tuple(Mesh(m["name"], m["id"]) for m in state["meshes"][:MANAGED_MESHES])
    managed = [m.mesh_id for m in meshes]
    entries = [
        (kind, p)
        for kind, key in ((PrincipalKind.RAM_USER, "users"), (PrincipalKind.RAM_ROLE, "roles"))
        for p in state["ram"][key]
    ]
    changed = set(rng.sample(range(len(entries)), int(len(entries) * changed_share)))
    principals = []
    for index, (kind, p) in enumerate(entries):
        roles = {g["mesh"]: g["role"] for g in p["grants"] if g["mesh"] in managed}
        if index in changed:
            mesh = rng.choice(managed)
            roles[mesh] = rng.choice([r for r in ASM_ROLES if r != roles.get(mesh)])
        principals.append(
            DesiredPrincipal(p["name"], p["id"], kind, MappingProxyType(roles), SOURCE)
        )
    directory = state["cloudsso"]["directories"][0]
    return DesiredState(
        asm=DesiredAsm(meshes, tuple(principals)),
        cloudsso=DesiredCloudSso(
            directory_id=DIRECTORY_ID,
            scope="accounts",
            managed_account_ids=frozenset(a["id"] for a in state["resource_directory"]["accounts"]),
            assignments=tuple(
                DesiredAssignment(a, SOURCE)
                for a in _kept_and_new(rng, state, directory, sso_changes // 2)
            ),
            prune_unlisted=True,
        ),
        safety=SafetySettings(max_delete_percent=100),
    )


def _kept_and_new(
    rng: random.Random, state: dict[str, Any], directory: dict[str, Any], half: int
) -> list[Assignment]:
    live = [
        Assignment(a["access_configuration"], a["account"], a["principal_type"], a["principal"])
        for a in directory["assignments"]
    ]
    existing = set(live)
    new: set[Assignment] = set()
    accounts = [a["id"] for a in state["resource_directory"]["accounts"]]
    while len(new) < half:
        candidate = Assignment(
            rng.choice(directory["access_configurations"])["id"],
            rng.choice(accounts),
            "User",
            rng.choice(directory["users"])["id"],
        )
        if candidate not in existing:
            new.add(candidate)
    return live[half:] + sorted(new)


def serve(state: dict[str, Any], knobs: Knobs, conn: Connection) -> None:
    """The emulator in its own process; answers "reset" (clear the call log) and "calls":
    (action, error code, arrival, seconds taken) of each call since."""
    with Emulator(state, knobs=knobs) as emu:
        conn.send((emu.url, emu.access_key_id, emu.access_key_secret))
        while (command := conn.recv()) != "stop":
            if command == "reset":
                emu.reset_log()
                conn.send("ok")
            else:
                conn.send([(c.action, c.code, c.time, c.elapsed_ms / 1000) for c in emu.calls])


def report(
    calls: Counter[str],
    changes: Changes,
    result: ApplyReport,
    wall_s: float,
    latency_ms: int,
    concurrency: int,
) -> bool:
    groups = grant_batches(changes.grants, GRANT_BATCH_SIZE)
    tasks = len(changes.assignments)
    writes = sum(calls[a] for a in WRITES)
    write_bound = len(groups) + tasks
    call_bound = write_bound + 2 * len(changes.grants) + tasks
    print(
        f"{len(changes.grants)} principals changed in {len(groups)} grant groups; "
        f"{tasks} CloudSSO changes"
    )
    for action in sorted(calls):
        print(f"  {action:28} {calls[action]:>7}")
    print(f"write calls {writes} ; lower bound {write_bound} ; ratio {writes / write_bound:.3f}")
    print(f"all calls   {sum(calls.values())} ; lower bound {call_bound}")
    print(
        f"read-back after the writes {result.verification_reads} calls "
        f"({len(changes.grants)} principals written)"
    )
    first_poll_s = 0.25
    # Deletes start once every create has ended, each action at its published limit.
    limits_s = sum(calls[a] for a in WRITES[1:]) / (MARGIN * CLOUDSSO_LOW_QPS)
    wall_bound = max(call_bound * latency_ms / 1000 / concurrency, limits_s) + first_poll_s
    print(
        f"wall {wall_s:.2f} s ; lower bound {wall_bound:.2f} s (the larger of calls x latency /"
        f" concurrency and the CloudSSO writes at its published limit, + {first_poll_s} s first"
        f" poll) ; ratio {wall_s / wall_bound:.3f}"
    )
    return writes <= write_bound and wall_s <= 1.3 * wall_bound


def run(args: argparse.Namespace) -> bool:
    state = organisation(args.principals, 8, args.accounts, args.assignments, seed=7)
    desired = desired_state(state, 0.10, args.sso_changes, seed=7)
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve, args=(state, Knobs(seed=7, latency_ms=args.latency_ms), theirs), daemon=True
    )
    server.start()
    url, key_id, key_secret = ours.recv()
    settings = ConnectionSettings(
        endpoints={service: url for service in SERVICES},
        access_key=AccessKey(key_id, key_secret),
        concurrency=args.concurrency,
    )
    with open_providers(settings) as providers:
        live = read_live_state(desired, Session.of(providers), include_unlisted=True)
        changes = Changes.from_plan(build_plan(desired, live, utc_today()))
        rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ours.send("reset")
        ours.recv()
        started = time.monotonic()
        result = apply_changes(
            changes,
            mesh_accounts=Session.of(providers).mesh_accounts,
            cloudsso=providers.cloudsso,
            concurrency=args.concurrency,
        )
        wall_s = time.monotonic() - started
        rss_after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours.send("calls")
    calls = Counter(action for action, _, _, _ in ours.recv())
    ours.send("stop")
    server.join()
    print(result.summary())
    met = report(calls, changes, result, wall_s, args.latency_ms, args.concurrency)
    print(f"peak RSS {rss_after_mb:.0f} MB (before apply {rss_before_mb:.0f} MB)")
    return met and result.succeeded


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--principals", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--assignments", type=int, default=5000)
    parser.add_argument("--sso-changes", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CEILING)
    met = run(parser.parse_args())
    print("goals met" if met else "goals NOT met")
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
