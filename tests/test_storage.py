"""The storage layer on both backends: migrations, the write lock, all-or-nothing writes, the memories
repository and the SQL the engines spell differently; SQLite's pragmas, file permissions and FTS5 on SQLite."""

from __future__ import annotations

import stat
import threading
import time

import apsw
import numpy as np
import pytest

from slm.errors import SchemaError, StorageError, StoreBusy
from slm.storage import connection, migrations, postgres, vectors
from slm.storage.connection import open_connection
from slm.storage.db import open_db, storage_failure
from slm.storage.memories import MemoryFilter, MemoryRepository, NewMemory

pytestmark = pytest.mark.both_backends


def _new(text: str, project: str = "p", dim: int = 4, chunks: int = 1) -> NewMemory:
    return NewMemory(
        content=text,
        content_hash=str(hash(text)),
        created_at="2024-01-01T00:00:00Z",
        event_time=None,
        agent="a",
        project=project,
        kind="note",
        meta={"k": 1},
        tags=("x", "y"),
        spans=[(0, len(text))] * chunks,
        vectors=np.ones((chunks, dim), np.float32),
    )


@pytest.fixture
def conn(store_at):
    """A migrated store with a 4-dimensional vector table: a SQLite file, or a PostgreSQL database."""
    conn = open_db(store_at)
    migrations.migrate(conn)
    vectors.create_vector_table(conn, 4)
    yield conn
    conn.close()


def _driver_error(conn) -> type[Exception]:
    """The exception the backend's driver raises when the database refuses a statement."""
    if conn.backend == "postgres":
        import psycopg

        return psycopg.Error
    return apsw.Error


def test_fresh_database_is_migrated(conn):
    assert migrations.schema_version(conn) == len(migrations.load_migrations(migrations.history_dir(conn)))


@pytest.mark.sqlite_only
def test_fresh_sqlite_database_is_configured(conn):
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def _hold_the_lock(conn, seconds: float) -> threading.Thread:
    """Another writer: `conn` takes the write lock in a thread, writes, and commits `seconds` later."""
    holding = threading.Event()

    def hold() -> None:
        with conn.write_transaction():
            conn.execute("INSERT INTO settings (key, value) VALUES ('holder', '1')")
            holding.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait()
    return thread


def test_a_writer_waits_for_another_instead_of_failing(conn, store_at):
    """The busy handler (SQLite), the advisory lock's wait (PostgreSQL): a second connection's write waits until
    the first commits, then goes through."""
    other = open_db(store_at)
    holder = _hold_the_lock(conn, 0.3)
    started = time.monotonic()
    with other.write_transaction():
        other.execute("INSERT INTO settings (key, value) VALUES ('waiter', '1')")
    waited = time.monotonic() - started
    holder.join()
    keys = {k for (k,) in other.execute("SELECT key FROM settings WHERE key IN ('holder', 'waiter')")}
    assert keys == {"holder", "waiter"} and waited > 0.1
    other.close()


def test_a_writer_kept_out_past_the_timeout_gets_store_busy(conn, store_at, monkeypatch):
    """The backend's own error, not the driver's, so the faces report it without importing a driver."""
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(postgres, "WAIT_SECONDS", 0.1)
    other = open_db(store_at)
    holder = _hold_the_lock(conn, 1.0)
    try:
        with pytest.raises(StoreBusy, match="locked"), other.write_transaction():
            other.execute("INSERT INTO settings (key, value) VALUES ('never', '1')")
    finally:
        holder.join()
    assert other.execute("SELECT count(*) FROM settings WHERE key = 'never'").fetchone()[0] == 0
    with other.write_transaction():  # the refused writer's connection is still usable
        other.execute("INSERT INTO settings (key, value) VALUES ('later', '1')")
    other.close()


def test_a_driver_error_reads_as_a_storage_error():
    assert isinstance(storage_failure(apsw.BusyError("database is locked")), StoreBusy)
    damaged = storage_failure(apsw.CorruptError("database disk image is malformed"))
    assert type(damaged) is StorageError and "slm doctor" in damaged.hint
    assert storage_failure(ValueError("not a driver's")) is None


def test_files_are_private(tmp_path):
    path = tmp_path / "new" / "dir" / "memory.db"
    conn = open_connection(path)
    migrations.migrate(conn)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for sidecar in path.parent.glob("memory.db-*"):
        assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0
    conn.close()


