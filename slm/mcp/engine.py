"""The one `Memory` of an MCP server, shared by its connections, and who each request acts as.

Every tool call runs the (blocking) engine on a worker thread under one lock: a server process may hold several
connections (HTTP), and one SQLite connection must not interleave two transactions. Separate processes (one per
stdio client) are kept apart by SQLite's own locking.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
from fastmcp import Context
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_access_token, get_context
from fastmcp.server.middleware import Middleware, MiddlewareContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from slm import validation
from slm.core.memory import Memory
from slm.errors import Forbidden, InvalidInput, NotFound, SlmError
from slm.mcp.http_auth import AGENT_PREFIX
from slm.mcp.identity import AgentIdentity, client_info_of, identify
from slm.mcp.replies import brief
from slm.mcp.roots import ClientRoots, Workspace

T = TypeVar("T")
log = logging.getLogger("slm.mcp")


def expected_level(err: SlmError) -> int:
    """How loudly to log an slm error: bad input and unknown ids are the caller's business (INFO), a refusal is worth
    a WARNING; only the rest (a store or model that cannot be used) is an ERROR. None needs a traceback."""
    if isinstance(err, InvalidInput | NotFound):
        return logging.INFO
    return logging.WARNING if isinstance(err, Forbidden) else logging.ERROR


class NoTracebackBelowError(logging.Filter):
    """fastmcp logs a failed resource read or prompt with its traceback, at the error's own level: an expected error
    (bad input, an unknown id), logged below ERROR, needs none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.exc_info = record.exc_text = None
        return True


NO_TRACEBACK_BELOW_ERROR = NoTracebackBelowError()


