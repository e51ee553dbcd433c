"""Command-line interface: one module per command, each a thin shell over the stages."""

from permctl.cli import (
    cmd_access,  # noqa: F401
    cmd_apply,  # noqa: F401
    cmd_diagnose,  # noqa: F401
    cmd_drift,  # noqa: F401
    cmd_emulator,  # noqa: F401
    cmd_fmt,  # noqa: F401
    cmd_import,  # noqa: F401
    cmd_init,  # noqa: F401
    cmd_plan,  # noqa: F401
    cmd_policy,  # noqa: F401
    cmd_schema,  # noqa: F401
    cmd_validate,  # noqa: F401
)
from permctl.cli.app import app, main

__all__ = ["app", "main"]
