"""Real `slm mcp` processes: stdio as clients run it, ten agents writing at once, crashes, HTTP with a token, a
team's server; on a SQLite file and on a PostgreSQL database alike (issue 24: many writers lose nothing on both)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.concurrency import run_agents, texts_for
from slm import Memory
from slm.mcp import budget

pytestmark = pytest.mark.both_backends

SLM = str(Path(sys.executable).with_name("slm"))
PROTOCOL = "2025-06-18"


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SLM_AGENT", "SLM_THREADS")}
    return {**env, **extra}


class RawStdioClient:
    """A bare JSON-RPC client over the server's pipes, to see every byte the server writes to stdout.

    Threads drain stdout (line by line, so a reply can be awaited with a timeout) and stderr (so a chatty server
    never blocks on a full pipe)."""

    def __init__(self, db: Path, *extra_args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            [SLM, "mcp", "--db", str(db), *extra_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env or _env(),
        )
        self._next = 0
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._stderr: list[bytes] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=lambda: self._stderr.append(self.proc.stderr.read()), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(b"")  # the end of stdout

    def send_line(self, line: str | bytes) -> None:
        self.proc.stdin.write((line if isinstance(line, bytes) else line.encode()) + b"\n")
        self.proc.stdin.flush()

    def send(self, method: str, params: dict | None = None, *, notify: bool = False) -> int | None:
        message = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notify:
            self._next += 1
            message["id"] = self._next
        self.send_line(json.dumps(message))
        return message.get("id")

    def reply(self, timeout: float = 120) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reply within {timeout} s") from None
        assert line, f"server closed stdout; stderr: {self.stderr()[-2000:]}"
        return json.loads(line)  # anything but JSON-RPC on stdout fails here

    def request(self, method: str, params: dict | None = None, timeout: float = 120) -> dict:
        sent = self.send(method, params)
        answer = self.reply(timeout)
        assert answer.get("id") == sent, answer
        return answer

    def initialize(self, name: str = "raw-agent") -> dict:
        info = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": name, "version": "1.0"}}
        result = self.request("initialize", info)
        self.send("notifications/initialized", notify=True)
        return result

    def call(self, tool: str, **arguments) -> dict:
        return self.request("tools/call", {"name": tool, "arguments": arguments})["result"]

    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def close(self) -> tuple[bytes, str]:
        """End of input (the client goes away), then whatever the server still wrote to stdout, and its stderr."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=30)
        leftover = b"".join(iter(self._lines.get_nowait, b""))
        return leftover, self.stderr()


@pytest.fixture
def store(store_at, db_arg) -> Path | str:
    """The store the processes share: a file, or a PostgreSQL URL (both go to `--db` as text)."""
    return db_arg if getattr(store_at, "url", None) else store_at


def intact(mem: Memory) -> bool:
    """The database checks itself: SQLite's integrity_check; PostgreSQL keeps its own pages and keys, so what is
    checked there is that no chunk lost its memory or its vector."""
    if mem.conn.backend == "sqlite":
        return mem.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = mem.conn.execute(
        "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)"
    ).fetchone()[0]
    return orphans == 0


def test_stdio_speaks_only_protocol_on_stdout_and_logs_elsewhere(store, tmp_path):
    log = tmp_path / "logs" / "mcp.log"
    client = RawStdioClient(store, "--log-file", str(log))
    assert client.initialize("claude-code")["result"]["serverInfo"]["name"] == "slm"
    tools = client.request("tools/list")["result"]["tools"]
    assert {t["name"] for t in tools} >= {"remember", "recall", "status"}
    stored = client.call("remember", content="stdio keeps stdout for JSON-RPC only", project="proto")
    assert stored["structuredContent"]["duplicate"] is False
    bad = client.call("forget", id=987654)
    assert bad["isError"] is True and "no memory with id 987654" in bad["content"][0]["text"]
    leftover, _ = client.close()  # the client goes away: the server exits cleanly
    assert leftover == b"" and client.proc.returncode == 0
    logged = log.read_text()  # an unknown id is the caller's mistake, not the server's failure: not worth a line
    assert "Error calling tool" not in logged and "Traceback" not in logged and "ERROR" not in logged
    with Memory.open(store, create=False) as mem:
        [row] = mem.list()
        assert (row.agent, row.protocol, row.project) == ("claude-code", "mcp-stdio", "proto")


