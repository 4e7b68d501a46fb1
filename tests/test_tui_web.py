"""`slm tui --web`: the real server process on a real store, its token guard, and the app in a real headless
Chromium (Debian's `chromium`, driven by Playwright with `executable_path`; `make test` installs it)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue

import psutil
import pytest

from slm import Memory

SLM = str(Path(sys.executable).with_name("slm"))
TARGET = "The billing service retries Stripe webhooks three times with exponential backoff."
OTHERS = [
    "Alice prefers pytest fixtures over unittest setUp methods.",
    "Deploys to production need a green CI run and a second reviewer.",
    "The staging database is refreshed from a masked production snapshot every Sunday night.",
    "Frontend builds use pnpm; npm install breaks the lockfile.",
]
INSTALL = "sudo apt-get install -y --no-install-recommends chromium  (make test does it when it may)"


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    token: str  # in the URL printed to open
    db: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("SLM_AGENT", "SLM_AGENT_TOKEN", "SLM_THREADS")}


def _start(db: Path, *extra: str) -> Served:
    """`slm tui --web` in a process group of its own (so its app processes can be ended with it), once it printed
    the URL to open."""
    port = _free_port()
    command = [SLM, "tui", "--web", "--port", str(port), "--db", str(db), *extra]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), start_new_session=True
    )
    lines: Queue[str] = Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    said, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            said.append(lines.get(timeout=0.5))
        except Empty:
            if process.poll() is not None:
                break
            continue
        found = re.search(r"(http://\S+/\?token=(\S+))", said[-1])
        if found:
            assert "open this URL" in "".join(said)
            served = Served(process, port, found.group(2), db)
            assert found.group(1) == served.url
            return served
    _stop(process)
    raise AssertionError("slm tui --web printed no URL:\n" + "".join(said))


def _stop(process: subprocess.Popen) -> None:
    """The server and every process of its group, whatever state the test left them in."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # app processes still around after their server


@pytest.fixture(scope="module")
def store(tmp_path_factory, slm_home) -> Path:
    db = tmp_path_factory.mktemp("web") / "memory.db"
    with Memory.open(db) as mem:
        mem.remember(TARGET, agent="claude-code", project="shop")
        for note in OTHERS:  # newer: the newest list starts with them, so only a search brings TARGET first
            mem.remember(note, agent="claude-code", project="shop")
    return db


@pytest.fixture(scope="module")
def served(store):
    running = _start(store)
    try:
        yield running
    finally:
        _stop(running.process)


def _get(port: int, path: str = "/", **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read() if response.status != 101 else None
    connection.close()
    return response


def _websocket(port: int, **headers: str) -> int:
    """The status of a websocket upgrade to /ws (101: the app was started for it, and ends as this closes)."""
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key}
    return _get(port, "/ws?width=80&height=24", **upgrade, **headers).status


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _mcp_token(*flags: str) -> str:
    return subprocess.run([SLM, "mcp", "token", *flags], capture_output=True, text=True, env=_env(), check=True).stdout


def test_the_url_holds_the_shared_token_of_slm_mcp_token(served):
    assert served.token == _mcp_token().strip()


def test_a_rotated_or_removed_token_keeps_new_connections_out(served):
    old = served.token
    served.token = _mcp_token("--rotate").strip()
    assert _get(served.port, "/", **_bearer(old)).status == 401
    assert _get(served.port, "/", **_bearer(served.token)).status == 200
    _mcp_token("--remove")
    assert _get(served.port, "/", **_bearer(served.token)).status == 401
    assert _get(served.port, f"/?token={served.token}").status == 401
    served.token = _mcp_token().strip()  # a new one, for the tests after this one
    assert _get(served.port, "/", **_bearer(served.token)).status == 200


def _one_off(token: str) -> str:
    """The token with its first character changed (to another: a token can start with any of them)."""
    return ("y" if token[0] == "x" else "x") + token[1:]


def test_nothing_opens_without_the_token(served, store):
    with Memory.open(store) as mem:
        _, agent_token = mem.add_agent("web-visitor")
    for path in ("/", "/static/js/textual.js", "/download/anything"):
        assert _get(served.port, path).status == 401
        assert _get(served.port, path, **_bearer(_one_off(served.token))).status == 401
        assert _get(served.port, path, **_bearer(agent_token)).status == 401  # the app acts as the user
        assert _get(served.port, path, Cookie=f"slm-tui={served.token}").status == 401  # the cookie is not the token
    assert _get(served.port, "/?token=wrong").status == 401
    assert _websocket(served.port) == 401
    assert _websocket(served.port, **_bearer("wrong")) == 401
    assert _get(served.port, "/ws?token=" + served.token, Upgrade="websocket").status == 401  # no token in ws URLs
    assert _get(served.port, "/", **_bearer(served.token)).status == 200
    assert _websocket(served.port, **_bearer(served.token)) == 101


def test_a_token_in_the_url_becomes_a_private_cookie_and_leaves_the_url(served):
    answer = _get(served.port, f"/?fontsize=14&token={served.token}")
    assert answer.status == 303 and answer.getheader("Location") == "/?fontsize=14"
    cookie = answer.getheader("Set-Cookie")
    name_value = cookie.split(";")[0]
    assert name_value.startswith("slm-tui=") and served.token not in cookie
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    page = _get(served.port, "/?fontsize=14", Cookie=name_value)
    assert page.status == 200
    policy = page.getheader("Content-Security-Policy")
    assert "frame-ancestors 'none'" in policy and f"connect-src 'self' ws://127.0.0.1:{served.port}" in policy
    assert _websocket(served.port, Cookie=name_value) == 101


