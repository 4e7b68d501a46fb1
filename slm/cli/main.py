"""The `slm` command line's entry point (`slm.cli.main:main`): the one typer app, assembled from its groups.

Each group of commands lives in its own module; `slm --help` lists them in the order they are added below. The
`slm mcp` group stays here: it is the one place the CLI starts another face, imported only when asked. Heavy
modules (numpy, llama.cpp, the engine) are imported inside commands, so `slm --help` starts fast.
"""

from __future__ import annotations

import copy
import gc
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from slm.cli import (
    agent_commands,
    contradiction_commands,
    data_commands,
    graph_commands,
    lifecycle_commands,
    memory_commands,
    store_commands,
    trust_commands,
)
from slm.cli import output as out
from slm.cli.shared import Db, handles_errors, open_store
from slm.errors import InvalidInput

try:  # recent typer vendors click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import UsageError


class _Group(TyperGroup):
    """With --json, a usage error (bad option value, missing argument) is a JSON object too, so programs can parse
    every failure; without it, typer prints its usual usage message."""

    def invoke(self, ctx: typer.Context):
        wants_json = "--json" in ctx.args
        try:
            return super().invoke(ctx)
        except UsageError as err:
            if not wants_json:
                raise
            out.error(err.format_message(), "see `slm --help` and `slm COMMAND --help`", True)
            raise typer.Exit(err.exit_code) from None


app = typer.Typer(
    name="slm",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Local-first memory for AI agents: remember, recall, forget — on your machine, no cloud.",
)


mcp_app = typer.Typer(help="Serve memory to coding assistants over MCP (stdio by default), and set clients up.")


@mcp_app.callback(invoke_without_command=True)
@handles_errors
def mcp_serve(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="Address to bind with --http (this machine only by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port for --http.", min=1, max=65535)] = 8765,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow --host other than loopback (a token is still required).")
    ] = False,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option("--allow-origin", help="A browser origin trusted with --http, e.g. http://localhost:3000."),
    ] = None,
    log_file: Annotated[Path | None, typer.Option(help="Write logs here instead of standard error.")] = None,
    db: Db = None,
) -> None:
    """Run the MCP server. Over stdio, SLM_AGENT_TOKEN makes it that authenticated agent; over HTTP each client's
    bearer token says who it is. Otherwise agents are named by SLM_AGENT, else by the client's own name."""
    if ctx.invoked_subcommand:
        return
    from slm.mcp.serve import serve  # the one place the CLI starts another face, imported only when asked

    serve(
        db, http=http, host=host, port=port, allow_remote=allow_remote, allow_origins=tuple(allow_origin or ()),
        log_file=log_file,
    )  # fmt: skip


@mcp_app.command("config")
@handles_errors
def mcp_config(
    client: Annotated[
        str, typer.Option("--client", "-c", help="claude-code, claude-desktop, cursor, vscode or codex.")
    ],
    token: Annotated[
        bool,
        typer.Option("--token", help="Create an authenticated agent named after the client and put its token in."),
    ] = False,
    db: Db = None,
) -> None:
    """Print the config snippet that makes a client start slm's MCP server."""
    from slm.mcp.client_config import check_client, config_snippet

    secret = None
    if token:
        check_client(client)
        with open_store(db, create=True) as mem:
            _, secret = mem.add_agent(client)
    where, snippet = config_snippet(client, db=db, token=secret)
    out.note(f"# add to {where}")
    if secret:
        out.note(f"# agent {client!r} created; the snippet holds its secret token (revoke: slm agent revoke {client})")
    sys.stdout.write(snippet + "\n")


@mcp_app.command("token")
@handles_errors
def mcp_token(
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace the token (running servers too).")] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Stop accepting a shared token: only agent tokens get in.")
    ] = False,
) -> None:
    """Print the shared bearer token that HTTP clients may send (made on first use, stored user-only); clients
    with their own agent token (`slm agent add`) need none."""
    from slm import config
    from slm.mcp.http_token import load_or_create_token, remove_token

    if rotate and remove:
        raise InvalidInput("--rotate and --remove contradict each other", "choose one")
    if remove:
        removed = remove_token(config.data_dir())
        out.note("the shared token was removed: HTTP clients need an agent token" if removed else "there was none")
        return
    sys.stdout.write(load_or_create_token(config.data_dir(), rotate=rotate) + "\n")


app.add_typer(memory_commands.commands)  # unnamed: their commands are `slm`'s own
app.add_typer(store_commands.commands)
app.add_typer(data_commands.commands)
app.add_typer(store_commands.model_app, name="model")
app.add_typer(mcp_app, name="mcp")
app.add_typer(agent_commands.agent_app, name="agent")
app.add_typer(trust_commands.trust_app, name="trust")
app.add_typer(graph_commands.graph_app, name="graph")
app.add_typer(lifecycle_commands.lifecycle_app, name="lifecycle")
app.add_typer(contradiction_commands.contradictions_app, name="contradictions")


def main() -> None:
    """Run `slm` as a process. It allocates mostly what lives to its end (modules, classes, the model), so the
    collector runs every 100,000 allocations instead of every 700, when it walked the growing heap over and over
    while numpy, pydantic and the engine imported; at exit what is left is frozen, so the interpreter's teardown
    does not walk it again (together ~0.1 s of a one-shot recall). `slm mcp`, which serves for hours, keeps
    Python's thresholds."""
    first = sys.argv[1:2]
    if first != ["mcp"]:
        gc.set_threshold(100_000, 10, 10)
    try:
        app_for(first)()
    finally:
        gc.freeze()


def app_for(first: list[str]) -> typer.Typer:
    """`app` holding just the command or group that the first argument names (all of it otherwise, for `slm`,
    `slm --help` and mistyped names): on every run typer turns each command it holds into a click command, reading
    its signature, which for all ~40 costs a one-shot `slm recall` ~60 ms."""
    kept = []
    for group in app.registered_groups:
        name = typer.main.solve_typer_info_defaults(group).name  # None: its commands are `slm`'s own
        if name is not None:
            kept += [group] if name in first else []
            continue
        named = [c for c in group.typer_instance.registered_commands if _command_name(c) in first]
        if named:  # a command of an unnamed group (`slm recall`): that group, holding only it
            kept.append(copy.copy(group))
            kept[-1].typer_instance = copy.copy(group.typer_instance)
            kept[-1].typer_instance.registered_commands = named
    if not kept:
        return app
    slim = copy.copy(app)  # kept stays a group (typer runs a lone command without its name)
    slim.registered_groups = kept
    return slim


def _command_name(command: typer.models.CommandInfo) -> str:
    return command.name or typer.main.get_command_name(command.callback.__name__)
