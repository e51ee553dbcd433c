"""How many sequential round trips a plan (or an access report) of the example waits for.

`permctl plan permissions.yaml.example` (or `permctl access`) against the emulator serving
examples/live-state.yaml with a long latency per call (600 ms by default, a cross-region link):
the API phase divided by the latency is the number of round trips on its critical path,
whatever the number of calls. Goal: at most 5. Also printed: the calls, and how many were in
flight at most.

    python bench/critical_path.py [--latency-ms N] [--command plan|access]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from permctl.emulator import Emulator, Knobs
from permctl.emulator.journal import most_in_flight

ROOT = Path(__file__).resolve().parent.parent
GOAL_ROUND_TRIPS = 5


def run(latency_ms: int, command_name: str) -> bool:
    knobs = Knobs(seed=1, latency_ms=latency_ms)
    with Emulator(ROOT / "examples" / "live-state.yaml", knobs=knobs) as emu:
        env = {
            **os.environ,
            "PERMCTL_ENDPOINT": emu.url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.access_key_secret,
        }
        command = [sys.executable, "-m", "permctl", command_name, "--quiet"]
        subprocess.run([*command, "--help"], env=env, capture_output=True, check=True)  # warm
        started = time.monotonic()
        result = subprocess.run(
            [*command, str(ROOT / "permissions.yaml.example")],
            env=env,
            capture_output=True,
            text=True,
        )
        wall_s = time.monotonic() - started
        calls = list(emu.calls)
    if result.returncode not in (0, 2):
        print(result.stderr, file=sys.stderr)
        raise SystemExit(f"{command_name} failed")
    first, last = min(c.time for c in calls), max(c.time + c.elapsed_ms / 1000 for c in calls)
    api_s = last - first
    for action, count in sorted(Counter(c.action for c in calls).items()):
        print(f"{action:32} {count:>4}")
    round_trips = api_s * 1000 / latency_ms
    print(
        f"{len(calls)} calls, at most {most_in_flight(calls)} in flight; "
        f"{command_name} {wall_s:.2f} s, API phase {api_s:.2f} s = {round_trips:.1f} round "
        f"trips of {latency_ms} ms (goal <= {GOAL_ROUND_TRIPS})"
    )
    return round_trips <= GOAL_ROUND_TRIPS + 0.5


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=int, default=600)
    parser.add_argument("--command", choices=("plan", "access"), default="plan")
    args = parser.parse_args()
    met = run(args.latency_ms, args.command)
    print("goal met" if met else "goal NOT met")
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