def test_the_tool_listing_costs_at_most_2000_tokens(store):
    """Every client pays for the whole listing in its context, at every turn: names, descriptions, annotations and
    schemas, measured as a client receives them."""
    client = RawStdioClient(store)
    client.initialize()
    tools = client.request("tools/list")["result"]["tools"]
    client.close()
    assert len(tools) == 10 and all(t["description"] and t["annotations"] and t["inputSchema"] for t in tools)
    assert budget.estimate_tokens(tools) <= 2000


def nested(depth: int) -> dict:
    """An object `depth` levels deep."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_every_line_gets_an_answer_even_one_the_sdk_cannot_read(store):
    """Invalid JSON, a message that is not JSON-RPC, one nested past any parser's limit: each request is answered
    (with its id when it has one), a broken notification is not, and the server serves on."""
    client = RawStdioClient(store)
    client.initialize()
    deep_request = {"jsonrpc": "2.0", "id": 7, "method": "tools/call"}
    deep_request["params"] = {"name": "remember", "arguments": {"content": "deep", "meta": nested(250)}}
    endless = '{"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    broken_notification = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": nested(99)})
    for line, answer_id, code, words in [
        ("{oops", None, -32700, "not valid JSON"),
        (json.dumps(deep_request), 7, -32600, "nested deeper than 64 levels"),
        (endless, None, -32600, "nested deeper than 64 levels"),  # too deep even for Python's parser: no id
        ("[1, 2]", None, -32600, "not a JSON-RPC 2.0 request"),
        ('{"jsonrpc": "2.0", "id": "x-1", "params": {}}', "x-1", -32600, "not a JSON-RPC 2.0 request"),
    ]:
        client.send_line(line)
        error = client.reply(timeout=30)
        assert (error["id"], error["error"]["code"]) == (answer_id, code) and words in error["error"]["message"]
    client.send_line(broken_notification)  # no answer: the next line read is the ping's
    assert client.request("ping")["result"] == {}  # request() checks the reply's id
    stored = client.call("remember", content="still serving", meta=nested(30))
    assert stored["isError"] is False and client.proc.poll() is None
    if Path("/proc/self/fd").exists():  # the SDK's guard still holds: stray prints reach stderr, not the protocol
        fds = Path(f"/proc/{client.proc.pid}/fd")
        assert os.readlink(fds / "0") == os.devnull
        assert os.readlink(fds / "1") == os.readlink(fds / "2")
    leftover, stderr = client.close()
    assert leftover == b"" and client.proc.returncode == 0 and "could not read a message" in stderr


def test_slm_agent_names_the_stdio_agent(store):
    client = RawStdioClient(store, env=_env(SLM_AGENT="laptop-codex"))
    client.initialize("codex")
    status = client.call("status")["structuredContent"]
    client.close()
    assert status["agent"]["name"] == "laptop-codex" and status["agent"]["client"] == "codex"


@pytest.mark.anyio
async def test_every_tool_resource_and_prompt_over_stdio(store):
    """The same surface as the in-memory tests, through a real `slm mcp` process and fastmcp's stdio client."""
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport
    from mcp_types import Implementation

    transport = StdioTransport(command=SLM, args=["mcp", "--db", str(store)], env=_env(), keep_alive=False)
    async with Client(transport, client_info=Implementation(name="vscode", version="1.96")) as c:

        async def call(tool: str, **args) -> dict:
            return (await c.call_tool(tool, args)).structured_content

        assert len(await c.list_tools()) == 10
        first = await call("remember", content="The docs site builds with mkdocs-material", project="docs", tags=["x"])
        second = await call("remember", content="Release notes live in CHANGELOG.md", project="docs")
        assert (await call("recall", query="how are the docs built", k=1))["memories"][0]["id"] == first["id"]
        newer = await call("update", id=second["id"], content="Release notes live in docs/changelog.md")
        got = await call("get", ids=[second["id"], newer["id"]])
        assert got["memories"][0]["superseded_by"] == newer["id"]
        assert [m["id"] for m in (await call("list_recent", project="docs"))["memories"]] == [newer["id"], first["id"]]
        assert (await call("feedback", id=first["id"], helpful=True))["recorded"] is True
        assert (await call("forget", id=newer["id"]))["forgotten"] == [newer["id"], second["id"]]
        status = await call("status")
        assert (status["memories"], status["agent"]["name"], status["protocol"]) == (1, "vscode", "mcp-stdio")
        assert json.loads((await c.read_resource("slm://recent"))[0].text)["memories"][0]["id"] == first["id"]
        assert json.loads((await c.read_resource("slm://stats"))[0].text)["memories"] == 1
        assert json.loads((await c.read_resource(f"slm://memory/{first['id']}"))[0].text)["tags"] == ["x"]
        assert (await call("clusters", project="docs"))["clusters"] == []  # one memory: nothing to cluster yet
        assert json.loads((await c.read_resource("slm://clusters"))[0].text)["omitted"] == 0
        prompt = await c.get_prompt("recall_context", {"task": "fix the docs build"})
        assert f"#{first['id']}" in prompt.messages[0].content.text


