"""Who an HTTP client is: the bearer token it sends, checked on every request.

An agent token (`slm agent add NAME`) makes the client that authenticated agent, whatever it calls itself; a revoked
one is refused at its next request. The shared token (`slm mcp token`), while the user keeps it, lets a client in
under the name it claims. Anything else gets 401.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from fastmcp.server.auth import AccessToken, TokenVerifier

from slm.app.memory import Memory
from slm.errors import SlmError
from slm.mcp.http_token import shared_token

SHARED = "shared"  # the client id of a client that came in with the shared token
AGENT_PREFIX = "agent:"


class BearerTokens(TokenVerifier):
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
        shared = shared_token(self.data_dir)
        if shared is not None and hmac.compare_digest(token.encode(), shared.encode()):
            return AccessToken(token=token, client_id=SHARED, scopes=[])
        return None
