"""Run the MCP server over stdio (one process per client) or streamable HTTP (loopback, bearer token)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from slm.app import config, validation
from slm.app.memory import Memory
from slm.errors import InvalidInput
from slm.mcp.http_token import load_or_create_token, token_path

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORT = 8765
QUIET_FASTMCP = {
    "FASTMCP_LOG_LEVEL": "WARNING",
    "FASTMCP_SHOW_SERVER_BANNER": "false",
    "FASTMCP_CHECK_FOR_UPDATES": "off",  # the banner would ask PyPI for updates: slm makes no network calls
}


def check_bind(host: str, allow_remote: bool) -> None:
    if host not in LOOPBACK and not allow_remote:
        raise InvalidInput(
            f"refusing to serve memories on {host}: only this machine (127.0.0.1) may connect by default",
            "pass --allow-remote if you really mean to expose it (a bearer token is still required)",
        )


def agent_override() -> str | None:
    name = os.environ.get("SLM_AGENT")
    return validation.clean_name(name, "SLM_AGENT", "") if name else None


def send_logs_to(log_file: Path | None) -> None:
    """Everything written to stderr (Python logs, llama.cpp, tracebacks) goes to `log_file` instead."""
    if log_file is None:
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_file, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)


def serve(
    db: Path | None,
    *,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    allow_remote: bool = False,
    log_file: Path | None = None,
) -> None:
    if http:
        check_bind(host, allow_remote)
    agent = agent_override()
    for key, value in QUIET_FASTMCP.items():
        os.environ.setdefault(key, value)
    send_logs_to(log_file)
    from slm.mcp.server import build_server

    # One stdio server runs per assistant, often several at once: one llama.cpp thread each serves them best.
    threads = config.embed_threads(default=None if http else 1)
    with Memory.open(db, protocol="mcp-http" if http else "mcp-stdio", threads=threads) as memory:
        token = os.environ.get("SLM_AGENT_TOKEN")
        if token:
            memory.authenticate(token.strip())
        if not http:
            build_server(memory, agent=agent, lifecycle_timer=True).run(transport="stdio", show_banner=False)
            return
        from fastmcp.server.auth import StaticTokenVerifier

        token = load_or_create_token(config.data_dir())
        verifier = StaticTokenVerifier(tokens={token: {"client_id": "slm-http", "scopes": []}})
        print(
            f"slm MCP server on http://{host}:{port}/mcp — bearer token in {token_path(config.data_dir())}",
            file=sys.stderr,
            flush=True,
        )
        server = build_server(memory, agent=agent, auth=verifier, lifecycle_timer=True)
        server.run(transport="http", host=host, port=port, show_banner=False)
