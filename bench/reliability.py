"""The fault matrix: every reliability scenario over many seeds, and what each run kept true.

Each run applies the busy example organisation's file against an emulator of its own, on a
free port of 127.0.0.1, under one kind of fault: throttling, 5xx, latency spikes, failed
CloudSSO tasks, a QPS cap, writes answered with an error after they applied, another writer
between plan and apply, kill -9 of `permctl apply` at a random call once it has planned, two
applies of different plans at once. Then it applies again without faults, where the faults
allow, and checks that live equals desired, nothing outside the managed scope changed, no write
took a grant on an unmanaged mesh at any point (the emulator's write log), and every failure
reported carried its RequestId. The scenarios and checks are
tests/reliability/reliability_scenarios.py, which tests/reliability runs for a few seeds.

    python bench/reliability.py [--seeds N] [--processes N] [--threads N] [--scenario TEXT]
        [--show-failures]

Exit status 1 when any run broke a rule, did not converge, or reported a failure without
its RequestId.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS / "apply"), str(TESTS / "reliability")]

from reliability_scenarios import SCENARIOS, Run  # noqa: E402

# The tallies that say whether the fault struck, and how the rival applies were caught.
NOTES = (
    "calls answered with an error",
    "principals edited and skipped",
    "killed mid-apply",
    "caught before the write",
    "caught after the write",
    "lost after the read-back (limit)",
)


def run_share(jobs: list[tuple[int, int]], threads: int) -> list[Run]:
    """(scenario index, seed) pairs, `threads` at a time: most of a run waits on the network."""
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda job: SCENARIOS[job[0]].run(job[1]), jobs))


def run_matrix(indexes: list[int], seeds: int, processes: int, threads: int) -> list[Run]:
    jobs = [(index, seed) for seed in range(seeds) for index in indexes]
    shares = [jobs[start::processes] for start in range(processes)]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        done = pool.map(run_share, shares, [threads] * processes)
        return [run for share in done for run in share]


COLUMNS = (
    ("scenario", 30),
    ("runs", 5),
    ("converged", 9),
    ("complete", 8),
    ("failed", 6),
    ("no RequestId", 12),
    ("violations", 10),
)


def _line(values: tuple[object, ...], notes: str) -> str:
    name, *numbers = values
    cells = [f"{name:<{COLUMNS[0][1]}}"]
    cells += [f"{value:>{width}}" for value, (_, width) in zip(numbers, COLUMNS[1:], strict=True)]
    return "  ".join([*cells, notes]).rstrip()


def print_matrix(runs: list[Run], show_failures: bool) -> bool:
    """One row per scenario: runs, converged, complete (the faulty apply did everything by
    itself), failed items and errors reported, those without a RequestId, rules broken."""
    print(_line(tuple(name for name, _ in COLUMNS), "notes"))
    clean = True
    for scenario in SCENARIOS:
        mine = [run for run in runs if run.scenario == scenario.name]
        if not mine:
            continue
        tally: Counter[str] = Counter()
        for run in mine:
            tally.update(run.tally)
        converged = sum(run.converged for run in mine)
        without_request_id = sum(len(run.without_request_id) for run in mine)
        violations = sum(len(run.violations) for run in mine)
        row = (
            scenario.name,
            len(mine),
            converged,
            sum(run.complete for run in mine),
            sum(len(run.failures) for run in mine),
            without_request_id,
            violations,
        )
        print(_line(row, "; ".join(f"{name} {tally[name]}" for name in NOTES if tally[name])))
        clean = clean and converged == len(mine) and not without_request_id and not violations
    for run in runs:
        problems = [*run.violations, *run.without_request_id]
        problems += run.failures if show_failures else []
        problems += [] if run.converged else ["did not converge"]
        for problem in problems:
            print(f"  {run.scenario} seed {run.seed}: {problem}")
    return clean


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=100, help="runs per scenario")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="runs at once in each process")
    parser.add_argument("--scenario", default="", help="only scenarios whose name has this")
    parser.add_argument(
        "--show-failures",
        action="store_true",
        help="list every failure reported, not only rules broken",
    )
    args = parser.parse_args()
    indexes = [i for i, s in enumerate(SCENARIOS) if args.scenario.lower() in s.name.lower()]
    started = time.monotonic()
    runs = run_matrix(indexes, args.seeds, args.processes, args.threads)
    clean = print_matrix(runs, args.show_failures)
    print(f"{len(runs)} runs in {time.monotonic() - started:.0f} s")
    raise SystemExit(0 if clean else 1)


if __name__ == "__main__":
    main()
