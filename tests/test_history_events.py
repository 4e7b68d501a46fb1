"""Update history, the event log, provenance and the behaviour database, through the Memory facade."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slm import Memory
from slm.errors import InvalidInput, NotFound
from slm.storage.behavior import behavior_path

pytestmark = pytest.mark.both_backends


def _types(mem: Memory) -> list[tuple[str, int | None]]:
    return [(e.type, e.memory_id) for e in mem.events.after(0)]


def test_remember_emits_one_created_event_and_a_duplicate_none(mem):
    first = mem.remember("The api-gateway uses PostgreSQL 15", agent="cursor", project="api")
    again = mem.remember("The api-gateway uses PostgreSQL 15", agent="codex", project="api")
    assert (int(again), again.duplicate, first.duplicate) == (int(first), True, False)
    [event] = mem.events.after(0)
    assert (event.type, event.memory_id, event.agent, event.protocol) == ("memory.created", first, "cursor", "api")
    assert event.payload["project"] == "api" and "PostgreSQL" not in str(event.payload)


def test_update_keeps_the_old_version_as_history(mem):
    old = mem.remember("The api-gateway uses PostgreSQL 15", project="api", tags=["db"], agent="claude-code")
    new = mem.update(old, "The api-gateway moved to MySQL 8 in May", agent="claude-code")
    assert new != old and not new.duplicate
    assert mem.get(old).superseded_by == new and mem.get(old).content.endswith("PostgreSQL 15")
    current = mem.get(new)
    assert (current.project, current.tags, current.agent) == ("api", ("db",), "claude-code")
    assert [h.id for h in mem.recall("which database does the api-gateway use", k=5)] == [new]
    assert [r.id for r in mem.list()] == [new]
    assert _types(mem) == [("memory.created", old), ("memory.created", new), ("memory.updated", old)]
    assert mem.current_version(old) == new
    with pytest.raises(InvalidInput, match="already updated"):
        mem.update(old, "something else", agent="claude-code")
    with pytest.raises(InvalidInput, match="already says exactly that"):
        mem.update(new, "The api-gateway moved to MySQL 8 in May", agent="claude-code")


def test_update_to_an_existing_text_links_to_it(mem):
    a = mem.remember("deploys run on Fridays")
    b = mem.remember("deploys run on Mondays")
    assert mem.update(a, "deploys run on Mondays") == b
    assert mem.get(a).superseded_by == b
    assert mem.stats()["memories"] == 1


def test_forget_takes_earlier_versions_and_tells_the_log(mem):
    v1 = mem.remember("staging database is db-01", agent="vscode")
    v2 = mem.update(v1, "staging database is db-02", agent="vscode")
    other = mem.remember("prod database is db-09")
    assert mem.forget(v2, agent="vscode") == [v2, v1]
    assert [h.id for h in mem.recall("staging database", k=5)] == [other]
    deleted = [e for e in mem.events.after(0) if e.type == "memory.deleted"]
    assert [(e.memory_id, e.agent) for e in deleted] == [(v2, "vscode"), (v1, "vscode")]
    with pytest.raises(NotFound):
        mem.forget(v1)


def test_failed_update_writes_nothing(mem):
    old = mem.remember("cache ttl is 60s")
    before = mem.events.last_id()
    with pytest.raises(InvalidInput):
        mem.update(old, "   ")
    with pytest.raises(NotFound):
        mem.update(987654, "anything")
    assert mem.events.last_id() == before and mem.get(old).superseded_by is None


def test_feedback_goes_to_the_behaviour_database_with_its_event(mem):
    memory_id = mem.remember("use ruff for linting")
    mem.feedback(memory_id, True, query="which linter", agent="cursor")
    [event] = mem.behavior.events.after(0)
    assert (event.type, event.memory_id, event.agent, event.payload) == (
        "feedback.recorded",
        memory_id,
        "cursor",
        {"helpful": True},
    )
    assert mem.behavior.feedback_counts() == {"helpful": 1, "unhelpful": 0}
    assert [e.type for e in mem.events.after(0)] == ["memory.created"]  # memory.db holds no usage


@pytest.mark.sqlite_only
def test_a_sqlite_stores_behaviour_database_is_the_file_beside_it(mem, db_path):
    mem.feedback(mem.remember("use ruff for linting"), True)
    assert behavior_path(db_path) == db_path.with_name("behavior.db") and behavior_path(db_path).exists()


@pytest.mark.parametrize(("memory_id", "helpful"), [(999, True), (1, "yes"), (0, False)])
def test_bad_feedback_is_refused_and_not_recorded(mem, memory_id, helpful):
    mem.remember("one memory")
    with pytest.raises((InvalidInput, NotFound)):
        mem.feedback(memory_id, helpful)
    assert mem.behavior.feedback_counts() == {"helpful": 0, "unhelpful": 0}


def test_protocol_is_recorded_on_memories_and_events(store_at):
    with Memory.open(store_at, protocol="mcp-stdio") as mem:
        memory_id = mem.remember("protocol test", agent="codex")
        mem.agent_connected("codex", {"client": "codex-cli", "version": "1.0"})
        assert mem.get(memory_id).protocol == "mcp-stdio"
        assert [(e.type, e.protocol) for e in mem.events.after(0)] == [
            ("memory.created", "mcp-stdio"),
            ("agent.connected", "mcp-stdio"),
        ]
    with pytest.raises(InvalidInput, match="unknown protocol"):
        Memory.open(store_at, protocol="carrier-pigeon")


def test_custom_database_names_get_their_own_behaviour_file(tmp_path):
    assert behavior_path(tmp_path / "work.db") == tmp_path / "work.behavior.db"


def test_an_update_that_lost_a_race_is_rolled_back(mem, store_at):
    """Another process updates the memory between this update's check and its write: nothing of ours is kept."""
    old = mem.remember("the queue is RabbitMQ")
    with Memory.open(store_at) as other:
        winner = other.update(old, "the queue is Kafka")
    caller, read = mem._caller, mem._caller.get
    caller.get = lambda memory_id: replace(read(memory_id), superseded_by=None)  # a stale read
    with pytest.raises(InvalidInput, match="changed while it was being updated"):
        mem.update(old, "the queue is NATS")
    del caller.get
    assert mem.get(old).superseded_by == winner
    assert [r.content for r in mem.list()] == ["the queue is Kafka"]
    assert [e.type for e in mem.events.after(0)].count("memory.updated") == 1


