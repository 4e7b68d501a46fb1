"""The `slm` command line's entry point (`slm.cli.main:main`): the root click group over the command modules.

Each group of commands lives in its own module, imported only when its command is run (or `slm --help` lists
them all): `slm recall` loads just `memory_commands`. Heavy modules (numpy, llama.cpp, the engine) are imported
inside commands, so `slm --help` starts fast.
"""

from __future__ import annotations

import gc
import importlib
import sys

import click

from slm.cli import output as out
from slm.cli.shared import Group

COMMANDS = {  # name -> (module of slm.cli, attribute), in the order `slm --help` lists them
    "remember": ("memory_commands", "remember"),
    "update": ("memory_commands", "update"),
    "recall": ("memory_commands", "recall"),
    "list": ("memory_commands", "list_memories"),
    "show": ("memory_commands", "show"),
    "forget": ("memory_commands", "forget"),
    "events": ("memory_commands", "events"),
    "stats": ("store_commands", "stats"),
    "doctor": ("store_commands", "doctor"),
    "export": ("data_commands", "export"),
    "import": ("data_commands", "import_"),
    "erase": ("data_commands", "erase"),
    "backup": ("data_commands", "backup"),
    "model": ("store_commands", "model_app"),
    "mcp": ("mcp_commands", "mcp_app"),
    "agent": ("agent_commands", "agent_app"),
    "trust": ("trust_commands", "trust_app"),
    "graph": ("graph_commands", "graph_app"),
    "lifecycle": ("lifecycle_commands", "lifecycle_app"),
    "contradictions": ("contradiction_commands", "contradictions_app"),
}


class _Slm(Group):
    """`slm` itself: imports a command's module when the command is named. With --json, a usage error (bad option
    value, missing argument, unknown command) is a JSON object too, so programs can parse every failure."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(f"slm.cli.{module}"), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as err:  # click suggests from the commands built: none yet
            raise click.exceptions.NoSuchCommand(err.command_name, possibilities=COMMANDS, ctx=ctx) from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:  # `slm` alone: its help, on stdout, with the exit code of a usage error
            click.echo(ctx.get_help())
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        wants_json = "--json" in ctx.args
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            if not wants_json:
                raise
            out.error(err.format_message(), "see `slm --help` and `slm COMMAND --help`", True)
            raise click.exceptions.Exit(err.exit_code) from None


@click.group("slm", cls=_Slm, context_settings={"show_default": True})
def app() -> None:
    """Local-first memory for AI agents: remember, recall, forget — on your machine, no cloud."""


def main() -> None:
    """Run `slm` as a process. It allocates mostly what lives to its end (modules, classes, the model), so the
    collector runs every 100,000 allocations instead of every 700, when it walked the growing heap over and over
    while numpy and the engine imported; at exit what is left is frozen, so the interpreter's teardown does not
    walk it again (together ~0.1 s of a one-shot recall). `slm mcp`, which serves for hours, keeps Python's
    thresholds."""
    if sys.argv[1:2] != ["mcp"]:
        gc.set_threshold(100_000, 10, 10)
    try:
        app(prog_name="slm")
    finally:
        gc.freeze()
