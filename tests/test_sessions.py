"""Sessions — the conversation a memory was said in — at every face: the Python API, the CLI, MCP, export and
import, erasure, and the migration that gave them a column. Real stores, the real model, real MCP clients."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp_types import Implementation

from slm import Memory
from slm.errors import InvalidInput
from slm.mcp.server import build_server
from slm.portability import erasure, exporter, importer, portable
from slm.storage import migrations
from slm.storage.connection import open_connection
from tests.test_cli import run, run_json

pytestmark = pytest.mark.both_backends

STANDUP = [
    "The billing service moves to PostgreSQL 16 next sprint.",
    "Priya owns the billing migration runbook.",
]
OTHER = "The search team deploys on Thursdays."


# -- the Python API ------------------------------------------------------------------------------------------------
def test_a_memory_names_its_session_or_meta_does(mem):
    said = mem.remember(STANDUP[0], project="billing", session="standup-12")
    from_meta = mem.remember(STANDUP[1], project="billing", meta={"session": "standup-12", "pr": 7})
    numbered = mem.remember("Thread 42 decided on blue-green deploys.", meta={"session": 42})
    explicit = mem.remember("The explicit session wins over meta.", session="chosen", meta={"session": "meta's"})
    none = mem.remember(OTHER, meta={"session": True})  # not a name: meta keeps it, no session
    sessions = {i: mem.get(i).session for i in (said, from_meta, numbered, explicit, none)}
    assert sessions == {said: "standup-12", from_meta: "standup-12", numbered: "42", explicit: "chosen", none: None}
    assert mem.get(from_meta).meta == {"session": "standup-12", "pr": 7}  # meta itself is kept as given
    assert mem.get(none).meta == {"session": True}


def test_remember_many_takes_a_session_per_item(mem):
    ids = mem.remember_many(
        [{"text": STANDUP[0], "session": "s1"}, {"text": STANDUP[1], "session": "s2"}, {"text": OTHER}]
    )
    assert [mem.get(i).session for i in ids] == ["s1", "s2", None]


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_session_is_refused_with_a_clear_error(mem, blank):
    with pytest.raises(InvalidInput, match="session must not be blank") as refused:
        mem.remember(STANDUP[0], session=blank)
    assert "leave it out" in refused.value.hint
    with pytest.raises(InvalidInput, match="item 1: session must not be blank"):
        mem.remember_many([{"text": STANDUP[0]}, {"text": STANDUP[1], "session": blank}])
    assert mem.count() == 0  # every item is checked before anything is written


@pytest.mark.parametrize("bad", ["", "  ", "x" * 200, "zero\u200bwidth", 12.5, ["a"]])
def test_a_meta_session_that_is_no_name_stays_in_meta(mem, bad):
    """Clients put anything in meta before sessions had a field; such a memory is still stored, in no session."""
    stored = mem.remember(STANDUP[0], meta={"session": bad})
    assert mem.get(stored).session is None and mem.get(stored).meta == {"session": bad}


def test_a_session_name_is_checked_like_other_names(mem):
    with pytest.raises(InvalidInput, match="session must be"):
        mem.remember(STANDUP[0], session="x" * 200)
    with pytest.raises(InvalidInput, match="session must be"):
        mem.remember(STANDUP[0], session="zero\u200bwidth")
    assert mem.get(mem.remember(STANDUP[0], session="  café  ")).session == "café"  # trimmed, NFC


def test_an_update_keeps_the_session(mem):
    first = mem.remember(STANDUP[0], project="billing", session="standup-12", agent="cursor")
    newer = mem.update(first, "The billing service moves to PostgreSQL 17 next sprint.", agent="cursor")
    assert mem.get(newer).session == "standup-12" and mem.get(first).superseded_by == newer


def test_list_and_count_filter_by_session(mem):
    mem.remember_many(
        [
            {"text": STANDUP[0], "project": "billing", "session": "standup-12"},
            {"text": STANDUP[1], "project": "billing", "session": "standup-12"},
            {"text": OTHER, "project": "search", "session": "standup-13"},
        ]
    )
    assert {r.content for r in mem.list(session="standup-12")} == set(STANDUP)
    assert mem.count(session="standup-12") == 2 and mem.count(session="standup-12", project="search") == 0
    assert mem.count(session="nobody's") == 0
    with pytest.raises(InvalidInput, match="blank"):
        mem.list(session=" ")


# -- the migration ---------------------------------------------------------------------------------------------------
def test_a_schema_9_store_gets_its_sessions_from_meta(tmp_path, slm_home):
    import shutil

    old = tmp_path / "v9-migrations"
    old.mkdir()
    for found in sorted(migrations.migrations_dir().glob("*.sql"))[:9]:
        shutil.copy(found, old)
    path = tmp_path / "old" / "memory.db"
    conn = open_connection(path)
    assert migrations.migrate(conn, old) == 9
    metas = [{"session": "thread-a"}, {"session": 42}, {"session": True}, {"session": {"id": 1}}, {"pr": 3}, {}]
    for i, meta in enumerate(metas, 1):
        conn.execute(
            "INSERT INTO memories (id, content, content_hash, created_at, agent, project, meta) "
            "VALUES (?, ?, ?, '2024-01-01T00:00:00Z', 'cursor', 'p', ?)",
            (i, f"note {i}", f"h{i}", json.dumps(meta)),
        )
    conn.close()
    with Memory.open(path) as mem:
        assert migrations.schema_version(mem.conn) == len(migrations.load_migrations())
        assert [mem.get(i).session for i in range(1, 7)] == ["thread-a", "42", None, None, None, None]
        assert mem.get(1).meta == {"session": "thread-a"}  # meta is left as it was
        index = mem.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'memories_session'").fetchone()[0]
        assert "session IS NOT NULL" in index and "meta" not in index  # on the column now
        assert [r.id for r in mem.list(session="thread-a")] == [1]


# -- the CLI -------------------------------------------------------------------------------------------------------
def test_cli_remembers_shows_and_lists_by_session(db_path):
    db = str(db_path)
    first = run_json("remember", STANDUP[0], "-p", "billing", "--session", "standup-12", "--db", db)
    run_json("remember", STANDUP[1], "-p", "billing", "--meta", '{"session": "standup-12"}', "--db", db)
    run_json("remember", OTHER, "-p", "search", "--db", db)
    shown = run("show", first["id"], "--db", db).stdout
    assert any(line.split()[:2] == ["session", "standup-12"] for line in shown.splitlines())
    assert run_json("show", first["id"], "--db", db)["session"] == "standup-12"
    listed = run_json("list", "--session", "standup-12", "--db", db)
    assert {m["content"] for m in listed} == set(STANDUP) and {m["session"] for m in listed} == {"standup-12"}
    assert [m["session"] for m in run_json("list", "-p", "search", "--db", db)] == [None]
    plain = run("show", run_json("list", "-p", "search", "--db", db)[0]["id"], "--db", db).stdout
    assert any(line.split() == ["session", "-"] for line in plain.splitlines())
    refused = run("remember", "A note in a blank session.", "--session", " ", "--db", db, "--json", code=2)
    assert "session must not be blank" in json.loads(refused.stdout)["error"]


# -- MCP -------------------------------------------------------------------------------------------------------------
def mcp_client(server, name: str = "claude-code", mode: str = "auto") -> Client:
    return Client(server, client_info=Implementation(name=name, version="1.0"), mode=mode)


async def remember(c: Client, content: str, **args) -> dict:
    return (await c.call_tool("remember", {"content": content, **args})).structured_content


@pytest.mark.anyio
async def test_mcp_memories_share_their_connections_session(store_at, slm_home):
    """Today's clients keep one MCP connection for a conversation: its memories share a session, and another
    connection (another conversation) gets its own."""
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        server = build_server(memory)
        async with mcp_client(server, mode="legacy") as c:
            first = await remember(c, STANDUP[0], project="billing")
            second = await remember(c, STANDUP[1], project="billing")
            again = await remember(c, STANDUP[0], project="billing")  # a duplicate: the stored memory's session
            fetched = (await c.call_tool("get", {"ids": [first["id"]]})).structured_content
        async with mcp_client(server, mode="legacy") as other:
            elsewhere = await remember(other, OTHER, project="search")
        session = first["session"]
        assert session.startswith("mcp-") and len(session) == len("mcp-") + 12
        assert second["session"] == again["session"] == session and again["duplicate"] is True
        assert memory.get(first["id"]).session == memory.get(second["id"]).session == session
        assert fetched["memories"][0]["session"] == session
        assert elsewhere["session"].startswith("mcp-") and elsewhere["session"] != session
        assert [r.id for r in memory.list(session=session)] == [second["id"], first["id"]]


@pytest.mark.anyio
async def test_mcp_session_without_a_lasting_connection_is_the_servers(store_at, slm_home):
    """On the 2026 protocol every request is its own connection: a server's memories (one stdio server per
    assistant) share one session, and another server's get another."""
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        server = build_server(memory)
        async with mcp_client(server) as c:
            first = await remember(c, STANDUP[0])
            second = await remember(c, STANDUP[1])
            listed = (await c.call_tool("list_recent", {})).structured_content
        async with mcp_client(build_server(memory)) as restarted:
            later = await remember(restarted, OTHER)
    assert first["session"] == second["session"] and first["session"].startswith("mcp-")
    assert {m["session"] for m in listed["memories"]} == {first["session"]}
    assert later["session"].startswith("mcp-") and later["session"] != first["session"]


