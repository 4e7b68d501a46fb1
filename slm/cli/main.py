"""The `slm` command line's entry point (`slm.cli.main:main`): the root click group over the command modules.

Each group of commands lives in its own module, imported only when its command is run (or `slm --help` lists
them all): `slm recall` loads just `memory_commands`. The `slm mcp` group stays here: it is the one place the CLI
starts another face, imported only when asked. Heavy modules (numpy, llama.cpp, the engine) are imported inside
commands, so `slm --help` starts fast.
"""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, db_option, handles_errors, open_store
from slm.errors import InvalidInput

COMMANDS = {  # name -> (module of slm.cli, attribute), in the order `slm --help` lists them
    "remember": ("memory_commands", "remember"),
    "update": ("memory_commands", "update"),
    "tag": ("memory_commands", "tag"),
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
    "mcp": ("main", "mcp_app"),  # below
    "agent": ("agent_commands", "agent_app"),
    "trust": ("trust_commands", "trust_app"),
    "graph": ("graph_commands", "graph_app"),
    "lifecycle": ("lifecycle_commands", "lifecycle_app"),
    "learn": ("learn_commands", "learn_app"),
    "contradictions": ("contradiction_commands", "contradictions_app"),
    "project": ("project_commands", "project_app"),
    "tui": ("main", "tui"),  # below
    "hooks": ("hook_commands", "hooks_app"),
    "hook": ("hook_commands", "hook"),
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


@click.group("mcp", cls=Group, invoke_without_command=True)
@click.option("--http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", help="Address to bind with --http (this machine only by default).")
@click.option("--port", default=8765, type=click.IntRange(1, 65535), help="Port for --http.")
@click.option("--allow-remote", is_flag=True, help="Allow --host other than loopback (a token is still required).")
@click.option("--allow-origin", multiple=True, help="A browser origin trusted with --http, e.g. http://localhost:3000.")
@click.option("--log-file", type=click.Path(path_type=Path), help="Write logs here instead of standard error.")
@db_option
@click.pass_context
@handles_errors
def mcp_app(
    ctx: click.Context,
    http: bool,
    host: str,
    port: int,
    allow_remote: bool,
    allow_origin: tuple[str, ...],
    log_file: Path | None,
    db: Path | None,
) -> None:
    """Serve memory to coding assistants over MCP (stdio by default), and set clients up.

    Without a command: run the MCP server. Over stdio, SLM_AGENT_TOKEN makes it that authenticated agent; over
    HTTP each client's bearer token says who it is. Otherwise agents are named by SLM_AGENT, else by the client's
    own name."""
    if ctx.invoked_subcommand:
        return
    from slm.mcp.serve import serve  # the one place the CLI starts another face, imported only when asked

    serve(
        db, http=http, host=host, port=port, allow_remote=allow_remote, allow_origins=allow_origin,
        log_file=log_file,
    )  # fmt: skip


@mcp_app.command("config")
@click.option("--client", "-c", required=True, help="claude-code, cursor, codex, goose, zed… (a wrong name lists all).")
@click.option(
    "--token", is_flag=True, help="Create an authenticated agent named after the client and put its token in."
)
@db_option
@handles_errors
def mcp_config(client: str, token: bool, db: Path | None) -> None:
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
@click.option("--rotate", is_flag=True, help="Replace the token (running servers too).")
@click.option("--remove", is_flag=True, help="Stop accepting a shared token: only agent tokens get in.")
@handles_errors
def mcp_token(rotate: bool, remove: bool) -> None:
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


@click.command()
@click.option("--web", is_flag=True, help="Serve the app to a browser instead (open the URL it prints).")
@click.option("--host", default="127.0.0.1", help="Address to bind with --web (this machine only by default).")
@click.option("--port", default=8766, type=click.IntRange(1, 65535), help="Port for --web.")
@click.option("--allow-remote", is_flag=True, help="Allow --host other than loopback (the token is still required).")
@db_option
@click.pass_context
@handles_errors
def tui(ctx: click.Context, web: bool, host: str, port: int, allow_remote: bool, db: Path | None) -> None:
    """Search and read your memories in the terminal: results as you type, each memory with who wrote it, its
    trust and its lifecycle zone (`/` search, `enter` open, `?` keys, `ctrl+q` quit).

    With --web the same app is served to a browser, on 127.0.0.1 unless --allow-remote, behind the shared token
    of `slm mcp token` (made here when there is none; agent tokens do not open it): open the URL it prints."""
    if not web:
        typed = [
            name for name in ("host", "port", "allow_remote") if ctx.get_parameter_source(name).name == "COMMANDLINE"
        ]
        given = [f"--{name.replace('_', '-')}" for name in typed]
        if given:
            raise InvalidInput(f"{', '.join(given)}: for --web only", "add --web to serve the app to a browser")
        from slm.tui.app import MemoryApp

        with open_store(db) as mem:
            MemoryApp(mem).run()
        return
    from slm import config
    from slm.mcp.http_token import load_or_create_token, shared_token  # the launcher may reach the other faces
    from slm.mcp.serve import check_bind
    from slm.tui.web import serve_web

    check_bind(host, allow_remote)
    with open_store(db) as mem:  # an existing store (upgraded here, with progress), named by its full path
        where, shown = mem.location.url or mem.path, mem.location.shown
    data_dir = config.data_dir()
    load_or_create_token(data_dir)
    serve_web(where, host=host, port=port, token=lambda: shared_token(data_dir), shown_db=shown)


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
