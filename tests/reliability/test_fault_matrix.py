"""The fault matrix, a few seeds per scenario (PERMCTL_RELIABILITY_SEEDS, default 2; the full
matrix is bench/reliability.py). The runs go at once, in threads, and each scenario's test
reads its own."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from reliability_scenarios import SCENARIOS, Run, Scenario

SEEDS = int(os.environ.get("PERMCTL_RELIABILITY_SEEDS", "2"))


@pytest.fixture(scope="module")
def runs() -> dict[str, list[Run]]:
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        started = {
            scenario.name: [pool.submit(scenario.run, seed) for seed in range(SEEDS)]
            for scenario in SCENARIOS
        }
        return {name: [future.result() for future in futures] for name, futures in started.items()}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_every_run_converges_keeps_scope_and_reports_failures_with_their_request_id(
    scenario: Scenario, runs: dict[str, list[Run]]
) -> None:
    for run in runs[scenario.name]:
        assert run.violations == [], run
        assert run.without_request_id == [], run
        assert run.converged, run


def test_the_faults_happened(runs: dict[str, list[Run]]) -> None:
    """A matrix whose faults never struck would prove nothing. Faults are drawn per call, so
    a single run may escape one; all the runs of a scenario together do not."""
    for name in ("throttling 30 %", "5xx 5 %", "QPS cap 20/s", "writes failing after applied"):
        assert any(run.tally["calls answered with an error"] for run in runs[name]), name
    assert not all(run.complete for run in runs["task failures 50 %"])
    assert all(run.tally["principals edited and skipped"] == 3 for run in runs["out-of-band edits"])
    assert all(run.tally["killed mid-apply"] == 1 for run in runs["kill -9, fresh apply"])
    assert all(
        run.tally["caught before the write"] + run.tally["caught after the write"] > 0
        for run in runs["two applies at once"]
    )