@pytest.mark.anyio
async def test_mcp_an_explicit_session_wins(store_at, slm_home):
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        async with mcp_client(build_server(memory)) as c:
            named = await remember(c, STANDUP[0], session="ticket-481")
            in_meta = await remember(c, STANDUP[1], meta={"session": "ticket-482"})
            both = await remember(c, OTHER, session="ticket-483", meta={"session": "ignored"})
            default = await remember(c, "The default session is the connection's.")
            with pytest.raises(ToolError, match="session must not be blank"):
                await remember(c, "A memory in a blank session.", session="  ")
            tools = {t.name: t for t in await c.list_tools()}
        assert memory.count() == 4
    assert (named["session"], in_meta["session"], both["session"]) == ("ticket-481", "ticket-482", "ticket-483")
    assert default["session"].startswith("mcp-")
    schema = tools["remember"].input_schema["properties"]["session"]
    assert schema["type"] == "string" and "session" not in tools["remember"].input_schema.get("required", [])


# -- export and import -----------------------------------------------------------------------------------------------
def _export(mem: Memory) -> list[dict]:
    buffer = io.StringIO()
    exporter.export(mem.transfers, buffer)
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def _import(db: Path, records: list[dict], **kwargs) -> importer.ImportReport:
    path = db.parent.parent / f"{db.parent.name}.jsonl"
    path.write_text("".join(portable.dumps(r) + "\n" for r in records), encoding="utf-8")
    db.parent.mkdir(parents=True, exist_ok=True)
    with Memory.open(db) as mem:
        return importer.import_file(mem.transfers, path, **kwargs)