@pytest.mark.sqlite_only
def test_migrating_again_changes_nothing(conn):
    before = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    assert migrations.migrate(conn) == len(migrations.load_migrations())
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == before


def test_old_database_is_upgraded_in_order(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x);")
    conn = open_connection(tmp_path / "m.db")
    assert migrations.migrate(conn, folder) == 1
    (folder / "0002_b.sql").write_text("CREATE TABLE b (y); INSERT INTO b SELECT x FROM a;")
    assert migrations.migrate(conn, folder) == 2
    assert migrations.schema_version(conn) == 2
    assert conn.execute("SELECT count(*) FROM b").fetchone()[0] == 0


def test_failed_migration_rolls_back_whole(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (y); INSERT INTO nowhere VALUES (1);")
    conn = open_connection(tmp_path / "m.db")
    with pytest.raises(apsw.SQLError):
        migrations.migrate(conn, folder)
    assert migrations.schema_version(conn) == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'b'").fetchone()[0] == 0


def test_database_newer_than_code_is_refused(conn):
    if conn.backend == "postgres":
        conn.set_schema_version(999)
    else:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(SchemaError, match="newer than this slm"):
        migrations.migrate(conn)


def test_badly_numbered_migrations_are_refused(tmp_path):
    (tmp_path / "0002_gap.sql").write_text("SELECT 1;")
    with pytest.raises(SchemaError, match="without gaps"):
        migrations.load_migrations(tmp_path)


def test_insert_writes_row_tags_fts_chunks_and_vectors(conn):
    repo = MemoryRepository(conn)
    [(memory_id, new)] = repo.insert_many([_new("postgres vacuum settings", chunks=2)])
    assert new
    row = repo.get(memory_id)
    assert (row.content, row.tags, row.meta) == ("postgres vacuum settings", ("x", "y"), {"k": 1})
    assert conn.execute("SELECT count(*) FROM chunk_vectors").fetchone()[0] == 2
    assert sorted(vectors.vectors_of(conn, [1, 2, 3], 4)) == [1, 2]


@pytest.mark.sqlite_only  # keyword search on PostgreSQL is keyword_pg's (issue 24, step 10)
def test_the_keyword_index_follows_inserts_failures_and_deletes(conn):
    repo = MemoryRepository(conn)
    [(memory_id, _)] = repo.insert_many([_new("postgres vacuum settings")])
    assert repo.keyword_search('"vacuum"', MemoryFilter(), 10)[0][0] == memory_id
    with pytest.raises(apsw.Error):
        repo.insert_many([_new("fine memory"), _new("vector of the wrong size", dim=7)])
    assert repo.keyword_search('"fine"', MemoryFilter(), 10) == []
    repo.delete([memory_id])
    assert repo.keyword_search('"vacuum"', MemoryFilter(), 10) == []


def test_duplicate_in_same_project_returns_existing_id(conn):
    repo = MemoryRepository(conn)
    [(first, _)] = repo.insert_many([_new("same text")])
    assert repo.insert_many([_new("same text")]) == [(first, False)]
    [(other, new)] = repo.insert_many([_new("same text", project="other")])
    assert new and other != first
    assert repo.count() == 2


def test_a_superseded_text_can_be_stated_again(conn):
    repo = MemoryRepository(conn)
    [(old, _)], [(newer, _)] = repo.insert_many([_new("db is postgres")]), repo.insert_many([_new("db is mysql")])
    repo.supersede(old, newer)
    [(again, new)] = repo.insert_many([_new("db is postgres")])
    assert new and again not in (old, newer)
    assert sorted(r.id for r in repo.list(MemoryFilter(), 10)) == sorted([again, newer])
    assert repo.conn.execute("SELECT count(*) FROM memories").fetchone()[0] == 3
    assert repo.versions(newer) == [newer, old]


def test_failed_write_leaves_nothing_half_written(conn):
    repo = MemoryRepository(conn)
    good, bad = _new("fine memory"), _new("vector of the wrong size", dim=7)
    with pytest.raises(_driver_error(conn)):
        repo.insert_many([good, bad])
    for table in ("memories", "memory_tags", "chunks", "chunk_vectors"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_delete_removes_every_trace(conn):
    repo = MemoryRepository(conn)
    [(memory_id, _)] = repo.insert_many([_new("secret token abc", chunks=3)])
    repo.delete([memory_id])
    for table in ("memories", "memory_tags", "chunks", "chunk_vectors"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_filters_combine(conn):
    repo = MemoryRepository(conn)
    (a, _), (b, _) = repo.insert_many([_new("alpha note", project="p1"), _new("beta note", project="p2")])
    assert [r.id for r in repo.list(MemoryFilter(project="p1"), 10)] == [a]
    assert repo.count(MemoryFilter(tags=("x", "y"))) == 2
    assert repo.count(MemoryFilter(tags=("x", "missing"))) == 0
    assert repo.count(MemoryFilter(since="2025-01-01T00:00:00Z")) == 0
    assert repo.count(MemoryFilter(until="2024-01-01T00:00:00Z")) == 2
    assert sorted(repo.ids_matching(MemoryFilter(agent="a")).tolist()) == [a, b]


def test_vector_table_dimension_is_read_back(conn):
    assert vectors.vector_table_dim(conn) == 4


# -- SQL the engines spell differently (the dialect's fragments, portable ON CONFLICT): it still does what it did
def _stored(conn, count: int) -> list[int]:
    repo = MemoryRepository(conn)
    return [memory_id for memory_id, _ in repo.insert_many([_new(f"memory number {i}") for i in range(count)])]


def test_a_duplicate_insert_is_ignored_and_an_upsert_replaces(conn):
    from types import SimpleNamespace

    from slm.storage.gaussians import GaussianRepository
    from slm.storage.graph import GraphRepository
    from slm.storage.lifecycle import LifecycleRepository
    from slm.storage.trust import PrincipalState, TrustRepository

    [memory_id] = _stored(conn, 1)
    trust = TrustRepository(conn)
    assert trust.endorse(memory_id, "bob", "helpful") and not trust.endorse(memory_id, "bob", "helpful")
    graph = GraphRepository(conn)
    entity = SimpleNamespace(key="pg", name="PostgreSQL", kind="tool")
    graph.link_entities(memory_id, [entity])
    graph.link_entities(memory_id, [entity])
    assert [(e.key, e.memories) for e in graph.entities_by_key(["pg"])] == [("pg", 1)]
    lifecycle = LifecycleRepository(conn)
    lifecycle.add([(memory_id, 0.9, 10.0)])
    lifecycle.add([(memory_id, 0.1, 20.0)])
    assert (lifecycle.row(memory_id)["importance"], lifecycle.row(memory_id)["born"]) == (0.9, 10.0)
    for alpha in (1.0, 2.0):
        trust.save_state(PrincipalState("bob", alpha, 3.0, 0.5, 4, "2024-01-01T00:00:00Z", None, 7))
    assert trust.posteriors() == {"bob": (2.0, 3.0)}
    gaussians = GaussianRepository(conn)
    for n in (1.0, 2.0):
        gaussians.put(memory_id, n, np.full(4, n, np.float32), np.zeros(4, np.float32))
    assert gaussians.get_many([memory_id])[memory_id][0] == 2.0


@pytest.mark.parametrize("count", [0, 1, 1000])
def test_an_id_list_of_any_length_selects_exactly_those(conn, count):
    from slm.storage.trust import TrustRepository

    ids = _stored(conn, max(count, 1) + 1)
    chosen = ids[:count]
    assert MemoryRepository(conn).with_tag(chosen, "x") == set(chosen)
    trust = TrustRepository(conn)
    for memory_id in ids:
        trust.add_memory(memory_id, "bob")
    assert sorted(trust.memories(chosen)) == chosen


def test_joined_ids_greatest_count_true_and_contains(conn):
    from slm.storage.erasure import matching_ids
    from slm.storage.lifecycle import LifecycleRepository
    from slm.storage.projects import ProjectRepository

    ids = _stored(conn, 3)
    repo = MemoryRepository(conn)
    assert repo.ordered_ids(MemoryFilter(), newest_first=False).tolist() == ids
    assert repo.ordered_ids(MemoryFilter(project="none")).tolist() == []
    assert repo.supersede(ids[0], ids[1])
    [row] = ProjectRepository(conn).projects("p")
    assert (row.memories, row.versions) == (2, 3)
    lifecycle = LifecycleRepository(conn)
    lifecycle.add([(ids[2], 0.5, 10.0)])
    lifecycle.use({ids[2]: (1.0, 30.0)})
    lifecycle.use({ids[2]: (1.0, 20.0)})
    lifecycle.use({ids[2]: (1.0, None)})
    assert (lifecycle.row(ids[2])["uses"], lifecycle.row(ids[2])["last_used"]) == (4.0, 30.0)
    assert matching_ids(conn, MemoryFilter(versions=True), "NUMBER 2", None) == [ids[2]]


def test_rows_of_tuples_reach_the_query_whole(conn):
    from slm.storage.claims import ClaimRepository, ClaimRow

    ids = _stored(conn, 2)
    claims = ClaimRepository(conn)
    for memory_id, value in zip(ids, ("5432", "5433"), strict=True):
        claims.add(ClaimRow(0, memory_id, "db", "port", value, 1, True, False, "r", "p", "a", "2024-01-01"))
    claims.add(ClaimRow(0, ids[0], "db", "host", "local", 1, True, False, "r", "p", "a", "2024-01-01"))
    keys = [("db", "port", "p"), ("db", "host", "p"), ("db", "port", "other"), ("it's", '"q"', "p")]
    assert claims.disputable(keys) == {("db", "port", "p")}
    assert claims.disputable([]) == set()


def _said(text: str, session: str | None, when: str, project: str = "p") -> NewMemory:
    base = _new(text, project)
    return NewMemory(**{**base.__dict__, "session": session, "event_time": when})


def test_sessions_versions_and_the_reads_recall_makes(conn):
    """The reads recall and browsing make, beyond the filters: session members and neighbours (rows of pairs),
    the version chain (a recursive query), and per-id lengths, times, tags and counts."""
    from slm.storage.memories import neighbours_in

    repo = MemoryRepository(conn)
    ids = [
        memory_id
        for memory_id, _ in repo.insert_many(
            [
                _said("standup one", "s1", "2024-03-01T09:00:00Z"),
                _said("standup two", "s1", "2024-03-01T09:01:00Z"),
                _said("elsewhere", "s1", "2024-03-02T00:00:00Z", project="q"),
                _said("standup three", "s1", "2024-03-01T09:02:00Z"),
                _said("no session", None, "2024-02-01T00:00:00Z"),
            ]
        )
    ]
    sessions, members = repo.session_members([ids[1], ids[2], ids[4]])
    assert sessions == {ids[1]: ("p", "s1"), ids[2]: ("q", "s1")}
    assert members == {("p", "s1"): [ids[0], ids[1], ids[3]], ("q", "s1"): [ids[2]]}
    assert neighbours_in(sessions, members, 1) == {ids[1]: [(-1, ids[0]), (1, ids[3])], ids[2]: []}
    assert repo.lengths_of(ids[:2]) == {ids[0]: 11, ids[1]: 11}
    assert repo.times_of([ids[4]]) == {ids[4]: "2024-02-01T00:00:00Z"}
    assert repo.time_range() == ("2024-02-01T00:00:00Z", "2024-03-02T00:00:00Z")
    assert repo.counts_by("project") == {"p": 4, "q": 1}
    assert repo.ordered_ids(MemoryFilter(session="s1")).tolist() == [ids[2], ids[3], ids[1], ids[0]]
    assert repo.filter_ids(ids, MemoryFilter(project="q")) == {ids[2]}
    repo.set_tags(ids[0], ("z",))
    assert repo.tag_counts() == {"x": 4, "y": 4, "z": 1}
    assert repo.get(ids[0]).tags == ("z",)

    [(newer, _)] = repo.insert_many([_said("standup one, corrected", "s1", "2024-03-01T09:00:30Z")])
    assert repo.supersede(ids[0], newer) and not repo.supersede(ids[0], newer)
    assert repo.replaced_by(newer) == [ids[0]] and repo.versions(newer) == [newer, ids[0]]
    assert repo.hidden_ids(live=False).tolist() == [ids[0]]
    assert repo.members_of({("p", "s1")}) == {("p", "s1"): [ids[1], ids[3], newer]}
    assert repo.count(MemoryFilter(as_of="2024-03-01T09:00:10Z")) == 2  # the first version held then
    [(twin, _)] = repo.insert_many([_said("standup one", None, "2024-04-01T00:00:00Z")])
    assert repo.reinstate(ids[0]) == twin and repo.get(ids[0]).superseded_by == twin
    assert [memory_id for memory_id, _ in repo.contents(ids[3], 2)] == [ids[4], newer]


def test_a_write_inside_a_plain_transaction_tells_other_connections(conn, store_at):
    """data_version moves for every commit that wrote under the lock, also when the write transaction was opened
    inside a plain one after an earlier write on the same connection (PostgreSQL counts them itself)."""
    other = open_db(store_at)
    with conn.write_transaction():
        conn.execute("INSERT INTO settings (key, value) VALUES ('first', '1')")
    seen = other.data_version()
    with conn.transaction(), conn.write_transaction():
        conn.execute("INSERT INTO settings (key, value) VALUES ('second', '1')")
    assert other.data_version() != seen
    other.close()


# -- the write path in one write transaction (on PostgreSQL: pipelined, statements sent without waiting) ------------
def test_a_memorys_chunks_keep_their_order_and_their_own_vectors(conn):
    from slm.storage import portable

    repo = MemoryRepository(conn)
    memory = _new("one two three four five six", chunks=3)
    spans, matrix = [(0, 7), (4, 13), (8, 27)], np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    with conn.write_transaction():
        [(first, _)] = repo.insert_many([memory])
        [(second, _)] = repo.insert_many([_new("another memory", chunks=2)])
        repo.insert_chunks(first, spans, matrix)
    stored_spans, stored = portable.embeddings(conn, [first], 4)[first]
    assert stored_spans == [(0, len(memory.content))] * 3 + spans
    assert np.array_equal(stored[3:], matrix)  # bit for bit, each chunk with its own vector
    ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE memory_id = ? ORDER BY id", (first,))]
    assert len(ids) == 6 and ids[3] > max(
        r[0] for r in conn.execute("SELECT id FROM chunks WHERE memory_id = ?", (second,))
    )


def test_a_failing_statement_rolls_the_whole_write_transaction_back(conn):
    repo = MemoryRepository(conn)
    with pytest.raises(_driver_error(conn)), conn.write_transaction():
        repo.insert_many([_new("fine memory")])
        repo.insert_many([_new("vector of the wrong size", dim=7)])
        conn.execute("SELECT count(*) FROM memories").fetchone()
    for table in ("memories", "memory_tags", "chunks", "chunk_vectors"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    with conn.write_transaction():  # the connection is usable again
        repo.insert_many([_new("fine memory")])
    assert repo.count() == 1


def test_a_savepoint_undoes_its_body_when_it_raises_and_the_writer_carries_on(conn):
    repo = MemoryRepository(conn)
    with conn.write_transaction():
        [(kept, _)] = repo.insert_many([_new("kept")])
        with pytest.raises(ValueError), conn.write_transaction():
            repo.insert_many([_new("undone")])
            raise ValueError("the body changed its mind")
        assert repo.supersede(kept, kept) and not repo.supersede(kept, kept)  # row counts read in the transaction
    assert conn.execute("SELECT content FROM memories").fetchall() == [("kept",)]


def test_entities_named_twice_in_one_memory_are_one_entity(conn):
    from slm.graph.entity_keys import Entity
    from slm.storage.graph import GraphRepository

    repo, graph = MemoryRepository(conn), GraphRepository(conn)
    [(a, _), (b, _)] = repo.insert_many([_new("first"), _new("second")])
    with conn.write_transaction():
        graph.link_entities(a, [Entity("postgresql", "PostgreSQL", "technology"), Entity("postgresql", "pg", "x")])
        graph.link_entities(
            b, [Entity("postgresql", "Postgres", "technology"), Entity("person:sarah", "Sarah", "person")]
        )
    rows = {e.key: e for e in graph.entities_by_key(["postgresql", "person:sarah"])}
    assert (rows["postgresql"].name, rows["postgresql"].memories, rows["person:sarah"].memories) == ("PostgreSQL", 2, 1)
    assert conn.execute("SELECT count(*) FROM memory_entities").fetchone()[0] == 3
