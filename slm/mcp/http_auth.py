"""Who may reach `slm mcp --http`: the bearer token each request sends, and the browser origin it comes from."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from fastmcp.server.auth import AccessToken, TokenVerifier
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from slm.core.memory import Memory
from slm.errors import SlmError, StorageError
from slm.mcp.http_token import shared_token

SHARED = "shared"  # the client id of a client that came in with the shared token
AGENT_PREFIX = "agent:"
log = logging.getLogger("slm.mcp")


class BearerTokens(TokenVerifier):
    """An agent token makes the request that authenticated agent (looked up on every request, so a revoked one is
    refused at once); the shared token, while the user keeps it, lets a client in under its claimed name."""

    def __init__(self, store: Memory, data_dir: Path) -> None:
        """`store`: a Memory of its own (its connection serves this verifier's thread only)."""
        super().__init__()
        self.store = store
        self.data_dir = data_dir

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            agent = self.store.agent_of_token(token)
        except SlmError:  # not an agent token, an unknown one, or a revoked one
            agent = None
        if agent is not None:
            claims = {"agent_id": agent.id, "agent": agent.name}
            return AccessToken(token=token, client_id=f"{AGENT_PREFIX}{agent.id}", scopes=[], claims=claims)
        try:
            shared = shared_token(self.data_dir)
        except StorageError as err:  # a token file others can read is no secret: refused, and said in the log
            log.warning("%s (%s)", err.message, err.hint)
            return None
        if shared is not None and hmac.compare_digest(token.encode(), shared.encode()):
            return AccessToken(token=token, client_id=SHARED, scopes=[])
        return None


class OriginGuard:
    """A request from a browser page (it sends `Origin`) gets 403 unless the page is the server's own or one the
    user trusts: otherwise any page the user opens, on any site or another local port, could drive the server."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin is not None and origin.rstrip("/").lower() not in self.allowed:
                await Response("Forbidden Origin", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def own_origins(host: str, port: int, trusted: tuple[str, ...]) -> frozenset[str]:
    """The origins of pages served by this server itself, and those the user trusts (`--allow-origin`)."""
    hosts = {"127.0.0.1", "localhost", "[::1]"} if host in ("127.0.0.1", "localhost", "::1") else {host}
    own = {f"{scheme}://{name}:{port}" for scheme in ("http", "https") for name in hosts}
    return frozenset(own | {origin.rstrip("/").lower() for origin in trusted})
