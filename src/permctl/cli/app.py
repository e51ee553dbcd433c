"""The typer application and the one place where errors become messages and exit codes.

The commands import what loads the cloud SDKs (workflow, apply, importer, diagnose) inside
their functions, never at the top of a module: --version, --help, validate, fmt and schema
make no call and must not pay the second it takes to import the SDKs and aiohttp. Every
command module is imported to build the command line, so the file models (config), plans,
reports and renderers are imported the same way, by the commands that use them: --version
and --help load none of them (bench/cli_startup.py measures it).

Modules that define commands (this one's callback, cmd_*.py) do without `from __future__ import
annotations`: typer reads every command's signature on every start, and annotations kept as
strings would be evaluated again each time, two thirds of the time building the command line
takes. Names imported only for type checking are quoted where they annotate.
"""

import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer._click.exceptions import (
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperGroup

from permctl.errors import ApiError, ConfigError, PermctlError, diagnose_hint

if TYPE_CHECKING:
    from rich.console import Console

# Options of the whole run, accepted before or after the command's name.
GLOBAL_FLAGS = frozenset({"--no-color", "-v", "--verbose", "--debug"})
# Every command that prints progress takes --quiet itself; before the command's name it is
# handed to the command.
QUIET_FLAGS = frozenset({"-q", "--quiet"})


class _Commands(TyperGroup):
    """Every command's PermctlError and every usage error becomes a message and exit 1 here,
    inside the click context, so the test runner sees the same output and exit code as a
    shell does."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:  # typer's vendored click.Context
        try:
            return super().make_context(info_name, self._global_flags_first(args), parent, **extra)
        except UsageError as error:
            fail_usage(error)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PermctlError as error:
            fail(error, command=ctx.invoked_subcommand)
        except UsageError as error:
            fail_usage(error)

    def _global_flags_first(self, args: list[str]) -> list[str]:
        """`args` with the run's own flags moved before the command's name and --quiet after it,
        so `permctl plan -v` and `permctl -q plan` mean what `permctl -v plan` and
        `permctl plan -q` do. A flag given as the value of an option (`--profile -v`) and
        anything after `--` stay where they are."""
        name_at = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
        command = self.commands.get(args[name_at]) if name_at is not None else None
        if name_at is None or command is None:
            return args
        before, after = args[:name_at], args[name_at + 1 :]
        takes_value = {
            opt
            for param in command.params
            if not getattr(param, "is_flag", True)
            for opt in param.opts
        }
        run_flags: list[str] = []
        command_args: list[str] = []
        for index, arg in enumerate(after):
            if arg == "--":
                command_args += after[index:]
                break
            previous = after[index - 1] if index else None
            target = (
                run_flags if arg in GLOBAL_FLAGS and previous not in takes_value else command_args
            )
            target.append(arg)
        quiet = [arg for arg in before if arg in QUIET_FLAGS]
        if quiet and any("--quiet" in getattr(param, "opts", ()) for param in command.params):
            command_args.insert(0, "--quiet")
        run = [arg for arg in before if arg not in QUIET_FLAGS]
        return [*run, *run_flags, args[name_at], *command_args]


app = typer.Typer(
    cls=_Commands,
    name="permctl",
    help="Declarative permissions-as-code for Alibaba Cloud Service Mesh RBAC and CloudSSO.\n\n"
    "--no-color, -v/--verbose and --debug work before or after the command's name, and so "
    "does the -q/--quiet of a command that prints progress. Exit status: 0 success, 1 error "
    "(a mistyped command line too), 2 changes or drift where a command says so.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    # No markup: help prints names, ARNs and examples exactly as written (rich's emoji codes
    # turned acs:ram::1234:role/x into a picture).
    rich_markup_mode=None,
)

# click's mark for a paragraph it must print as written, without rewrapping.
KEEP_LINES = "\b"


def examples(*command_lines: str) -> str:
    """A command's epilog: example command lines, each on one line so that it can be copied."""
    return "Examples:\n\n" + "\n".join([KEEP_LINES, *(f"  {line}" for line in command_lines)])


EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def stdout_console() -> "Console":
    return _console(stderr=False)


def stderr_console() -> "Console":
    return _console(stderr=True)


def _console(*, stderr: bool) -> "Console":
    from rich.console import Console  # a command that prints nothing through it never pays it

    # emoji=False: names and ARNs such as acs:ram::1234:role/x must not turn into pictures.
    # Without colour, no style at all: rich's no_color keeps bold and dim.
    return Console(
        stderr=stderr,
        color_system=None if _color_disabled() else "auto",
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )


def _color_disabled() -> bool:
    return "NO_COLOR" in os.environ or os.environ.get("PERMCTL_NO_COLOR") == "1"


API_LOGGER = "permctl.api"


def _log_to_stderr(ctx: typer.Context, logger_name: str, line_format: str) -> None:
    """Log records of `logger_name` and below to this run's stderr, until the command ends.

    The providers log one record per API call (action, outcome, duration, RequestId); nothing
    logged under "permctl" carries a credential.
    """
    import logging  # only a run with -v or --debug logs anything

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
        from permctl import __version__  # read from the install's metadata: see permctl/__init__

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
        "end, the calls in flight each API settled on, the throttled answers it saw and "
        "the calls of each action.",
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


# Errors about the credentials themselves: the gateway's log of the call cannot say more than
# that the key or signature was wrong (and reading it needs working credentials).
CREDENTIAL_ERRORS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken",
)


