"""How long the offline commands take from a shell: best and median of 5 runs each.

    python bench/cli_startup.py [--runs 5]

Offline commands make no API call and import no cloud SDK (tests/cli/test_offline_imports.py
checks the imports); target: each under 0.25 s on a developer machine.

Two figures per command. "installed": permctl's modules already compiled to bytecode, as pip
leaves them when it installs the wheel (kept in a temporary cache: the checkout stays clean).
"this shell": run as the shell runs it; where PYTHONDONTWRITEBYTECODE is set and the checkout
has no __pycache__, Python compiles every permctl module it imports on every run, a cost a
developer's checkout has and a user's install has not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "permissions.yaml.example")
TARGET_SECONDS = 0.25
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE"
COMMANDS = {
    "--version": ["--version"],
    "validate": ["validate", EXAMPLE],
    "fmt --check": ["fmt", "--check", EXAMPLE],
    "schema": ["schema"],
    "plan --help": ["plan", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as cwd:
        installed = {
            **{name: value for name, value in os.environ.items() if name != NO_BYTECODE},
            "PYTHONPYCACHEPREFIX": str(Path(cwd) / "bytecode"),
        }
        shell = dict(os.environ)
        baseline = _times(runs, [sys.executable, "-c", "pass"], cwd, installed)
        print(f"{'python -c pass':<14} {min(baseline):6.3f} s (the interpreter alone)")
        print(f"{'':<14} {'installed':>17} {'this shell':>22}")
        print(f"{'':<14} {'best':>8} {'median':>8} {'best':>13} {'median':>8}")
        for label, args in COMMANDS.items():
            command = [sys.executable, "-m", "permctl", *args]
            _timed(command, cwd, installed)  # writes the bytecode
            fast = _times(runs, command, cwd, installed)
            slow = _times(runs, command, cwd, shell)
            over = [
                name
                for name, times in (("installed", fast), ("this shell", slow))
                if min(times) >= TARGET_SECONDS
            ]
            verdict = f"over {TARGET_SECONDS} s {' and '.join(over)}" if over else "ok"
            print(
                f"{label:<14} {min(fast):8.3f} {statistics.median(fast):8.3f}"
                f" {min(slow):13.3f} {statistics.median(slow):8.3f}  {verdict}"
            )


def _times(runs: int, command: list[str], cwd: str, env: dict[str, str]) -> list[float]:
    return [_timed(command, cwd, env) for _ in range(runs)]


def _timed(command: list[str], cwd: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
