"""`permctl emulator serve --state FILE`: the local API emulator, from the permctl command."""

import typer

from permctl.cli.app import app


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def emulator(ctx: typer.Context) -> None:
    """Serve a state file with the local emulator of the Alibaba Cloud APIs permctl uses.

    `permctl emulator serve --state examples/live-state.yaml` prints the endpoint and the
    AccessKey to export; `permctl emulator serve --help` lists the fault knobs.
    """
    # Imported here: only this command and --emulator load the emulator.
    from permctl.emulator.__main__ import main as emulator_main

    raise typer.Exit(emulator_main(ctx.args))