def next_step(error: ApiError, command: str | None = None) -> str | None:
    """What to run or check after a failed call: diagnose, where its log can explain the
    failure; never for the credentials (the log knows no more) nor for diagnose itself."""
    if error.code.startswith(CREDENTIAL_ERRORS):
        return f"check the credentials and where they came from ({credential_source()})"
    if error.request_id and command != "diagnose":
        return diagnose_hint(error.request_id)
    return None


def credential_source() -> str:
    """Where the credentials chain found a key, as far as the environment tells."""
    if os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID"):
        return "the ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET variables"
    return "the aliyun CLI profile: --profile NAME or ~/.aliyun/config.json"


def fail(error: PermctlError, command: str | None = None) -> NoReturn:
    """Print an error as the user should read it, then exit 1. Never a traceback."""
    from rich.markup import escape

    console = stderr_console()
    if isinstance(error, ConfigError):
        for problem in error.problems:
            console.print(f"[red]error[/red] {escape(str(problem))}", markup=True, highlight=False)
        count = len(error.problems)
        console.print(f"{count} error{'s' if count != 1 else ''}; nothing was changed.")
    elif isinstance(error, ApiError):
        console.print(f"[red]error[/red] {escape(str(error))}")
        step = next_step(error, command)
        if step:
            console.print(f"  {step}", markup=False)
    else:
        console.print(f"[red]error[/red] {escape(str(error))}")
    sys.exit(EXIT_ERROR)


def fail_usage(error: UsageError) -> NoReturn:
    """A mistyped command line: one line naming what is wrong and what would be right, then
    exit 1, never 2, which means "changes" or "drift" to the scripts that run permctl."""
    if isinstance(error, NoArgsIsHelpError):  # `permctl` alone: the help, on stderr
        error.show()
        sys.exit(EXIT_ERROR)
    command = error.ctx.command_path if error.ctx is not None else "permctl"
    stderr_console().print(
        f"error: {command}: {usage_problem(error)} (see {command} --help)", markup=False
    )
    sys.exit(EXIT_ERROR)


def usage_problem(error: UsageError) -> str:
    if isinstance(error, NoSuchOption):
        guess = f"did you mean {' or '.join(error.possibilities)}? " if error.possibilities else ""
        valid = ", ".join(_option_names(error.ctx)) if error.ctx is not None else ""
        return f"no such option {error.option_name}; {guess}the options are {valid}"
    if isinstance(error, BadParameter) and not isinstance(error, MissingParameter) and error.param:
        name = (
            "/".join(error.param.opts)
            if error.param.param_type_name == "option"
            else (error.param.name or "argument")
        )
        return f"{name} {_reason(error)}"
    message = error.format_message().rstrip(".")
    return message[:1].lower() + message[1:]


def _reason(error: BadParameter) -> str:
    """What typer's converter said, without pydantic's "Value error, ", with the value given
    and, for a number, the range allowed."""
    from pydantic import ValidationError  # typer's converters have loaded it when they fail

    reason = error.message.removeprefix("Value error, ").rstrip(".")
    cause = error.__cause__
    given = cause.errors()[0].get("input") if isinstance(cause, ValidationError) else None
    low, high = getattr(error.param, "min", None), getattr(error.param, "max", None)
    if low is not None and high is not None:
        reason = f"must be from {low} to {high}"
    return f"{given}: {reason}" if given is not None and repr(given) not in reason else reason


def _option_names(ctx: Any) -> list[str]:
    own = [
        option
        for param in ctx.command.get_params(ctx)
        for option in getattr(param, "opts", ())
        if option.startswith("--")
    ]
    run = sorted(flag for flag in GLOBAL_FLAGS if flag.startswith("--"))
    return own + ([flag for flag in run if flag not in own] if ctx.parent is not None else [])


def main() -> None:
    app()
