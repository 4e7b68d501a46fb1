"""Who is calling. A server started with SLM_AGENT_TOKEN is that authenticated agent (`verified`); otherwise each
MCP connection is an agent named by SLM_AGENT, else the client's clientInfo, else unknown — names as claimed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slm.app import validation

UNKNOWN = "unknown"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AgentIdentity:
    name: str
    source: str  # "token", "SLM_AGENT", "clientInfo" or "default"
    client: str | None = None  # the MCP client's own name and version, when it sent them
    client_version: str | None = None
    verified: bool = False  # True only for a token's agent: any other name is as claimed

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "client": self.client,
            "client_version": self.client_version,
            "verified": self.verified,
        }


def _printable(name: str | None) -> str | None:
    if not name:
        return None
    cleaned = _CONTROL.sub("", name).strip()[: validation.MAX_NAME_CHARS]
    return cleaned or None


def identify(override: str | None, client_info, verified=None) -> AgentIdentity:
    """`client_info` is the MCP Implementation the client sent (or None); `verified` the authenticated agent."""
    client = _printable(getattr(client_info, "name", None))
    version = _printable(getattr(client_info, "version", None))
    if verified is not None:
        return AgentIdentity(verified.name, "token", client, version, verified=True)
    if override:
        return AgentIdentity(override, "SLM_AGENT", client, version)
    if client:
        return AgentIdentity(client, "clientInfo", client, version)
    return AgentIdentity(UNKNOWN, "default", None, version)


def client_info_of(ctx) -> object | None:
    """The clientInfo of the request's session: from the initialize handshake, or (2026 protocol) the request."""
    if ctx is None or ctx.request_context is None:
        return None
    params = ctx.session.client_params
    return params.client_info if params is not None else None
