"""The `slm mcp` group: the MCP server, and the config snippets and token that set clients up.

The one place the CLI starts another face (`slm.mcp`), imported only when asked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, db_option, handles_errors, open_store
from slm.errors import InvalidInput


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
@click.option("--client", "-c", required=True, help="claude-code, claude-desktop, cursor, vscode or codex.")
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