def test_foreign_origins_and_rebound_host_names_are_refused(served):
    token = _bearer(served.token)
    assert _websocket(served.port, Origin="https://evil.example", **token) == 403
    assert _websocket(served.port, Origin=f"http://127.0.0.1:{served.port + 1}", **token) == 403  # another local port
    assert _websocket(served.port, Origin="null", **token) == 403
    assert _get(served.port, "/", Origin="https://evil.example", **token).status == 403
    assert _get(served.port, "/", Host=f"evil.example:{served.port}", **token).status == 421  # DNS rebinding
    assert _websocket(served.port, Origin=f"http://127.0.0.1:{served.port}", **token) == 101
    assert (
        _websocket(served.port, Origin=f"http://localhost:{served.port}", Host=f"localhost:{served.port}", **token)
        == 101
    )


def test_other_addresses_a_bad_port_and_a_port_in_use_are_clear_errors(store):
    refused = subprocess.run(
        [SLM, "tui", "--web", "--host", "0.0.0.0", "--db", str(store)], capture_output=True, text=True, env=_env()
    )
    assert refused.returncode == 2 and "refusing to serve memories on 0.0.0.0" in refused.stderr
    assert "--allow-remote" in refused.stderr and "Traceback" not in refused.stderr + refused.stdout
    bad = subprocess.run([SLM, "tui", "--web", "--port", "70000", "--db", str(store)], capture_output=True, text=True)
    assert bad.returncode == 2 and "70000 is not in the range" in bad.stderr and "Traceback" not in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run(
            [SLM, "tui", "--web", "--port", port, "--db", str(store)], capture_output=True, text=True, env=_env()
        )
    assert busy.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in busy.stderr
    assert "Traceback" not in busy.stderr + busy.stdout
    alone = subprocess.run([SLM, "tui", "--port", port, "--db", str(store)], capture_output=True, text=True)
    assert alone.returncode == 2 and "--port: for --web only" in alone.stderr


def test_stopping_the_server_ends_the_app_processes_it_started(store):
    running = _start(store)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        connection.request("GET", "/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                   "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
                                                   **_bearer(running.token)})  # fmt: skip
        assert connection.getresponse().status == 101  # and the app process runs while it stays open
        server = psutil.Process(running.process.pid)
        deadline = time.monotonic() + 30
        while not server.children(recursive=True) and time.monotonic() < deadline:
            time.sleep(0.1)
        children = server.children(recursive=True)
        assert children, "no app process was started for the websocket"
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=20) == 0
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"app processes outlived their server: {alive}"
        connection.close()
    finally:
        _stop(running.process)


# -- the app in a real browser ------------------------------------------------------------------------------------
CATCH_TERMINAL = """
// textual-serve's page keeps its xterm.js Terminal to itself and draws it on a canvas (WebGL); this catches the
// Terminal as the page stores it (`this.terminal = new Terminal(…)`), so the test can read xterm's own buffer.
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.buffer.active) window.slmTerminal = value;
  },
});
"""
READ_SCREEN = """() => {
  const terminal = window.slmTerminal;
  if (!terminal) return "";
  const buffer = terminal.buffer.active, lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""
FIRST_ROW = r"^ *1 +\d{4}-\d\d-\d\d +shop +claude-code +\d\.\d\d +\w+ +(.*)$"  # the results table's first row
# the header says which list the table holds: the whole store, newest first, or a search's results
NEWEST_FIRST_ROW = re.compile(r"memories, newest(?s:.*)" + FIRST_ROW, re.M)
SEARCH_FIRST_ROW = re.compile(r"for “webhook retries”(?s:.*)" + FIRST_ROW, re.M)


def _screen_until(page, pattern: re.Pattern, timeout: float = 60) -> tuple[re.Match | None, str]:
    deadline, screen = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        screen = page.evaluate(READ_SCREEN)
        found = pattern.search(screen)
        if found:
            return found, screen
        time.sleep(0.25)
    return None, screen


def test_a_search_in_chromium_shows_the_stored_memory(served):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip(f"no chromium on this machine for the browser test: {INSTALL}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.add_init_script(CATCH_TERMINAL)
            page.goto(served.url)
            assert page.url == f"http://127.0.0.1:{served.port}/"  # the token left the address bar
            assert [c["httpOnly"] for c in page.context.cookies() if c["name"] == "slm-tui"] == [True]
            page.focus(".xterm-helper-textarea")  # the keyboard goes to the terminal
            newest, screen = _screen_until(page, NEWEST_FIRST_ROW)
            assert newest, f"the app did not show the newest memories:\n{screen}"
            assert TARGET[:30] not in newest.group(1)  # the check below tells a search from the first screen

            page.keyboard.press("/")
            time.sleep(0.5)
            page.keyboard.type("webhook retries")
            found, screen = _screen_until(page, SEARCH_FIRST_ROW)
            assert found, f"no search results on the screen:\n{screen}"
            assert TARGET[:30] in found.group(1), f"the stored memory is not the first result:\n{screen}"
            assert "webhook retries" in screen  # typed into the search box
        finally:
            browser.close()
