"""Run the MCP server over stdio (one process per client) or streamable HTTP (loopback, bearer token)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio

from slm import config, validation
from slm.core.memory import Memory
from slm.errors import InvalidInput
from slm.mcp.http_token import shared_token, token_path

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
    if not name:
        return None
    return validation.refuse_owner_name(validation.clean_name(name, "SLM_AGENT", ""), "SLM_AGENT")


def workspace() -> Path | None:
    """The folder a stdio server was started in: clients start it in the workspace, whose project its writes go
    to (in the home folder or `/`, `Memory.project_for` names none: the store's default). None when it is gone."""
    try:
        return Path.cwd()
    except OSError:
        return None


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
    allow_origins: tuple[str, ...] = (),
    log_file: Path | None = None,
) -> None:
    token = (os.environ.get("SLM_AGENT_TOKEN") or "").strip()
    if http:
        check_bind(host, allow_remote)
        if token:
            raise InvalidInput(
                "SLM_AGENT_TOKEN makes every client of a server that one agent: it is for stdio servers",
                "give each HTTP client its own agent token (`slm agent add NAME`) to send as its bearer token",
            )
    agent = agent_override()
    for key, value in QUIET_FASTMCP.items():
        os.environ.setdefault(key, value)
    send_logs_to(log_file)
    from slm.mcp.server import build_server  # after QUIET_FASTMCP: fastmcp reads its settings when imported

    # One stdio server runs per assistant, often several at once: one llama.cpp thread each serves them best.
    threads = config.embed_threads(default=None if http else 1)
    opened = Memory.open(db, protocol="mcp-http" if http else "mcp-stdio", threads=threads, progress=UpgradeLog())
    with opened as memory:
        if not http:
            from slm.mcp.stdio import serve_stdio

            if token:
                memory.authenticate(token)
            server = build_server(memory, agent=agent, lifecycle_timer=True, workspace=workspace())
            anyio.run(serve_stdio, server)
            return
        from starlette.middleware import Middleware

        from slm.mcp.http_auth import BearerTokens, OriginGuard, own_origins

        with Memory.open(memory.location, protocol="mcp-http") as tokens:  # the verifier's own connection
            verifier = BearerTokens(tokens, config.data_dir())
            server = build_server(memory, agent=agent, auth=verifier, lifecycle_timer=True)
            print(f"slm MCP server on http://{host}:{port}/mcp — {_who_gets_in()}", file=sys.stderr, flush=True)
            server.run(
                transport="http",
                host=host,
                port=port,
                show_banner=False,
                middleware=[Middleware(OriginGuard, allowed=own_origins(host, port, allow_origins))],
                host_origin_protection=True,  # on loopback, a Host that is not a loopback name: 421 (DNS rebinding)
                allowed_hosts=None if host in LOOPBACK else ["*"],
            )


class UpgradeLog:
    """Lines on stderr (the client's log, or --log-file; stdout carries the protocol) while an older store is
    upgraded as the server opens it: each stage as it starts, every tenth of it, and when it ends."""

    def __init__(self) -> None:
        self._began: dict[str, float] = {}
        self._tenths: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if stage in self._tenths and tenth <= self._tenths[stage]:
            return
        self._tenths[stage] = tenth
        now = time.perf_counter()
        began = self._began.setdefault(stage, now)
        said = f"done in {now - began:.1f} s" if done >= total else f"{done:,}/{total:,}"
        print(f"slm: upgrading the store: {stage} {said}", file=sys.stderr, flush=True)


def _who_gets_in() -> str:
    shared = token_path(config.data_dir())
    if shared_token(config.data_dir()) is None:
        return "clients send an agent token (`slm agent add NAME`); `slm mcp token` would make a shared one"
    return f"clients send an agent token (`slm agent add NAME`) or the shared token in {shared}"
