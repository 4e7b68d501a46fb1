"""Who is calling. A stdio server started with SLM_AGENT_TOKEN, or an HTTP client whose bearer token is an agent
token, is that authenticated agent (`verified`); otherwise each MCP connection is an agent named by SLM_AGENT, else
the client's clientInfo, else unknown — names as claimed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from slm import validation

UNKNOWN = validation.UNKNOWN_AGENT


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


def _printable(name: object) -> str | None:
    """A client's self-description made safe to store and show: NFC, invisible and control characters dropped."""
    if not isinstance(name, str):
        return None
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", name) if validation.visible(ch)).strip()
    return cleaned[: validation.MAX_NAME_CHARS] or None


def identify(override: str | None, client_info, verified: str | None = None) -> AgentIdentity:
    """`client_info` is the MCP Implementation the client sent (or None); `verified` the name of the authenticated
    agent its token proved. A client calling itself by the owner's name ("user") is not believed: it is `unknown`."""
    client = _printable(getattr(client_info, "name", None))
    version = _printable(getattr(client_info, "version", None))
    if verified is not None:
        return AgentIdentity(verified, "token", client, version, verified=True)
    if override:
        return AgentIdentity(override, "SLM_AGENT", client, version)
    if client and not validation.is_owner_name(client):
        return AgentIdentity(client, "clientInfo", client, version)
    return AgentIdentity(UNKNOWN, "default", client, version)


def client_info_of(ctx) -> object | None:
    """The clientInfo of the request's session: from the initialize handshake, or (2026 protocol) the request."""
    if ctx is None or ctx.request_context is None:
        return None
    params = ctx.session.client_params
    return params.client_info if params is not None else None
