"""Where a write that names no project goes: the client's workspace folder, asked through MCP roots.

A client that declares the `roots` capability answers `roots/list` with the folders it has open (`file://` URIs).
Its first one that is a folder on this machine names the project (`Memory.project_for`), before a stdio server's
own folder: roots are what the client says it works in, while the folder it started the server in may be the home
folder. An HTTP server has no folder of its clients: without roots its writes go to the store's default project.
Roots are the client's claim: a remote client's folders are on its machine, so only a folder that exists here
counts. Asking is bounded (`ROOTS_WAIT_S`) and never fails a write: an error, a malformed list, no answer in time or
no root here leaves the project as it was before roots. The answer is kept per MCP session until the client sends
`notifications/roots/list_changed`; a failure is asked again after `RETRY_AFTER_S`. Only handshake-era connections
(today's clients) are asked: the 2026-07-28 protocol deprecates roots, has no sessions to keep an answer in, and
could ask only by making the client repeat each `remember`, which fails whole if the client's roots handler fails.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import anyio
import mcp_types as types
from fastmcp import Context
from fastmcp.server.middleware import Middleware, MiddlewareContext
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

ROOTS_WAIT_S = 1.0  # how long a tool call waits for the client's roots before writing as it would without them
RETRY_AFTER_S = 300.0  # a client that did not answer is asked again after this long, not at every write
MAX_SESSIONS = 1024  # answers kept, newest used first: an HTTP server sees sessions come and go
CHANGED = "notifications/roots/list_changed"

log = logging.getLogger("slm.mcp")


@dataclass(frozen=True)
class Workspace:
    """The folder whose project a write without one goes to, and where that folder came from: `roots` (the
    client's), `workspace` (the folder a stdio client started the server in) or `default` (none: the store's
    default project)."""

    folder: Path | None
    source: str


@dataclass(frozen=True)
class _Known:
    folder: Path | None
    until: float  # time.monotonic() after which to ask again; inf for an answer


def local_folder(uri: object) -> Path | None:
    """The folder a root's URI names on this machine: a `file://` URI of this host (no host, or localhost) whose
    path is an existing directory; None for anything else (another scheme, another host, a file, nothing there)."""
    try:
        parts = urlsplit(str(uri))
    except ValueError:
        return None
    if parts.scheme.lower() != "file" or parts.netloc.lower() not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    try:
        return path if path.is_absolute() and "\x00" not in str(path) and path.is_dir() else None
    except OSError:  # too long a name, a folder we may not look into
        return None


def first_local_folder(roots: list[types.Root]) -> Path | None:
    """The first root that is a folder on this machine (a client lists its main workspace folder first)."""
    for root in roots:
        folder = local_folder(root.uri)
        if folder is not None:
            return folder
    return None


def declares_roots(ctx: Context | None) -> bool:
    """Whether this request comes on a handshake-era connection from a client that declared `roots`."""
    request = ctx.request_context if ctx is not None else None
    if request is None or request.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return False
    capabilities = request.session.client_capabilities
    return capabilities is not None and capabilities.roots is not None


class ClientRoots:
    """Each MCP session's answer to `roots/list`, asked once and kept until the client says its roots changed."""

    def __init__(self, wait_s: float = ROOTS_WAIT_S, retry_after_s: float = RETRY_AFTER_S) -> None:
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self._known: OrderedDict[str, _Known] = OrderedDict()

    async def folder(self, ctx: Context | None) -> Path | None:
        """The client's first root that is a folder here; None when it declares no roots or gives none usable."""
        if not declares_roots(ctx):
            return None
        session = ctx.session_id
        known = self._known.get(session)
        if known is not None and time.monotonic() < known.until:
            self._known.move_to_end(session)
            return known.folder
        known = await self._ask(ctx)
        self._known[session] = known
        self._known.move_to_end(session)
        while len(self._known) > MAX_SESSIONS:
            self._known.popitem(last=False)
        return known.folder

    def changed(self, session: str) -> None:
        """The client's roots changed: ask again at its next write."""
        self._known.pop(session, None)

    async def _ask(self, ctx: Context) -> _Known:
        """`roots/list` on the tool call's own stream (over HTTP, the response to its POST: a client need not hold
        a GET stream open), for at most `wait_s`."""
        request = ctx.request_context
        scoped = ServerMessageMetadata(related_request_id=request.request_id)
        answer = None
        with anyio.move_on_after(self.wait_s + 0.5):  # the SDK's own timeout first; this one if that does not fire
            try:
                answer = await request.session.send_request(
                    types.ListRootsRequest(), types.ListRootsResult, self.wait_s, scoped
                )
            except Exception as err:  # an error answer, a malformed list, a timeout, no way back to the client
                log.info("the client's roots are not known (%s): writes go where they would without them", err)
        if answer is None:
            return _Known(None, time.monotonic() + self.retry_after_s)
        return _Known(first_local_folder(answer.roots), float("inf"))


class RootsChanged(Middleware):
    """`notifications/roots/list_changed` forgets the session's roots, so its next write asks again."""

    def __init__(self, roots: ClientRoots) -> None:
        self.roots = roots

    async def on_notification(self, context: MiddlewareContext, call_next):
        ctx = context.fastmcp_context
        if context.method == CHANGED and ctx is not None:
            with suppress(RuntimeError):  # no session to speak of
                self.roots.changed(ctx.session_id)
        return await call_next(context)