def test_sessions_are_exported_and_imported_back(mem, tmp_path):
    mem.remember(STANDUP[0], project="billing", session="standup-12")
    mem.remember(OTHER, project="search")
    records = _export(mem)
    memories = {r["content"]: r for r in records if r["type"] == "memory"}
    assert memories[STANDUP[0]]["session"] == "standup-12" and memories[OTHER]["session"] is None
    copy = tmp_path / "copy" / "memory.db"
    assert _import(copy, records, strict=True).added == 2
    with Memory.open(copy) as imported:
        again = {r["content"]: r for r in _export(imported) if r["type"] == "memory"}
        assert imported.list(session="standup-12")[0].content == STANDUP[0]
    assert {c: r["session"] for c, r in again.items()} == {STANDUP[0]: "standup-12", OTHER: None}


def test_an_export_from_before_sessions_gets_them_from_meta(mem, tmp_path):
    """A file written before the field existed has no `session` key: meta's session is the default, as it was in
    the store that wrote it. A record that says null is in no session."""
    mem.remember_many([{"text": t, "project": "billing"} for t in [*STANDUP, OTHER]])
    records = _export(mem)
    assert records[0]["version"] == portable.PLAIN_VERSION == 2  # no embeddings, so no derived data
    records[0]["version"] = 1  # as slm wrote it then
    for record in records:
        if record["type"] == "memory":
            del record["session"]
            record["meta"] = {"session": "thread-9"} if record["content"] != OTHER else {}
    [explicit_none] = [r for r in records if r.get("content") == STANDUP[1]]
    explicit_none["session"] = None
    copy = tmp_path / "copy" / "memory.db"
    assert _import(copy, records, strict=True).added == 3
    with Memory.open(copy) as imported:
        sessions = {r.content: r.session for r in imported.list()}
    assert sessions == {STANDUP[0]: "thread-9", STANDUP[1]: None, OTHER: None}


