"""Command-line interface: one module per command, each a thin shell over the stages."""

from permctl.cli.app import app, main

__all__ = ["app", "main"]
