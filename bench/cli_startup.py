"""How long the offline commands take from a shell, best of 5 runs each.

    python bench/cli_startup.py [--runs 5]

Offline commands make no API call and import no cloud SDK (tests/cli/test_offline_imports.py
checks the imports); target: each under 0.25 s on a developer machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "permissions.yaml.example")
TARGET_SECONDS = 0.25
COMMANDS = {
    "--version": ["--version"],
    "validate": ["validate", EXAMPLE],
    "fmt --check": ["fmt", "--check", EXAMPLE],
    "schema": ["schema"],
    "plan --help": ["plan", "--help"],
}


def best_of(runs: int, args: list[str], cwd: str) -> float:
    return min(_timed([sys.executable, "-m", "permctl", *args], cwd) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as cwd:
        baseline = min(_timed([sys.executable, "-c", "pass"], cwd) for _ in range(runs))
        print(f"{'python -c pass':<14} {baseline:6.3f} s (the interpreter alone)")
        for label, args in COMMANDS.items():
            seconds = best_of(runs, args, cwd)
            verdict = "ok" if seconds < TARGET_SECONDS else f"over {TARGET_SECONDS} s"
            print(f"{label:<14} {seconds:6.3f} s  {verdict}")


def _timed(command: list[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