def test_cli_imports_sessions_from_an_export_and_from_mem0(mem, tmp_path):
    mem.remember(STANDUP[0], project="billing", session="standup-12")
    exported = tmp_path / "export.jsonl"
    exported.write_text("".join(portable.dumps(r) + "\n" for r in _export(mem)), encoding="utf-8")
    mem0 = tmp_path / "mem0.json"
    mem0.write_text(json.dumps([{"memory": OTHER, "run_id": "run-7"}, {"memory": STANDUP[1], "run_id": " "}]))
    db = str(tmp_path / "copy" / "memory.db")
    assert run_json("import", exported, "--db", db)["added"] == 1
    assert run_json("import", mem0, "--db", db)["added"] == 2  # a run_id that is no name: no session, still stored
    assert [m["content"] for m in run_json("list", "--session", "run-7", "--db", db)] == [OTHER]
    sessions = {m["content"]: m["session"] for m in run_json("list", "--db", db)}
    assert sessions == {STANDUP[0]: "standup-12", OTHER: "run-7", STANDUP[1]: None}


@pytest.mark.parametrize(("session", "message"), [("  ", "must not be blank"), (7, "must be text")])
def test_a_bad_session_in_a_file_is_a_bad_line(mem, tmp_path, session, message):
    mem.remember_many([{"text": t} for t in STANDUP])
    records = _export(mem)
    records[1]["session"] = session  # the first memory line
    copy = tmp_path / "copy" / "memory.db"
    report = _import(copy, records)
    assert report.added == 1 and len(report.problems) == 1
    assert report.problems[0].where.endswith("line 2") and message in report.problems[0].message


# -- erasure ---------------------------------------------------------------------------------------------------------
MARKER = "qvzxsessionmark"  # letters only: in a memory's text
SESSION = "kwyjibo-therapy-notes"  # a session's name may say what it was about


def files_holding(folder: Path, *needles: str) -> list[str]:
    """Every file under `folder` whose bytes hold any needle in any letter case, in UTF-8 or UTF-16."""
    encoded = [n.lower().encode(enc) for n in needles for enc in ("utf-8", "utf-16-le")]
    return [
        str(p) for p in sorted(folder.rglob("*")) if p.is_file() and any(n in p.read_bytes().lower() for n in encoded)
    ]


def test_erasing_a_session_leaves_no_trace_of_it(db_path):
    db = str(db_path)
    with Memory.open(db_path) as mem:
        said = mem.remember_many(
            [
                {"text": f"Sarah said the {MARKER} plan worries her.", "project": "notes", "session": SESSION},
                {"text": f"Sarah's {MARKER} appointment is on Friday.", "project": "notes", "session": SESSION},
                {"text": "Sarah prefers morning meetings.", "project": "notes", "meta": {"session": SESSION}},
            ]
        )
        newer = mem.update(said[0], f"Sarah said the {MARKER} plan no longer worries her.")
        kept = mem.remember_many(
            [{"text": OTHER, "project": "notes", "session": "standup-13"}, {"text": STANDUP[0], "project": "notes"}]
        )
        mem.feedback(said[1], True, query=f"when is the {MARKER} appointment")
        mem.graph_build()
        assert mem.count(session=SESSION) == 3 and mem.get(newer).session == SESSION
    assert files_holding(db_path.parent, MARKER, SESSION), "the store should hold them before the erasure"

    dry = run_json("erase", "--session", SESSION, "--dry-run", "--db", db)
    assert sorted(dry["ids"]) == sorted([*said, newer])  # every version of every memory of the session
    done = run_json("erase", "--session", SESSION, "--yes", "--db", db)
    assert done["counts"]["memories"] == 4
    receipt = json.loads(Path(done["receipt"]).read_text())
    assert receipt["scope"] == {"session_sha256": hashlib.sha256(SESSION.encode()).hexdigest()}
    assert run("erase", "--verify", done["receipt"], "--db", db).exit_code == 0

    with Memory.open(db_path) as mem:
        assert mem.count(session=SESSION) == 0 and sorted(r.id for r in mem.list()) == sorted(kept)
        assert mem.get(kept[0]).session == "standup-13"
    assert files_holding(db_path.parent, MARKER, SESSION) == []  # the store, its journals, receipts, behaviour


def test_erase_by_session_combines_with_other_conditions(mem):
    mem.remember_many(
        [
            {"text": STANDUP[0], "project": "billing", "session": "s1"},
            {"text": OTHER, "project": "search", "session": "s1"},
            {"text": STANDUP[1], "project": "billing", "session": "s2"},
        ]
    )
    chosen = erasure.select(mem.transfers, erasure.Scope.of(project="billing", session="s1"))
    assert [mem.get(i).content for i in chosen] == [STANDUP[0]]
    with pytest.raises(InvalidInput, match="one of the three"):
        erasure.Scope.of(ids=[1], session="s1")
    with pytest.raises(InvalidInput, match="blank"):
        erasure.Scope.of(session=" ")