def test_ids_are_never_reused_after_a_forget(mem):
    first, last = mem.remember("first memory"), mem.remember("second memory")
    last_chunk = mem.conn.execute("SELECT max(id) FROM chunks").fetchone()[0]
    mem.forget(last)
    again = mem.remember("a third memory")
    assert again > last and mem.conn.execute("SELECT max(id) FROM chunks").fetchone()[0] > last_chunk
    assert [h.id for h in mem.recall("a third memory", k=1)] == [again]  # the vector mirror saw the new chunk
    assert first < last


def test_a_version_1_store_is_migrated_with_its_data(tmp_path, slm_home):
    """A store written by the previous release: rows, tags, FTS and vectors survive the table rebuild."""
    import shutil

    import numpy as np

    from slm.storage import migrations, vectors
    from slm.storage.connection import open_connection

    v1 = tmp_path / "v1-migrations"
    v1.mkdir()
    shutil.copy(migrations.migrations_dir() / "0001_memories.sql", v1)
    path = tmp_path / "old" / "memory.db"
    conn = open_connection(path)
    migrations.migrate(conn, v1)
    vectors.create_vector_table(conn, 384)
    conn.execute(
        "INSERT INTO settings VALUES ('embedding.model', 'default'), ('embedding.dim', '384');"
        "INSERT INTO memories (id, content, content_hash, created_at, agent, project) "
        "VALUES (7, 'legacy memory about kafka partitions', 'h7', '2024-01-01T00:00:00Z', 'cursor', 'p');"
        "INSERT INTO memory_tags VALUES (7, 'kafka');"
        "INSERT INTO chunks (id, memory_id, start, end) VALUES (3, 7, 0, 9);"
    )
    vectors.insert_vectors(conn, [3], np.ones((1, 384), np.float32) / np.sqrt(384))
    conn.close()
    with Memory.open(path) as mem:
        row = mem.get(7)
        assert (row.content, row.tags, row.protocol, row.superseded_by) == (
            "legacy memory about kafka partitions",
            ("kafka",),
            "api",
            None,
        )
        assert [h.id for h in mem.recall("kafka partitions", k=1)] == [7]
        assert mem.remember("a new memory") > 7
        mem.forget(7)  # the rebuilt chunks table deletes vectors again
        assert mem.conn.execute("SELECT count(*) FROM chunk_vectors WHERE rowid = 3").fetchone()[0] == 0
        assert mem.conn.execute("PRAGMA foreign_key_check").fetchall() == []
