"""The CLI commands added with the MCP server: update, events, mcp config and mcp token; those that take a store run
on a SQLite file and on a PostgreSQL database alike (issue 24)."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from slm import Memory
from slm.storage.db import locate
from tests.test_cli import check_refused, run, run_json

pytestmark = pytest.mark.both_backends


@pytest.fixture
def store(store_at, db_arg) -> str:
    """The store as `--db` names it (a file's path or a PostgreSQL URL), holding one memory."""
    with Memory.open(store_at) as mem:
        mem.remember("The staging database is db-01", agent="cursor", project="infra")
    return db_arg


def test_update_keeps_history_and_shows_it(store):
    assert run_json("update", "1", "The staging database is db-02", "--agent", "codex", "--db", store) == {
        "id": 2,
        "duplicate": False,
    }
    assert run("update", "2", "The staging database is db-03", "--db", store).stdout.strip() == "#2 is now #3"
    old = run("show", "1", "--db", store).stdout
    assert "superseded by" in old and "#2" in old and "via api" in old
    assert [r["id"] for r in run_json("list", "--db", store)] == [3]
    check_refused(["update", "1", "again"], store, 2, "was already updated")
    check_refused(["update", "99", "x"], store, 2, "no memory with id 99")
    assert run_json("forget", "3", "--db", store) == {"forgotten": [3, 2, 1]}


def test_events_lists_both_databases_in_time_order(store):
    with Memory.open(store) as mem:
        mem.feedback(1, True, agent="cursor")
        mem.remember("second memory", agent="codex")
    events = run_json("events", "--db", store)
    assert [(e["source"], e["type"], e["agent"]) for e in events] == [
        ("memory", "memory.created", "cursor"),
        ("behavior", "feedback.recorded", "cursor"),
        ("memory", "memory.created", "codex"),
    ]
    assert [e["type"] for e in run_json("events", "--agent", "codex", "--db", store)] == ["memory.created"]
    assert len(run_json("events", "-n", "1", "--db", store)) == 1
    human = run("events", "--db", store).stdout
    assert "memory.created #1" in human and "by cursor via api" in human
    check_refused(["events", "--limit", "0"], store, 2, "limit must be")


@pytest.mark.parametrize("client", ["claude-code", "claude-desktop", "cursor", "vscode"])
def test_mcp_config_prints_json_for_json_clients(client, tmp_path):
    result = run("mcp", "config", "--client", client, "--db", tmp_path / "x.db")
    document = json.loads(result.stdout)
    servers = document["servers" if client == "vscode" else "mcpServers"]
    server = servers["slm"]
    assert Path(server["command"]).is_absolute() and Path(server["command"]).name == "slm"
    assert server["args"] == ["mcp", "--db", str((tmp_path / "x.db").resolve())]
    assert server["env"] == {"SLM_AGENT": client}
    assert "add to" in result.stderr


def test_mcp_config_prints_toml_for_codex():
    document = tomllib.loads(run("mcp", "config", "--client", "codex").stdout)
    server = document["mcp_servers"]["slm"]
    assert server["args"] == ["mcp"] and server["env"] == {"SLM_AGENT": "codex"}
    assert Path(server["command"]).is_absolute()


def test_mcp_config_passes_a_server_url_as_it_is():
    """A URL is not a file: resolved against the working folder, it would send the client to a SQLite file."""
    url = "postgresql://slm@db.internal:5432/team"
    document = json.loads(run("mcp", "config", "--client", "cursor", "--db", url).stdout)
    assert document["mcpServers"]["slm"]["args"] == ["mcp", "--db", url]


@pytest.mark.parametrize("client", ["cursor", "codex"])
def test_mcp_config_with_a_token_makes_the_client_an_authenticated_agent(client, store_at, db_arg):
    store = db_arg
    result = run("mcp", "config", "--client", client, "--token", "--db", store)
    text = result.stdout
    document = tomllib.loads(text)["mcp_servers"] if client == "codex" else json.loads(text)["mcpServers"]
    token = document["slm"]["env"]["SLM_AGENT_TOKEN"]
    with Memory.open(store_at) as mem:
        assert mem.authenticate(token).name == client
    assert "created" in result.stderr
    again = run("mcp", "config", "--client", client, "--token", "--db", store, code=2)
    assert "already exists" in again.stderr


def test_mcp_config_names_the_clients_it_knows():
    result = run("mcp", "config", "--client", "emacs", code=2)
    assert "unknown client 'emacs'" in result.stderr and "claude-code" in result.stderr


def test_mcp_token_is_stable_private_and_rotatable(slm_home):
    first = run("mcp", "token").stdout.strip()
    assert len(first) >= 40 and run("mcp", "token").stdout.strip() == first
    path = Path(slm_home) / "mcp-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rotated = run("mcp", "token", "--rotate").stdout.strip()
    assert rotated != first and path.read_text().strip() == rotated


def test_reading_never_creates_the_behaviour_database(store):
    """On SQLite no behavior.db file appears beside the store; a server's behaviour lives in its own schema, and no
    local file appears in the store's folder either."""
    assert [e["type"] for e in run_json("events", "--db", store)] == ["memory.created"]
    stats = run_json("stats", "--db", store)
    assert (stats["recalls_logged"], stats["feedback_helpful"], stats["events"]) == (0, 0, 1)
    assert not locate(store).behavior_db.exists()


def test_a_token_file_others_can_read_is_refused(slm_home):
    path = Path(slm_home) / "mcp-token"
    run("mcp", "token")
    path.chmod(0o644)
    try:
        refused = " ".join(run("mcp", "token", code=1).stderr.split())  # rich wraps at 80 columns
        assert "can be read by other users" in refused and "chmod 600" in refused
    finally:
        path.chmod(0o600)


def test_slm_threads_must_be_a_plain_number(store):
    result = run("recall", "database", "--db", store, env={"SLM_THREADS": "²"}, code=2)
    assert "SLM_THREADS must be a whole number" in " ".join(result.stderr.split())
