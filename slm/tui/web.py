"""`slm tui --web`: the same app in a browser. textual-serve starts one `slm tui --db PATH` process per browser tab
and relays its screen over a websocket; `Guard` stands before every request (docs/SECURITY.md).

The launcher (`slm/cli/main.py`) checks the address and hands in the shared token as a function, read on every
request, so `slm mcp token --rotate` or `--remove` takes effect at once; this module reaches no other face.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from textual_serve.server import Server

from slm.errors import InvalidInput, SlmError

TokenSource = Callable[[], str | None]  # the shared token as it is now; None when there is none
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE = "slm-tui"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})
SHUTDOWN_S = 5.0  # how long the open tabs' sessions get to end (their app processes quit) when the server stops
log = logging.getLogger("slm.tui.web")


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cookie_for(token: str) -> str:
    """The cookie a browser keeps: derived from the token, never the token itself, because cookies are not told
    apart by port (every server on 127.0.0.1 is sent it) and the token also opens `slm mcp --http`."""
    return hmac.new(token.encode(), b"slm tui --web", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _refuse(status: int, text: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="slm tui"'} if status == 401 else {}
    return web.Response(status=status, text=text + "\n", headers=headers)


class Guard:
    """aiohttp middleware before every route, the websocket included. On loopback a Host that is not a loopback
    name gets 421 (DNS rebinding); an `Origin` other than the page's own gets 403 (another site, or another
    server on this machine); then the shared token, compared in constant time: `Authorization: Bearer`, the
    cookie, or `?token=` once, answered with the cookie (HttpOnly, SameSite=Strict) and a redirect to the URL
    without it. Agent tokens do not get in: the app acts as the user."""

    __middleware_version__ = 1  # a new-style aiohttp middleware

    def __init__(self, token: TokenSource, host: str, port: int) -> None:
        self.token = token
        names = ("127.0.0.1", "localhost", "[::1]")
        hosts = {f"{name}:{port}" for name in names} | (set(names) if port == 80 else set())
        self.hosts = frozenset(hosts) if host in LOOPBACK else None

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.host.lower()
        if self.hosts is not None and host not in self.hosts:
            return _refuse(421, "Misdirected Request: this server answers to 127.0.0.1 and localhost only")
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() not in (f"http://{host}", f"https://{host}"):
            return _refuse(403, "Forbidden Origin")
        token = self._current_token()
        if token is None:
            return _refuse(401, "there is no shared token now: `slm mcp token` makes one; open this URL with ?token=IT")
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        given = request.query.get("token")
        if given is not None and not websocket:
            if not _same(given, token):
                return _refuse(401, "wrong token: open the URL `slm tui --web` printed")
            return self._welcome(request, token)
        if not self._carries(request, token):
            return _refuse(401, "open the URL `slm tui --web` printed (it holds the token), or send it as a bearer")
        response = await handler(request)
        if not response.prepared:  # the websocket and downloads were answered already
            response.headers.update(_page_headers(host))
        return response

    def _current_token(self) -> str | None:
        try:
            return self.token()
        except SlmError as err:  # a token file others can read is no secret: refused, and said here
            log.warning("%s (%s)", err.message, err.hint)
            return None

    @staticmethod
    def _carries(request: web.Request, token: str) -> bool:
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(bearer.strip(), token):
            return True
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and _same(cookie, cookie_for(token))

    @staticmethod
    def _welcome(request: web.Request, token: str) -> web.Response:
        """The token came in the URL: keep it as a cookie and go to the same URL without it, so it leaves the
        address bar (and what a page could read of it)."""
        kept = [(name, value) for name, value in request.query.items() if name != "token"]
        headers = {"Location": str(request.rel_url.with_query(kept)), "Cache-Control": "no-store"}
        response = web.Response(status=303, text="See Other\n", headers=headers | {"Referrer-Policy": "no-referrer"})
        response.set_cookie(COOKIE, cookie_for(token), httponly=True, samesite="Strict", path="/")
        return response


def _page_headers(host: str) -> dict[str, str]:
    """The page may talk to this server only (textual-serve's page would fetch a font from Google; slm makes no
    network calls) and may not be framed by another site."""
    policy = (
        f"default-src 'self'; connect-src 'self' ws://{host}; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def app_command(db: Path | None) -> str:
    """The shell command textual-serve runs per browser tab: this Python, this slm, the same store (a PostgreSQL
    store comes through SLM_DB, which `serve_web` sets: a URL may hold a password, which a command line would show
    to every user of the machine)."""
    store = [] if db is None else ["--db", str(db)]
    return shlex.join([sys.executable, "-c", "from slm.cli.main import main; main()", "tui", *store])


class WebServer(Server):
    """textual-serve's server with the guard in front, no banner, and the app processes stopped with it."""

    def __init__(self, db: Path | str, *, host: str, port: int, token: TokenSource, shown_db: str = "") -> None:
        shown = f"http://{url_host(socket.gethostname() if host in WILDCARD else host)}:{port}"
        on_server = isinstance(db, str)
        super().__init__(app_command(None if on_server else db), host=host, port=port, title="slm", public_url=shown)
        self.db = shown_db or db  # a URL without its password
        self.shown_url = shown
        self.guard = Guard(token, host, port)
        self._sessions: set[asyncio.Task[Any]] = set()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; `serve_web` says what to open instead."""

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page names its websocket and files by the host it was opened by, which holds the cookie (not the
        URL printed at the start); textual-serve reads `public_url` before its first await (the template escapes)."""
        self.public_url = f"http://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._sessions.discard(task)

    async def on_shutdown(self, app: web.Application) -> None:
        """Each open tab's session is cancelled: textual-serve then tells its app process to quit, and waits."""
        sessions = set(self._sessions)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions, timeout=SHUTDOWN_S)

    def url_with_token(self, token: str) -> str:
        return f"{self.shown_url}/?{urlencode({'token': token})}"


def serve_web(db: Path | str, *, host: str, port: int, token: TokenSource, shown_db: str = "") -> None:
    """Serve `slm tui` on the store `db` (a file, or a PostgreSQL URL shown as `shown_db`) to browsers until ctrl+c
    or SIGTERM; print the URL to open."""
    if isinstance(db, str):
        os.environ["SLM_DB"] = db  # for the app processes (app_command)
    asyncio.run(_serve(WebServer(db, host=host, port=port, token=token, shown_db=shown_db), token))


async def _serve(server: WebServer, token: TokenSource) -> None:
    runner = web.AppRunner(await server._make_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, server.host, server.port).start()
        except OSError as err:
            raise _bind_error(err, server.host, server.port) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        where = "this machine only" if server.host in LOOPBACK else f"reachable from other machines on {server.host}"
        print(f"slm tui --web: {server.db} on {server.shown_url} ({where}); ctrl+c stops it", flush=True)
        print("open this URL in your browser (it holds your token: keep it to yourself):", flush=True)
        print(f"  {server.url_with_token(token() or '')}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def _bind_error(err: OSError, host: str, port: int) -> InvalidInput:
    if err.errno == errno.EADDRINUSE:
        return InvalidInput(f"port {port} on {host} is in use", "choose another with --port")
    if err.errno == errno.EACCES:
        return InvalidInput(f"not allowed to serve on port {port}", "choose a port from 1024 up with --port")
    return InvalidInput(f"cannot serve on {host}:{port}: {err.strerror or err}", "check --host and --port")
