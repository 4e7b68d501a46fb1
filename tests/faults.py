"""Crash tests: kill an slm operation at a named step in a subprocess, then check what it left behind.

A step is a `faults.step("name")` call in slm's code (`slm/faults.py`): with `SLM_FAULT_AT=name` (or `name:N`, its
N-th pass) the process SIGKILLs itself there, as a power cut or the OOM killer would. `crash_at` runs a command
that way and fails unless the process really died by SIGKILL, so a step that was renamed, moved off the command's
path or never reached fails the test instead of passing silently. After the crash:

- `check_store` checks what no crash may break: SQLite's and FTS5's integrity checks (on PostgreSQL, which keeps
  its own pages: the keyword index slm keeps in tables), foreign keys, one vector per chunk and no vector without
  one, every acknowledged memory (committed before the crash) still there unchanged, and one `memory.created` event
  per memory;
- "rolled back" is `snapshot(db) == before`: every table's rows, the schema and the version, as they were;

A store is a SQLite file (a `Path`) or a database on a PostgreSQL server (a `StoreLocation`): every helper takes
either, and `db_arg` names it on a command line. A server store is copied with `CREATE DATABASE … TEMPLATE`
(`copy_server_store`), as a file store's folder is copied.
- "completes" is the operation run again (or the store opened again) finishing the job: the test says what done
  means for its operation.

Adding a step:
1. put `faults.step("operation.what")` in slm where the operation has finished a unit of work — after a commit
   (what was committed must survive the crash) or inside a long transaction just before its commit (all of it must
   roll back). In a loop, one name serves every pass: `name:N` kills at the N-th. `slm/storage` may use it too
   (`slm.faults` imports nothing, like `slm.errors`).
2. add `"operation.what"` (or `"operation.what:2"`) to that operation's list of steps in tests/test_faults.py;
   the test parametrized over the list kills there, checks the store and runs the operation again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import apsw

from benchmarks.throwaway_postgres import with_database
from slm.storage import health
from slm.storage.connection import open_connection
from slm.storage.db import StoreLocation, open_db
from slm.storage.erasure import TOMBSTONE

_SCRIPT = Path(sys.executable).with_name("slm")
SLM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from slm.cli.main import main; main()"]
FAULT_ENV = "SLM_FAULT_AT"

# A command is the arguments of `slm` (a list) or a Python snippet (a string) run with this interpreter.
Command = Sequence[str | os.PathLike] | str
Store = Path | StoreLocation  # a SQLite file, or a store on a PostgreSQL server
SERVER_SCHEMAS = ("public", "behavior")  # a server store's tables: the memories' and the behaviour's


def nth(step: str, count: int) -> list[str]:
    """`step:1` … `step:count`: every pass of a step inside a loop, to parametrize a test over."""
    return [f"{step}:{i}" for i in range(1, count + 1)]


def run(command: Command, env: Mapping[str, str] | None = None, *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `command` in a subprocess with the test's environment plus `env`, never with a stray fault set."""
    argv = [sys.executable, "-c", command] if isinstance(command, str) else [*SLM, *map(str, command)]
    merged = {k: v for k, v in os.environ.items() if k != FAULT_ENV} | dict(env or {})
    return subprocess.run(argv, env=merged, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def crash_at(step: str, command: Command, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `command` with `SLM_FAULT_AT=step` and assert that it died there by SIGKILL (and did not finish, fail or
    die otherwise)."""
    proc = run(command, {**(env or {}), FAULT_ENV: step})
    assert proc.returncode == -signal.SIGKILL, (
        f"{step}: expected a SIGKILL at the step, got exit code {proc.returncode} — a renamed step, or one this "
        f"command never reaches?\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
    )
    return proc


def finish(command: Command, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `command` without a fault and assert it succeeded: the operation run again after a crash."""
    proc = run(command, env)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
    return proc


def copy_store(template: Path, folder: Path) -> Path:
    """A private copy of a closed template store's folder (memory.db and behavior.db); returns its memory.db."""
    shutil.copytree(template.parent, folder)
    return folder / template.name


def db_arg(db: Store) -> str:
    """The store as `--db` names it: the file's path, or the server's URL."""
    return db.url if isinstance(db, StoreLocation) and db.url else str(db)


def connect(db: Store):
    """A connection to the store: apsw with sqlite-vec for a file, `PgDb` for a server."""
    return open_db(db) if isinstance(db, StoreLocation) else open_connection(db)


def _server_sql(location: StoreLocation, statement: str) -> None:
    """Run `statement` in the maintenance database of `location`'s server (where databases are made and dropped)."""
    import psycopg

    with psycopg.connect(with_database(location.url, "postgres"), autocommit=True) as admin:
        admin.execute(statement)


def _database(location: StoreLocation) -> str:
    return urlsplit(location.url).path.lstrip("/")


def copy_server_store(template: StoreLocation, name: str) -> StoreLocation:
    """A copy of a closed server store (no session may be connected to it) as database `name` on the same server:
    `CREATE DATABASE … TEMPLATE`, the server copying the files (~20 ms for a small store)."""
    from slm.storage.db import server_location

    _server_sql(template, f'CREATE DATABASE "{name}" TEMPLATE "{_database(template)}"')
    return server_location(with_database(template.url, name))


def drop_server_store(location: StoreLocation) -> None:
    """Drop a server store's database, whoever is still connected (a killed client's session may linger)."""
    _server_sql(location, f'DROP DATABASE IF EXISTS "{_database(location)}" WITH (FORCE)')


def memories(db: Store) -> dict[int, str]:
    """id -> text of every memory in the store: what a later crash must not lose or change."""
    conn = connect(db)
    try:
        return dict(conn.execute("SELECT id, content FROM memories"))
    finally:
        conn.close()


def check_store(db: Store, acknowledged: Mapping[int, str], *, created_events: bool = True) -> None:
    """What a crash at any step must leave intact. `acknowledged`: id -> text of the memories committed before the
    crash. `created_events=False` for stores whose memories were written without events (hand-made old schemas);
    no memory may have two either way."""
    conn = connect(db)
    try:
        if conn.backend == "sqlite":
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            _check_fts(conn)
        else:  # the server keeps its pages and foreign keys; the keyword index is slm's own tables
            if health.has_table(conn, "memory_entities"):  # a store older than the graph: its keys are the server's
                assert not any(health.orphan_rows(conn).values()), health.orphan_rows(conn)
            assert health.keyword_index_problems(conn) == {}
        _check_vectors(conn)
        stored = dict(conn.execute("SELECT id, content FROM memories"))
        lost = sorted(set(acknowledged) - set(stored))
        changed = sorted(i for i in acknowledged if i in stored and stored[i] != acknowledged[i])
        assert not lost and not changed, f"acknowledged memories lost {lost} or changed {changed}"
        _check_events(conn, set(stored), created_events)
    finally:
        conn.close()


def _check_fts(conn) -> None:
    try:  # rank 1: also compare the index with the memories table it indexes
        conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)")
    except apsw.Error as err:
        raise AssertionError(f"FTS5 integrity-check: {err}") from err


def _check_vectors(conn) -> None:
    chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    if not _exists(conn, "chunk_vectors"):
        assert chunks == 0, "chunks but no vector table"
        return
    key = "rowid" if conn.backend == "sqlite" else "chunk_id"  # sqlite-vec's rowid; pgvector's table's column
    without = conn.execute(f"SELECT count(*) FROM chunks WHERE id NOT IN (SELECT {key} FROM chunk_vectors)")
    orphans = conn.execute(f"SELECT count(*) FROM chunk_vectors WHERE {key} NOT IN (SELECT id FROM chunks)")
    assert (without.fetchone()[0], orphans.fetchone()[0]) == (0, 0), "chunks without vectors, or vectors without"


def _check_events(conn, stored: set[int], created_events: bool) -> None:
    created: dict[int, int] = dict(
        conn.execute("SELECT memory_id, count(*) FROM events WHERE type = 'memory.created' GROUP BY memory_id")
    )
    assert not [i for i, n in created.items() if n > 1], "a memory created twice"
    deleted = {r[0] for r in conn.execute("SELECT memory_id FROM events WHERE type = 'memory.deleted'")}
    erased = {r[0] for r in conn.execute("SELECT memory_id FROM events WHERE payload = ?", (TOMBSTONE,))}
    assert not stored & deleted, f"memories logged as deleted are still there: {sorted(stored & deleted)}"
    ghosts = set(created) - stored - deleted - erased
    assert not ghosts, f"memory.created events for memories never stored: {sorted(ghosts)}"
    if created_events:
        silent = sorted(stored - set(created))
        assert not silent, f"memories without their memory.created event: {silent}"


def snapshot(db: Store) -> dict:
    """The whole database as data: schema, user_version and every table's rows (sorted), the virtual tables through
    their shadow tables. Equal snapshots before and after a crash mean it rolled back completely.
    On a server: the schema version, the definitions of the tables, columns, indexes, constraints, triggers and
    functions, and every table's rows (sorted), of the memories' and the behaviour's schemas (a behaviour table is
    named `behavior.<table>`); sequences are left out (PostgreSQL never rolls them back)."""
    conn = connect(db)
    try:
        if conn.backend == "postgres":
            return _server_snapshot(conn)
        tables = {}
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            if not sql.upper().startswith("CREATE VIRTUAL"):
                tables[name] = sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
        return {
            "user_version": conn.execute("PRAGMA user_version").fetchone()[0],
            "schema": sorted(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master")),
            "tables": tables,
        }
    finally:
        conn.close()


_SERVER_SCHEMA = """
SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '') || ' ' || coalesce(udt_name, '')
FROM information_schema.columns WHERE table_schema = ANY(?1)
UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = ANY(?1)
UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = ANY(?1)
UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = ANY(?1) AND NOT t.tgisinternal
UNION ALL SELECT 'function ' || p.proname || ' ' || p.prosrc FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(?1)
AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""


def _server_snapshot(conn) -> dict:
    schemas = list(SERVER_SCHEMAS)
    tables = {}
    found = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(?) "
        "AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        (schemas,),
    ).fetchall()
    for schema, name in found:
        rows = conn.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
        plain = [tuple(v.tolist() if hasattr(v, "tolist") else v for v in row) for row in rows]  # a vector: a list
        tables[name if schema == "public" else f"{schema}.{name}"] = sorted(plain, key=repr)
    return {
        "user_version": conn.schema_version(),
        "schema": sorted(r[0] for r in conn.execute(_SERVER_SCHEMA, (schemas,))),
        "tables": tables,
    }


def _exists(conn, table: str) -> bool:
    return health.has_table(conn, table)