@pytest.mark.anyio
async def test_ten_agents_write_one_store_at_once(store):
    """10 real servers, each 100 remembers interleaved with recalls: every write lands, once, with its event."""
    summary = await run_agents(store, agents=10, writes=100, recall_every=2)
    assert summary["errors"] == []
    assert summary["writes"] == 1000 and summary["recalls"] == 500
    assert len(set(summary["ids"])) == 1000
    with Memory.open(store, create=False) as mem:
        assert mem.count() == 1000
        assert mem.events.count("memory.created") == 1000
        assert mem.events.count("agent.connected") == 10
        stored = {row.content for row in mem.list(limit=1000)}
        assert stored == {text for agent in range(10) for text in texts_for(agent, 100)}
        agents = mem.stats()["agents"]
        assert agents == {f"agent-{i:02d}": 100 for i in range(10)}
        assert intact(mem)
        ids = sorted(summary["ids"])  # one writer at a time: no id taken by a write that did not land
        assert ids == list(range(ids[0], ids[0] + 1000))


@pytest.mark.parametrize("how", ["server killed", "client gone"])
def test_a_call_cut_off_mid_write_leaves_the_store_consistent(store, how):
    client = RawStdioClient(store)
    client.initialize()
    client.call("remember", content="written before the crash")
    long_text = " ".join(f"Paragraph {i}: the billing service retries webhooks with backoff." for i in range(700))
    client.send("tools/call", {"name": "remember", "arguments": {"content": long_text[:60_000]}})
    time.sleep(0.4)  # embedding the long text takes seconds: cut the call off while it is in flight
    if how == "server killed":
        client.proc.send_signal(signal.SIGKILL)
    client.close()
    assert client.proc.returncode == (-signal.SIGKILL if how == "server killed" else 0)
    with Memory.open(store, create=False) as mem:
        assert intact(mem)
        rows = mem.list(limit=10)
        assert rows[-1].content == "written before the crash"
        created = mem.events.count("memory.created")
        chunks = mem.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        vectors = mem.conn.execute("SELECT count(*) FROM chunk_vectors").fetchone()[0]
        assert created == len(rows) and chunks == vectors  # each memory whole with its event, or absent
        assert mem.remember("written after the crash").duplicate is False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def http_server(store, slm_home):
    token = run_slm("mcp", "token").stdout.strip()  # the shared token, made before the server starts
    with serving_http(store) as url:
        yield url, token


