"""How long build_plan takes, and how much memory it needs, on a large synthetic organisation.

    python bench/plan_bench.py [--principals 12500] [--meshes 8] [--assignments 20000]

Default: 12,500 principals x 8 managed meshes = 100,000 Service Mesh grants (plus one grant
each on an unmanaged mesh), 1,000 unlisted principals and 20,000 CloudSSO assignments; about
one live grant in ten differs from the file. Targets: build_plan under 2 s of CPU and the
whole process under 500 MB of resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import date
from types import MappingProxyType

from permctl.model import (
    ASM_ROLES,
    AsmPrincipalLive,
    Assignment,
    DesiredAsm,
    DesiredAssignment,
    DesiredCloudSso,
    DesiredPrincipal,
    DesiredState,
    LiveState,
    Mesh,
    MeshRole,
    PrincipalKind,
    SourceRef,
)
from permctl.plan import build_plan
from permctl.render import json as json_render
from permctl.render import markdown, text

TARGET_CPU_SECONDS = 2.0
TARGET_RSS_MB = 500.0
TODAY = date(2024, 6, 1)
SOURCE = SourceRef("permissions.yaml", 1)
UNLISTED = 1_000
ACCOUNTS = 200


def synthetic_states(
    principals: int, meshes: int, assignments: int
) -> tuple[DesiredState, LiveState]:
    mesh_ids = [f"c-mesh-{m:02}" for m in range(meshes)]
    desired_principals = []
    live_asm = {}
    for p in range(principals):
        pid = f"2{p:015}"
        roles = {mesh_id: ASM_ROLES[(p + m) % 3] for m, mesh_id in enumerate(mesh_ids)}
        held = {MeshRole(mesh_id, role) for mesh_id, role in roles.items()}
        if p % 10 == 0:  # drift: a role changed, a role missing
            held.discard(MeshRole(mesh_ids[0], roles[mesh_ids[0]]))
            held.add(MeshRole(mesh_ids[0], ASM_ROLES[(p + 1) % 3]))
            held.discard(MeshRole(mesh_ids[1], roles[mesh_ids[1]]))
        held.add(MeshRole("c-unmanaged", "istio-ops"))
        desired_principals.append(
            DesiredPrincipal(
                f"user-{p}", pid, PrincipalKind.RAM_USER, MappingProxyType(roles), SOURCE
            )
        )
        live_asm[pid] = AsmPrincipalLive(pid, PrincipalKind.RAM_USER, frozenset(held))
    for u in range(UNLISTED):
        pid = f"3{u:015}"
        grant = MeshRole(mesh_ids[u % meshes], "istio-readonly")
        live_asm[pid] = AsmPrincipalLive(pid, PrincipalKind.RAM_ROLE, frozenset({grant}))
    wanted = [
        Assignment(f"ac-{a % 5}", f"{100_000 + a % ACCOUNTS}", "User", f"sso-u{a}")
        for a in range(assignments)
    ]
    desired = DesiredState(
        asm=DesiredAsm(
            tuple(Mesh(f"mesh-{m}", mesh_id) for m, mesh_id in enumerate(mesh_ids)),
            tuple(desired_principals),
        ),
        cloudsso=DesiredCloudSso(
            "d-bench",
            "accounts",
            frozenset(f"{100_000 + a}" for a in range(ACCOUNTS)),
            tuple(DesiredAssignment(a, SOURCE) for a in wanted),
        ),
    )
    live = LiveState(
        asm=MappingProxyType(live_asm),
        assignments=frozenset(a for i, a in enumerate(wanted) if i % 20),  # 5% to create
    )
    return desired, live


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principals", type=int, default=12_500)
    parser.add_argument("--meshes", type=int, default=8)
    parser.add_argument("--assignments", type=int, default=20_000)
    args = parser.parse_args()

    desired, live = synthetic_states(args.principals, args.meshes, args.assignments)
    grants = sum(len(p.permissions) for p in live.asm.values())
    print(
        f"live: {len(live.asm):,} principals, {grants:,} Service Mesh grants, "
        f"{len(live.assignments):,} CloudSSO assignments"
    )

    started = time.process_time()
    plan = build_plan(desired, live, TODAY)
    cpu = time.process_time() - started

    tracemalloc.start()
    build_plan(desired, live, TODAY)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    s = plan.summary
    print(
        f"plan: {s.principals:,} principal updates ({s.adds:,} adds, {s.role_changes:,} changes, "
        f"{s.removes:,} removes), {s.creates:,} creates, {s.unmanaged:,} unmanaged"
    )
    ok_cpu, ok_rss = cpu < TARGET_CPU_SECONDS, rss_mb < TARGET_RSS_MB
    print(
        f"build_plan CPU time:  {cpu:6.2f} s   (target < {TARGET_CPU_SECONDS:g} s)  "
        f"{'ok' if ok_cpu else 'OVER'}"
    )
    print(f"build_plan peak heap: {peak / 2**20:6.1f} MB  (tracemalloc)")
    print(
        f"process max RSS:      {rss_mb:6.1f} MB  (target < {TARGET_RSS_MB:g} MB)  "
        f"{'ok' if ok_rss else 'OVER'}"
    )
    for name, render in (
        ("text", text.render_plain),
        ("markdown", markdown.render),
        ("json", json_render.render),
    ):
        started = time.process_time()
        size = len(render(plan))
        took = time.process_time() - started
        print(f"render {name:<8} CPU time: {took:6.2f} s  ({size:,} chars)")
    sys.exit(0 if ok_cpu and ok_rss else 1)


if __name__ == "__main__":
    main()
