"""What one call to the emulator costs a test, through the real SDK with no latency configured.

For a read (DescribeUserPermissions) and a write (GrantUserPermissions, a full list): the
round trip the SDK sees and, of it, the time spent in the emulator from parsed request to
answer (the call log's elapsed_ms), as mean, p50 and p95 in ms. Then the calls per second 1
and 8 client threads get (each with its own SDK client, all sharing one emulator in this
process, so they share its GIL too).

    python bench/emulator_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from alibabacloud_servicemesh20200111 import models as asm
from alibabacloud_servicemesh20200111.client import Client as ServiceMeshClient
from alibabacloud_tea_openapi.models import Config

from permctl.emulator import Emulator, Knobs

STATE = Path(__file__).resolve().parents[1] / "examples" / "live-state.yaml"
ALICE, GRACE = "278525736094801234", "278525736094806789"
PROD, STAGING = "c57b848115458460583a4260cb713abc", "c4ec191f4e12145c09286ea3e2b8fabc"
WARM_UP = 50


def client_for(emu: Emulator) -> ServiceMeshClient:
    return ServiceMeshClient(
        Config(
            access_key_id=emu.access_key_id,
            access_key_secret=emu.access_key_secret,
            endpoint=emu.endpoint,
            protocol="HTTP",
        )
    )


def read(client: ServiceMeshClient) -> Callable[[int], object]:
    request = asm.DescribeUserPermissionsRequest(sub_account_user_id=ALICE)
    return lambda _: client.describe_user_permissions(request)


def write(client: ServiceMeshClient) -> Callable[[int], object]:
    """Alternates two full lists, so every call really changes the principal."""
    lists = [
        json.dumps([{"IsCustom": True, "RoleName": "istio-ops", "Cluster": mesh}])
        for mesh in (PROD, STAGING)
    ]
    requests = [
        asm.GrantUserPermissionsRequest(sub_account_user_id=GRACE, permissions=permissions)
        for permissions in lists
    ]
    return lambda index: client.grant_user_permissions(requests[index % 2])


def round_trips_ms(emu: Emulator, call: Callable[[int], object], calls: int) -> list[float]:
    for index in range(WARM_UP):
        call(index)
    emu.reset_log()
    times = []
    for index in range(calls):
        started = time.perf_counter()
        call(index)
        times.append((time.perf_counter() - started) * 1000)
    return times


def throughput(emu: Emulator, threads: int, calls: int) -> float:
    calls_each = calls // threads
    clients = [client_for(emu) for _ in range(threads)]
    for client in clients:
        read(client)(0)
    start = threading.Barrier(threads + 1)

    def run(client: ServiceMeshClient) -> None:
        send = read(client)
        start.wait()
        for index in range(calls_each):
            send(index)

    workers = [threading.Thread(target=run, args=(client,)) for client in clients]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return calls_each * threads / (time.perf_counter() - started)


def report(label: str, times: list[float]) -> None:
    p50, p95 = (statistics.quantiles(times, n=100)[q - 1] for q in (50, 95))
    print(f"{label:42} {statistics.fmean(times):7.2f} {p50:7.2f} {p95:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="calls per measurement")
    calls = parser.parse_args().calls
    with Emulator(STATE, knobs=Knobs(seed=1)) as emu:
        client = client_for(emu)
        print(f"{'ms a call':42} {'mean':>7} {'p50':>7} {'p95':>7}")
        for label, call in (
            ("read  DescribeUserPermissions", read(client)),
            ("write GrantUserPermissions", write(client)),
        ):
            report(f"{label} round trip", round_trips_ms(emu, call, calls))
            report(f"{label} in emulator", [c.elapsed_ms for c in emu.calls])
        for threads in (1, 8):
            print(f"{threads} client thread(s): {throughput(emu, threads, calls):7.0f} calls/s")


if __name__ == "__main__":
    main()