@contextmanager
def serving_http(store: Path, *args: str) -> Iterator[str]:
    """A real `slm mcp --http` process on a free port; its URL once it accepts connections."""
    port = _free_port()
    proc = subprocess.Popen(
        [SLM, "mcp", "--http", "--port", str(port), "--db", str(store), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_slm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SLM, *args], capture_output=True, text=True, env=_env(), timeout=120, check=True)


def _post(url: str, token: str | None, **headers: str) -> int:
    """A bare tools/list over HTTP, with these extra headers; the status code."""
    import urllib.error
    import urllib.request

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json, text/event-stream")
    for name, value in headers.items():
        request.add_header(name.capitalize(), value)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.anyio
async def test_http_requires_the_bearer_token(http_server, slm_home):
    from fastmcp import Client

    url, token = http_server
    assert oct((Path(slm_home) / "mcp-token").stat().st_mode & 0o777) == "0o600"
    assert _post(url, None) == 401
    assert _post(url, "not-the-token") == 401
    async with Client(url, auth=token) as client:
        stored = (await client.call_tool("remember", {"content": "served over http"})).structured_content
        status = (await client.call_tool("status", {})).structured_content
    assert stored["duplicate"] is False and status["protocol"] == "mcp-http"


@pytest.mark.sqlite_only  # it checks that no file was made
def test_http_refuses_other_addresses_without_the_flag(store):
    refused = subprocess.run(
        [SLM, "mcp", "--http", "--host", "0.0.0.0", "--db", str(store)], capture_output=True, text=True, env=_env()
    )
    assert refused.returncode == 2 and "refusing to serve memories on 0.0.0.0" in refused.stderr
    assert "--allow-remote" in refused.stderr and not store.exists()


def test_events_follow_sees_other_processes(store):
    with Memory.open(store) as mem:
        mem.remember("before following")
    follower = subprocess.Popen(
        [SLM, "events", "--follow", "--json", "--db", str(store)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        first = json.loads(follower.stdout.readline())  # the backlog comes first
        client = RawStdioClient(store)
        client.initialize("cursor")
        client.call("remember", content="seen by the follower")
        client.close()
        fresh = [json.loads(follower.stdout.readline()) for _ in range(3)]
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    assert first["type"] == "memory.created"
    assert [(e["type"], e["agent"], e["protocol"]) for e in fresh] == [
        ("agent.connected", "cursor", "mcp-stdio"),
        ("project.bound", "cursor", "mcp-stdio"),  # the server's folder (this checkout) names the project
        ("memory.created", "cursor", "mcp-stdio"),
    ]


@pytest.mark.anyio
async def test_a_team_server_keeps_a_members_private_memories_from_the_others(store, slm_home):
    """One `slm mcp --http` for a team: each member's agents come in with their own token; what alice keeps
    private reaches alice's agents only, while what anyone shares reaches everyone."""
    from fastmcp import Client

    draft, shared = "Alice's draft: rotate the payment keys on Monday", "The payment service owns the keys vault"
    tokens = {}
    for name, member in (("alice-laptop", "alice"), ("alice-desk", "alice"), ("bob-laptop", "bob")):
        made = run_slm("agent", "add", name, "--member", member, "--json", "--db", str(store))
        tokens[name] = json.loads(made.stdout)["token"]
    with serving_http(store) as url:
        async with Client(url, auth=tokens["alice-laptop"]) as alice:
            kept = await alice.call_tool("remember", {"content": draft, "project": "team", "private": True})
            await alice.call_tool("remember", {"content": shared, "project": "team"})
        shown = {}
        for name in ("alice-desk", "bob-laptop"):
            async with Client(url, auth=tokens[name]) as client:
                found = await client.call_tool("recall", {"query": "payment keys", "project": "team"})
                shown[name] = {hit["text"] for hit in found.structured_content["memories"]}
    assert shown == {"alice-desk": {draft, shared}, "bob-laptop": {shared}}
    with Memory.open(store, create=False) as owner:
        row = owner.get(kept.structured_content["id"])
        assert row.private_to == "member:alice" and row.agent == "alice-laptop" and row.agent_id is not None