class Engine:
    """The one Memory of this server, called from worker threads one at a time."""

    def __init__(self, memory: Memory, agent_override: str | None, workspace: Path | None = None) -> None:
        self.memory = memory
        self.agent_override = agent_override
        self.workspace = workspace  # the folder the client started a stdio server in: its project's
        self.roots = ClientRoots()  # each session's workspace folder, as its client tells it (MCP roots)
        self._lock = threading.Lock()
        self._announced: set[tuple[str, str | None, str | None]] = set()
        self._instance = uuid.uuid4().hex  # this server process, for connections that last one request
        self._training: threading.Thread | None = None  # the training a recall started, while it runs
        self._training_started = threading.Lock()

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """`fn` on a worker thread, as this request's agent: first checked, so a token revoked by any process
        stops its agent at the next call, reads included."""
        bearer = _bearer()

        def locked() -> T:
            with self._lock, self._as(bearer):
                self.memory.authorise()
                return fn(*args, **kwargs)

        try:
            return await anyio.to_thread.run_sync(locked)
        except SlmError as err:
            raise ToolError(brief(str(_with_tool_hint(err))), log_level=expected_level(err)) from err

    def _as(self, bearer: Bearer | None):
        """Over HTTP each request acts as its bearer token's agent, or under a claimed name (shared token); over
        stdio the Memory keeps the agent its SLM_AGENT_TOKEN made it."""
        return nullcontext() if bearer is None else self.memory.acting_as(bearer.agent_id)

    async def folder(self, ctx: Context | None) -> Workspace:
        """The folder a write without a project goes to: the client's first root that is a folder here (`roots`),
        else the folder a stdio client started the server in, else none (an HTTP server's folder is not its
        clients'): the store's default project."""
        folder = await self.roots.folder(ctx)
        if folder is not None:
            return Workspace(folder, "roots")
        return Workspace(self.workspace, "workspace" if self.workspace is not None else "default")

    def project(self, given: str | None, agent: str | None = None, where: Workspace | None = None) -> str | None:
        """The project a write goes to: the one given, else the folder's (its repository's, bound on first use;
        `Memory.project_for`) — `where` (see `folder`), by default this server's workspace — else None, the store's
        default."""
        folder = where.folder if where is not None else self.workspace
        if given is not None or folder is None:
            return given
        return self.memory.project_for(folder, agent=agent)

    def working_in(self, where: Workspace) -> str | None:
        """The project the caller works in, for recall to learn and re-rank by (never a filter): the one a write
        without a project goes to from `where` (see `folder`); None when there is no folder, or nothing has been
        written from it yet (its project is not bound)."""
        return None if where.folder is None else self.memory.project_named_for(where.folder)

    def writes_to(self, where: Workspace) -> dict:
        """What `status` says of the project a write without one goes to: its name (None while nothing has been
        written from that folder: the first write binds it), the folder and where the folder came from."""
        if where.folder is None:
            return {"project": validation.DEFAULT_PROJECT, "source": where.source, "folder": None}
        named = self.memory.project_named_for(where.folder)
        return {"project": named, "source": where.source, "folder": str(where.folder)}

    def identity(self, ctx: Context | None) -> AgentIdentity:
        return identify(self.agent_override, client_info_of(ctx), self.verified_name())

    def session(self, ctx: Context | None, identity: AgentIdentity) -> str:
        """The session of the caller's connection, which its memories share unless they name their own.

        A handshake-era connection (what assistants speak today: one stdio connection per assistant session, or an
        HTTP client's `Mcp-Session-Id`) lasts the whole conversation: its MCP session id. A 2026-07-28 connection
        lasts one request, so there the session is this server process's, per agent (a stdio server serves one
        assistant). Stored hashed: an HTTP session id routes requests, and is not written to disk.
        """
        request = ctx.request_context if ctx is not None else None
        if request is not None and request.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            key = f"connection:{ctx.session_id}"
        else:
            key = f"process:{self._instance}:{identity.name}"
        return "mcp-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]

    def verified_name(self) -> str | None:
        """The name of the authenticated agent this request comes from, if any."""
        bearer = _bearer()
        if bearer is not None:
            return bearer.agent_name
        verified = self.memory.verified_agent
        return verified.name if verified is not None else None

    async def announce(self, identity: AgentIdentity) -> None:
        """One `agent.connected` event per agent and client seen by this process.

        Best effort: a failure to log it is reported on stderr but never fails the client's request.
        """
        key = (identity.name, identity.client, identity.client_version)
        if key in self._announced:
            return
        self._announced.add(key)
        payload = {k: v for k, v in identity.as_dict().items() if k != "name"}
        await self.best_effort("log agent.connected", self.memory.agent_connected, identity.name, payload)

    async def log_recall(
        self,
        query: str,
        k: int,
        hits,
        identity: AgentIdentity,
        session: str | None,
        project: str | None,
        workspace: str | None,
    ) -> None:
        """Keep the recall and its context in behavior.db (what recall learns from), then train in the background
        if that is due; best effort, as the answer is already there."""
        await self.best_effort(
            "log a recall", self.memory.record_recall, query, k, hits, agent=identity.name, session=session,
            project=project, workspace=workspace,
        )  # fmt: skip
        self.learn_soon()

    async def log_use(self, kind: str, ids: list[int], identity: AgentIdentity, by: int | None = None) -> None:
        """A use of what a recent recall showed (opened, updated); best effort, as the answer is already there."""
        await self.best_effort("log a use", self.memory.record_use, kind, ids, agent=identity.name, by=by)

    async def log_written(self, memory_id: int, identity: AgentIdentity) -> None:
        """The memories a recent recall showed that a new one cites; best effort, as the write is committed."""
        await self.best_effort("log a cite", self.memory.record_written, memory_id, agent=identity.name)

    async def after_write(self) -> None:
        """A lifecycle step once the last is an hour old; best effort, as the write is already committed."""
        await self.best_effort("run a lifecycle step", self.memory.step_lifecycle_if_due)

    async def best_effort(self, what: str, fn: Callable, *args, **kwargs) -> None:
        """Work a request does besides its answer: a failure is logged (an expected one without a traceback) and
        never fails the client's request."""
        try:
            await self.run(fn, *args, **kwargs)
        except ToolError as err:
            log.log(err.log_level, "could not %s: %s", what, err)
        except Exception:
            log.exception("could not %s", what)

    def learn_soon(self) -> None:
        """Train recall on the behaviour logged, if enough new recalls came (`Memory.learning`), on a thread of its
        own, so that the recall that made it due is answered first. Its requests wait for the lock while it trains
        (at most about a second); one training at a time: recalls logged meanwhile are for the next."""
        with self._training_started:
            if self._training is not None and self._training.is_alive():
                return
            self._training = threading.Thread(target=self._learn, name="slm-learn", daemon=True)
            self._training.start()

    def _learn(self) -> None:
        try:
            with self._lock:
                self.memory.learning.update()
        except Exception as err:  # training is never worth failing a request, nor the server
            level = expected_level(err) if isinstance(err, SlmError) else logging.ERROR
            log.log(level, "could not train recall on the behaviour logged: %s", err, exc_info=level >= logging.ERROR)

    def settle(self) -> None:
        """Wait for a training under way, so that the store is not closed under it (the server's lifespan ends)."""
        with self._training_started:
            training = self._training
        if training is not None:
            training.join()

    def start_lifecycle_timer(self, seconds: float) -> threading.Event:
        """A daemon thread that checks every `seconds` whether a lifecycle step is due, and training (for servers
        with no writes or recalls for a while, whose memories still age). Set the returned event to stop it."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(seconds):
                try:
                    with self._lock:
                        self.memory.step_lifecycle_if_due()
                except Exception:
                    log.exception("could not run a lifecycle step")
                self.learn_soon()

        threading.Thread(target=tick, name="slm-lifecycle", daemon=True).start()
        return stop


@dataclass(frozen=True)
class Bearer:
    """What an HTTP request's bearer token proved: an authenticated agent, or (both None) only the shared token."""

    agent_id: int | None
    agent_name: str | None


def _bearer() -> Bearer | None:
    """The request's bearer token, checked by `http_auth.BearerTokens`; None without one (stdio, in-process)."""
    token = get_access_token()
    if token is None:
        return None
    if token.client_id.startswith(AGENT_PREFIX):
        return Bearer(token.claims["agent_id"], token.claims["agent"])
    return Bearer(None, None)


class AnnounceAgents(Middleware):
    """Log `agent.connected` at the initialize handshake, or at the first request of clients that skip it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def on_initialize(self, context: MiddlewareContext, call_next):
        result = await call_next(context)
        client_info = getattr(context.message.params, "client_info", None)
        await self.engine.announce(identify(self.engine.agent_override, client_info, self.engine.verified_name()))
        return result

    async def on_request(self, context: MiddlewareContext, call_next):
        ctx = context.fastmcp_context
        if context.method != "initialize" and ctx is not None and ctx.request_context is not None:
            await self.engine.announce(self.engine.identity(get_context()))
        return await call_next(context)


WHERE_TO_LOOK = {  # the tools that list what a NotFound did not find
    "memory": "recall or list_recent show the ids you can use",
    "contradiction": "the contradictions tool lists them",
    "cluster": "the clusters tool lists them",
}


def _with_tool_hint(err: SlmError) -> SlmError:
    """An unknown id gets this face's next step: the tools that find ids (the engine's hint names none)."""
    if isinstance(err, NotFound) and err.what in WHERE_TO_LOOK:
        return NotFound(err.message, WHERE_TO_LOOK[err.what], what=err.what)
    return err
