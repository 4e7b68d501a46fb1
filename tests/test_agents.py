"""Authenticated agents: tokens stored hashed, authentication (valid, missing, revoked, forged), provenance by id,
revocation seen by every process, renaming, and the MCP server acting as its token's agent."""

from __future__ import annotations

import os
import subprocess

import pytest

from slm import Memory
from slm.errors import Forbidden, InvalidInput, NotFound
from slm.mcp.server import build_server
from tests.test_cli import SLM, check_refused, run, run_json

pytestmark = pytest.mark.both_backends


def test_a_token_is_shown_once_and_stored_only_as_its_hash(mem):
    agent, token = mem.add_agent("laptop-claude")
    assert token.startswith("slm_agent_") and len(token) > 40
    assert (agent.name, agent.active, agent.memories) == ("laptop-claude", True, 0)
    [stored] = mem.conn.execute("SELECT name, token_hash, created_at FROM agents").fetchall()
    assert stored[0] == "laptop-claude" and all(token not in str(value) for value in stored)
    assert [e.type for e in mem.events.after(0)] == ["agent.added"]
    with pytest.raises(InvalidInput, match="already exists"):
        mem.add_agent("laptop-claude")
    with pytest.raises(InvalidInput, match="agent name must be 1-128 visible characters"):
        mem.add_agent("   ")


@pytest.mark.sqlite_only
def test_no_file_of_a_sqlite_store_holds_a_token(mem, db_path):
    """The WAL checkpointed into the file: neither holds the token, only its hash."""
    _, token = mem.add_agent("laptop-claude")
    mem.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [p for p in db_path.parent.iterdir() if p.is_file()]
    assert files and all(token.encode() not in p.read_bytes() for p in files)


def test_authenticated_writes_record_the_agent_and_claimed_names_do_not(store_at):
    with Memory.open(store_at) as admin:
        agent, token = admin.add_agent("ci-bot")
        claimed = admin.remember("written under a claimed name", agent="ci-bot")  # no token: unverified
    with Memory.open(store_at) as mem:
        assert mem.authenticate(token) == agent
        proved = mem.remember("written with the token", agent="ci-bot")
        other = mem.remember("written in another name by the same process", agent="someone")
        assert mem.get(proved).agent_id == agent.id
        assert mem.get(claimed).agent_id is None and mem.get(other).agent_id is None
        assert mem.list_agents()[0].memories == 1


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "not an slm agent token"),
        ("hunter2", "not an slm agent token"),
        ("slm_agent_" + "x" * 43, "unknown agent token"),
        (None, "not an slm agent token"),
    ],
)
def test_missing_and_forged_tokens_are_refused(mem, token, message):
    mem.add_agent("real")
    with pytest.raises(InvalidInput, match=message):
        mem.authenticate(token)
    assert mem.verified_agent is None


def test_revocation_stops_a_running_agent_at_its_next_write(store_at):
    with Memory.open(store_at) as admin:
        _, token = admin.add_agent("old-laptop")
    with Memory.open(store_at) as server, Memory.open(store_at) as admin:
        server.authenticate(token)
        first = server.remember("before the revocation", agent="old-laptop")
        revoked = admin.revoke_agent("old-laptop")
        assert not revoked.active and revoked.memories == 1
        with pytest.raises(Forbidden, match="revoked"):
            server.remember("after the revocation", agent="old-laptop")
        with pytest.raises(Forbidden, match="revoked"):  # no falling back to the name it claimed
            server.remember("after the revocation, as a name", agent="old-laptop")
        assert server.count() == 1 and server.get(first).agent_id == revoked.id  # its memories stay its own
        with pytest.raises(Forbidden, match="was revoked"):
            server.authenticate(token)
        assert admin.revoke_agent("old-laptop").revoked_at == revoked.revoked_at  # idempotent
    with Memory.open(store_at) as admin, pytest.raises(NotFound, match="no agent named"):
        admin.revoke_agent("nobody")


def test_rename_moves_only_the_memories_the_agent_proved(store_at):
    with Memory.open(store_at) as mem:
        agent, token = mem.add_agent("cursor-work")
        claimed = mem.remember("someone else used the name", agent="cursor-work")
        mem.authenticate(token)
        proved = mem.remember("the agent itself", agent="cursor-work")
        renamed = mem.rename_agent("cursor-work", "cursor-home")
        assert (renamed.id, renamed.name) == (agent.id, "cursor-home")
        assert mem.get(proved).agent == "cursor-home" and mem.get(claimed).agent == "cursor-work"
        mem.add_agent("taken")
        with pytest.raises(InvalidInput, match="already exists"):
            mem.rename_agent("cursor-home", "taken")
        events = [e.type for e in mem.events.after(0) if e.type.startswith("agent.")]
        assert events == ["agent.added", "agent.renamed", "agent.added"]


def test_cli_agent_commands(db_path):
    created = run_json("agent", "add", "codex-laptop", "--db", db_path)
    assert created["agent"]["name"] == "codex-laptop" and created["token"].startswith("slm_agent_")
    human = run("agent", "add", "second", "--db", db_path)
    assert human.stdout.strip().startswith("slm_agent_") and "shown once" in human.stderr
    assert [a["name"] for a in run_json("agent", "list", "--db", db_path)] == ["codex-laptop", "second"]
    assert run_json("agent", "rename", "second", "third", "--db", db_path)["name"] == "third"
    assert run_json("agent", "revoke", "third", "--db", db_path)["revoked_at"]
    assert "revoked" in run("agent", "list", "--db", db_path).stdout
    check_refused(["agent", "revoke", "nobody"], db_path, 2, "no agent named 'nobody'")
    check_refused(["agent", "add", "codex-laptop"], db_path, 2, "already exists")


@pytest.mark.anyio
async def test_an_mcp_server_with_a_token_acts_as_its_agent(store_at):
    from fastmcp import Client

    with Memory.open(store_at) as admin:
        agent, token = admin.add_agent("claude-desktop")
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        memory.authenticate(token)
        async with Client(build_server(memory, agent="ignored-claim")) as c:
            status = (await c.call_tool("status", {})).structured_content
            stored = (await c.call_tool("remember", {"content": "verified note"})).structured_content
        assert status["agent"]["name"] == "claude-desktop" and status["agent"]["verified"] is True
        assert status["agent"]["source"] == "token"
        assert memory.get(stored["id"]).agent_id == agent.id
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        async with Client(build_server(memory, agent="claude-desktop")) as c:  # the name alone proves nothing
            status = (await c.call_tool("status", {})).structured_content
            stored = (await c.call_tool("remember", {"content": "claimed note"})).structured_content
        assert status["agent"]["verified"] is False and memory.get(stored["id"]).agent_id is None


def test_slm_mcp_refuses_a_bad_token_before_serving(db_path, slm_home):
    with Memory.open(db_path) as admin:
        _, token = admin.add_agent("gone")
        admin.revoke_agent("gone")
    env = {**os.environ, "SLM_AGENT_TOKEN": token}
    proc = subprocess.run(
        [*SLM, "mcp", "--db", str(db_path)], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    assert proc.returncode == 2 and b"was revoked" in proc.stderr and proc.stdout == b""
