"""How a plan is shown on stdout by the commands that compute one (plan, apply)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import typer

from permctl.cli.app import stderr_console, stdout_console
from permctl.cli.options import Format
from permctl.plan import Plan
from permctl.render import json as json_render
from permctl.render import markdown, text
from permctl.roles import CALLER

EMPTY: Mapping[str, str] = MappingProxyType({})


def show_plan(plan: Plan, output_format: Format, identities: Mapping[str, str] = EMPTY) -> None:
    """`identities` (section -> who acts on it) are shown when some section assumes a role:
    whoever reviews the plan sees which account each change lands in."""
    roles = identities if any(who != CALLER for who in identities.values()) else EMPTY
    if output_format is Format.TEXT:
        console = stdout_console()
        console.print(identities_header(roles), end="", markup=False)
        console.print(text.render(plan), end="")
    elif output_format is Format.MARKDOWN:
        typer.echo(identities_header(roles, "- ") + markdown.render(plan), nl=False)
    else:
        typer.echo(json_render.render(plan, roles), nl=False)


def identities_header(identities: Mapping[str, str], bullet: str = "  ") -> str:
    if not identities:
        return ""
    lines = [f"{bullet}{section}: {who}" for section, who in sorted(identities.items())]
    return "Acting as:\n" + "\n".join(lines) + "\n\n"


def show_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        stderr_console().print(f"warning: {warning}", markup=False)
