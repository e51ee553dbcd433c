"""The typer application and the one place where errors become messages and exit codes."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from permctl import __version__
from permctl.errors import ApiError, ConfigError, PermctlError, diagnose_hint


class _Commands(TyperGroup):
    """Every command's PermctlError becomes a message and exit 1 here, inside the click
    context, so the test runner sees the same output and exit code as a shell does."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except PermctlError as error:
            fail(error)


app = typer.Typer(
    cls=_Commands,
    name="permctl",
    help="Declarative permissions-as-code for Alibaba Cloud Service Mesh RBAC and CloudSSO.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="markdown",
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


# emoji=False: names and ARNs such as acs:ram::1234:role/x must not turn into pictures.
def stdout_console() -> Console:
    return Console(no_color=_color_disabled(), highlight=False, soft_wrap=True, emoji=False)


def stderr_console() -> Console:
    return Console(
        stderr=True, no_color=_color_disabled(), highlight=False, soft_wrap=True, emoji=False
    )


def _color_disabled() -> bool:
    return "NO_COLOR" in os.environ or os.environ.get("PERMCTL_NO_COLOR") == "1"


API_LOGGER = "permctl.api"


def _log_to_stderr(ctx: typer.Context, logger_name: str, line_format: str) -> None:
    """Log records of `logger_name` and below to this run's stderr, until the command ends.

    The providers log one record per API call (action, outcome, duration, RequestId); nothing
    logged under "permctl" carries a credential.
    """
    logger = logging.getLogger(logger_name)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(line_format))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def _stop() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)

    ctx.call_on_close(_stop)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"permctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_version_callback,
        is_eager=True,
    ),
    no_color: bool = typer.Option(
        False, "--no-color", help="Disable colour (NO_COLOR is honoured too)."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Log every API call on stderr: action, outcome, duration, RequestId; and at the "
        "end, the calls in flight each API settled on and the throttled answers it saw.",
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Log everything permctl does on stderr, with times (never a secret).",
    ),
) -> None:
    if no_color:
        os.environ["PERMCTL_NO_COLOR"] = "1"
        ctx.call_on_close(lambda: os.environ.pop("PERMCTL_NO_COLOR", None))
    if debug:
        _log_to_stderr(ctx, "permctl", "%(asctime)s %(name)s %(levelname)s %(message)s")
    elif verbose:
        _log_to_stderr(ctx, API_LOGGER, "api: %(message)s")


def fail(error: PermctlError) -> NoReturn:
    """Print an error as the user should read it, then exit 1. Never a traceback."""
    console = stderr_console()
    if isinstance(error, ConfigError):
        for problem in error.problems:
            console.print(f"[red]error[/red] {escape(str(problem))}", markup=True, highlight=False)
        count = len(error.problems)
        console.print(f"{count} error{'s' if count != 1 else ''}; nothing was changed.")
    elif isinstance(error, ApiError):
        console.print(f"[red]error[/red] {escape(str(error))}")
        if error.request_id:
            console.print(f"  {diagnose_hint(error.request_id)}", markup=False)
    else:
        console.print(f"[red]error[/red] {escape(str(error))}")
    sys.exit(EXIT_ERROR)


def main() -> None:
    app()
