"""`permctl emulator serve --state FILE [--port N] [knobs...]` (also `python -m
permctl.emulator serve`): serve a state until interrupted, printing the endpoint and the
AccessKey to use."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn, TextIO

from permctl.emulator.emulator import Emulator
from permctl.emulator.faults import FILTER_QUOTES, DenyRule, Knobs
from permctl.emulator.schema import StateFileError

# Knobs settable from the command line: the type each takes and what it does.
_KNOB_OPTIONS: dict[str, tuple[type, str]] = {
    "seed": (int, "seed of the random draws, so that a run's faults repeat (default 0)"),
    "latency_ms": (float, "milliseconds added to every call"),
    "latency_spike_rate": (float, "share of calls that take --latency-spike-ms more"),
    "latency_spike_ms": (float, "milliseconds a latency spike adds"),
    "throttle_rate": (float, "share of calls refused with Throttling.User"),
    "throttle_status": (int, "HTTP status of Throttling.User: 400 (default) or 429"),
    "retry_after_ms": (int, "throttling answers carry x-acs-retry-after of this many ms"),
    "error_5xx_rate": (
        float,
        "share of calls answered 503 ServiceUnavailable or 500 InternalError",
    ),
    "task_delay_s": (float, "seconds until a CloudSSO task completes"),
    "task_failure_rate": (float, "share of CloudSSO tasks that end Failed"),
    "fail_after_write_rate": (float, "share of writes applied, then answered 503"),
}
# How the permctl command names this one in usage and errors.
PROG = "permctl emulator"


class _Parser(argparse.ArgumentParser):
    """A mistyped command line is one line and exit 1, as for every permctl command: 2 means
    "changes" or "drift" to the scripts around permctl."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def serve(
    state_path: str | os.PathLike[str],
    port: int = 0,
    knobs: Knobs | None = None,
    *,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve `state_path` on 127.0.0.1:`port` (0: a free port) until `stop` is set or the
    process is interrupted."""
    out = out or sys.stdout
    with Emulator(state_path, knobs, port=port) as emulator:
        print(f"permctl emulator serving {os.fspath(state_path)} on {emulator.url}", file=out)
        print(f"AccessKey id {emulator.access_key_id}", file=out)
        print(f"AccessKey secret {emulator.access_key_secret}", file=out)
        print("To point permctl and the SDK at it:", file=out)
        print(f"  export ALIBABA_CLOUD_ACCESS_KEY_ID={emulator.access_key_id}", file=out)
        print(f"  export ALIBABA_CLOUD_ACCESS_KEY_SECRET={emulator.access_key_secret}", file=out)
        print(f"  export PERMCTL_ENDPOINT={emulator.url}", file=out)
        print("Press Ctrl+C to stop.", file=out, flush=True)
        stop = stop or threading.Event()
        try:
            # A timed wait: Ctrl+C may be delivered to the server's thread, and only a main
            # thread that wakes up runs the handler that raises KeyboardInterrupt.
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            print("stopped", file=out, flush=True)


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog=PROG, description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "serve",
        help="serve a state file until interrupted",
        epilog="A RATE is a probability per call, 0 to 1, drawn from --seed. Faults are "
        "injected before the action runs (a refused write changes nothing), except "
        "--fail-after-write-rate.",
    )
    run.add_argument("--state", required=True, help="YAML or JSON state file")
    run.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    for name, (kind, meaning) in _KNOB_OPTIONS.items():
        unit = name.rsplit("_", 1)[-1].upper()
        metavar = unit if unit in ("MS", "S", "RATE") else "N"
        run.add_argument(
            f"--{name.replace('_', '-')}", dest=name, type=kind, metavar=metavar, help=meaning
        )
    run.add_argument(
        "--qps-cap",
        action="append",
        default=[],
        metavar="[ACTION=]N",
        help="throttle calls beyond N within one second: all calls (N), or one action's in each "
        "account (ACTION=N); repeatable",
    )
    run.add_argument(
        "--published-limits",
        action="store_true",
        help="throttle CloudSSO calls beyond its published limits per account (100/s; 20/s for "
        "assignment writes, task reads and provisioning)",
    )
    run.add_argument(
        "--native-shapes",
        action="store_true",
        help="answer with arrays, JSON booleans and numbers and no NextToken on a last page, "
        "not in the shapes the API pages show",
    )
    run.add_argument(
        "--is-ram-role-means-user",
        action="store_true",
        help="DescribeUserPermissions' IsRamRole true for RAM users, as its page says",
    )
    run.add_argument(
        "--refuse-empty-grants",
        action="store_true",
        help="GrantUserPermissions refuses an empty Permissions list",
    )
    run.add_argument(
        "--filter-quotes",
        choices=FILTER_QUOTES,
        default="unquote",
        help="how a quoted CloudSSO Filter value is taken (default: unquote)",
    )
    run.add_argument(
        "--deny",
        action="append",
        default=[],
        metavar="ACTION[:ID,...][/KIND]",
        help="refuse this action (for these resource ids) with 403, as no policy allowing it "
        "(KIND implicit, the default), a RAM policy denying it (explicit) or a resource "
        "directory control policy (control); repeatable",
    )
    return root


def knobs_from(args: argparse.Namespace) -> Knobs:
    values = {name: getattr(args, name) for name in _KNOB_OPTIONS}
    global_caps, api_caps = _qps_caps(args.qps_cap)
    return Knobs(
        **{name: value for name, value in values.items() if value is not None},
        qps_cap=min(global_caps, default=None),
        api_qps_caps=api_caps,
        published_limits=args.published_limits,
        native_shapes=args.native_shapes,
        is_ram_role_means_user=args.is_ram_role_means_user,
        filter_quotes=args.filter_quotes,
        refuse_empty_grants=args.refuse_empty_grants,
        deny=tuple(DenyRule.parse(rule) for rule in args.deny),
    )


def _qps_caps(texts: Sequence[str]) -> tuple[list[int], tuple[tuple[str, int], ...]]:
    """`--qps-cap 150` and `--qps-cap DescribeUserPermissions=50`: (global caps, per action)."""
    global_caps: list[int] = []
    api_caps: list[tuple[str, int]] = []
    for text in texts:
        action, equals, number = text.rpartition("=")
        try:
            cap = int(number)
        except ValueError:
            raise ValueError(f"--qps-cap {text!r}: expected N or ACTION=N") from None
        if equals and not action:
            raise ValueError(f"--qps-cap {text!r}: expected N or ACTION=N")
        if equals:
            api_caps.append((action, cap))
        else:
            global_caps.append(cap)
    return global_caps, tuple(api_caps)


def main(argv: Sequence[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    try:
        knobs = knobs_from(args)
    except ValueError as error:
        root.error(str(error))
    try:
        serve(args.state, args.port, knobs)
    except StateFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(
            f"error: {PROG} serve: port {args.port} of 127.0.0.1 is already in use; stop "
            "what listens there, choose another --port, or leave --port out for a free one",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
