"""Kill each multi-step operation at every named step (tests/faults.py) and check integrity, that nothing
acknowledged is lost, and that the operation rolled back or completes when run again.

Stores are small and made once per module and backend; each test copies a template (a SQLite store's folder, or a
PostgreSQL database with `CREATE DATABASE … TEMPLATE`). Every operation on a store runs on both backends, the old
schemas built from each backend's own migration history; where they differ the test says how (PostgreSQL's
migrations leave no claims to backfill; its identities skip the ids a rolled-back import drew; the index a breakage
damages). The model file is no store's: those tests run once. (erase has its own crash tests.)
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from slm import Memory
from slm.embedding import conversion
from slm.portability import exporter, importer
from slm.storage import migrations, vectors
from slm.storage.db import StoreLocation, open_behavior_db, server_location
from slm.storage.keyword_pg import PostgresKeywordIndex
from tests.conftest import BACKENDS
from tests.faults import (
    SLM,
    Store,
    check_store,
    connect,
    copy_server_store,
    copy_store,
    crash_at,
    db_arg,
    drop_server_store,
    finish,
    memories,
    nth,
    snapshot,
)

TOPICS = [
    ["The billing service stores invoices in PostgreSQL", "Nightly pg_dump backups of PostgreSQL go to S3",
     "Priya tuned PostgreSQL autovacuum for billing", "The PostgreSQL replica lags during month-end billing"],
    ["Deploys to Kubernetes run from GitHub Actions", "The Kubernetes staging cluster has three nodes",
     "Tom owns the Kubernetes Helm charts", "Docker images are built in GitHub Actions before Kubernetes deploys"],
    ["The web app is written in TypeScript with React", "React components use TypeScript strict mode",
     "The design system ships React and TypeScript typings", "Storybook documents the React TypeScript components"],
    ["Alice is travelling to Paris in June", "The Paris office hosts the June offsite",
     "Alice booked a hotel in Paris near the office", "Flights to Paris for the offsite leave on Monday"],
    ["Kafka carries the order events", "The Kafka consumers of order events run in Go",
     "Order events are kept seven days in Kafka", "Go services publish order events to Kafka"],
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One llama.cpp thread, here and in the subprocesses: its workers spin while they wait, so on shared cores two
    threads re-embedded 70 memories in 2.3–5.3 s, one in 0.6 s."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLM_THREADS", "1")
        yield


def notes(count: int, start: int = 0) -> list[dict]:
    """`count` distinct memories in five topics, each topic sharing entities (so the graph has clusters)."""
    out = []
    for i in range(start, start + count):
        topic = TOPICS[i % len(TOPICS)]
        out.append({"text": f"{topic[(i // len(TOPICS)) % len(topic)]} (note {i}).", "project": f"p{i % 2}"})
    return out


def open_script(db: Store) -> str:
    return f"from slm import Memory; Memory.open({db_arg(db)!r}).close()"


@pytest.fixture(scope="module", params=BACKENDS)
def kind(request) -> str:
    """The backend of this module's stores: each test on a store runs on both, the templates made once per backend."""
    return request.param


class Stores:
    """Stores of one backend: new ones (a file in a folder of its own, or a new database) and copies of closed ones
    (the folder copied, or `CREATE DATABASE … TEMPLATE`); `drop` removes the databases made."""

    _names = itertools.count(1)

    def __init__(self, kind: str, folder: Callable[[str], Path], request) -> None:
        self.kind, self.folder, self.request = kind, folder, request
        self.made: list[StoreLocation] = []

    def new(self, name: str) -> Store:
        if self.kind == "sqlite":
            return self.folder(name) / "store" / "memory.db"
        server = self.request.getfixturevalue("pg_server")
        self.made.append(server_location(server.url(server.new_database())))
        return self.made[-1]

    def copy(self, template: Store, name: str = "copy") -> Store:
        if isinstance(template, Path):
            return copy_store(template, self.folder(name) / "store")
        self.made.append(copy_server_store(template, f"slm_faults_{os.getpid()}_{next(self._names)}"))
        return self.made[-1]

    def drop(self) -> None:
        for location in self.made:
            drop_server_store(location)


@pytest.fixture(scope="module")
def stores(kind, request, tmp_path_factory) -> Iterator[Stores]:
    """The module's templates, made once per backend."""
    made = Stores(kind, tmp_path_factory.mktemp, request)
    yield made
    made.drop()


@pytest.fixture
def copy(kind, request, tmp_path) -> Iterator[Callable[[Store], Store]]:
    """A test's private copy of a closed template store (a server's is dropped after the test)."""
    made = Stores(kind, lambda name: tmp_path / name, request)
    yield made.copy
    made.drop()


STORE_MEMORIES = 70  # two pages of re-embedding, two batches of graph linking and of import


@pytest.fixture(scope="module")
def store(slm_home, stores) -> Store:
    """A store of 70 memories in five topics, clustered: the template most tests copy."""
    db = stores.new("store")
    with Memory.open(db) as mem:
        mem.remember_many(notes(STORE_MEMORIES))
        mem.graph_build()
    return db


# -- import -------------------------------------------------------------------------------------------------------
# 64 + 7 records: two batches; memory 4 is updated last, so its version chain spans them
IMPORT_STEPS = ["import.checked", "import.storing:1", *nth("import.batch", 2), *nth("import.behavior", 3)]


@pytest.fixture(scope="module")
def export_file(store, stores, tmp_path_factory) -> Path:
    """An export with vectors, a version chain spanning batches, and behaviour records (made on the backend under
    test, so its export is exercised too)."""
    db = stores.copy(store, "source")
    with Memory.open(db) as source:
        source.update(4, "The billing service moved its invoices to CockroachDB.")
        source.record_recall("billing database", 3, source.recall("billing database", 3))
        source.record_recall("kafka retention", 3, source.recall("kafka retention", 3))
        source.feedback(1, True, query="billing database")
        path = tmp_path_factory.mktemp("export") / "export.jsonl"
        with path.open("w", encoding="utf-8") as out:
            exporter.export(source.transfers, out, embeddings=True, behavior=True)
    return path


@pytest.fixture(scope="module")
def import_target(slm_home, stores) -> Store:
    """A store with memories of its own, on the same model as the export (so the file's vectors are used)."""
    db = stores.new("target")
    with Memory.open(db) as mem:
        mem.remember_many(notes(3, start=1000))
    return db


@pytest.fixture(scope="module")
def imported_whole(import_target, export_file, stores) -> dict:
    """The import run without a crash: what every crashed-then-rerun import must end up as."""
    db = stores.copy(import_target, "whole")
    with Memory.open(db) as mem:
        report = importer.import_file(mem.transfers, export_file)
    assert report.added == STORE_MEMORIES + 1 and report.behavior_added == 3
    return outcome(db)


def outcome(db: Store) -> dict:
    """What an import must produce, ids included: memories as stored, tags, chunks, events and behaviour."""
    conn = connect(db)
    behavior = connect(db.with_name("behavior.db")) if isinstance(db, Path) else open_behavior_db(db)
    try:
        return {
            "memories": conn.execute(
                "SELECT id, content, project, created_at, agent, superseded_by, valid_from, valid_to FROM memories "
                "ORDER BY id"
            ).fetchall(),
            "tags": conn.execute("SELECT * FROM memory_tags ORDER BY 1, 2").fetchall(),
            "chunks": conn.execute("SELECT memory_id, count(*) FROM chunks GROUP BY 1 ORDER BY 1").fetchall(),
            "events": conn.execute("SELECT type, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall(),
            "claims": conn.execute("SELECT count(*), count(superseded_by) FROM claims").fetchall(),
            "recalls": behavior.execute("SELECT query, results FROM recalls ORDER BY 1").fetchall(),
            "feedback": behavior.execute("SELECT memory_id, helpful FROM feedback").fetchall(),
        }
    finally:
        conn.close()
        behavior.close()


def renumbered(found: dict) -> dict:
    """`outcome` with the memory ids numbered 1, 2, … in their order. A PostgreSQL identity never gives back the ids
    a rolled-back transaction drew (SQLite's rowid does: max + 1), so an import killed before its commit leaves a
    gap in the ids the rerun assigns; the order, and every reference, must still be exactly the whole run's."""
    new = {old: i for i, old in enumerate(sorted(row[0] for row in found["memories"]), 1)}

    def one(memory_id: int | None) -> int | None:
        return None if memory_id is None else new[memory_id]

    return {
        **found,
        "memories": [(one(m[0]), *m[1:5], one(m[5]), *m[6:]) for m in found["memories"]],
        "tags": [(one(t[0]), *t[1:]) for t in found["tags"]],
        "chunks": [(one(c[0]), *c[1:]) for c in found["chunks"]],
        "recalls": [(q, json.dumps([one(i) for i in json.loads(r)])) for q, r in found["recalls"]],
        "feedback": [(one(f[0]), *f[1:]) for f in found["feedback"]],
    }


@pytest.mark.parametrize("step", IMPORT_STEPS)
def test_import_killed_at_a_step_resumes(step, kind, import_target, export_file, imported_whole, copy):
    db = copy(import_target)
    own, before = memories(db), snapshot(db)
    crash_at(step, ["import", export_file, "--db", db_arg(db), "--json"])
    check_store(db, own)
    committed = memories(db)
    if step in ("import.checked", "import.storing:1"):
        assert snapshot(db) == before  # nothing committed yet: exactly as before
    else:
        assert len(own) < len(committed) <= len(own) + STORE_MEMORIES + 1
    with Memory.open(db) as mem:  # again: adds exactly the rest, nothing twice
        report = importer.import_file(mem.transfers, export_file)
    assert report.added == STORE_MEMORIES + 1 - (len(committed) - len(own))
    check_store(db, committed)
    assert renumbered(outcome(db)) == renumbered(imported_whole)
    if kind == "sqlite" or step != "import.storing:1":  # nothing drawn from the identities before the kill
        assert outcome(db) == imported_whole


def test_a_foreign_import_killed_after_a_batch_resumes(import_target, copy, tmp_path):
    """Other tools' files go through `remember_many` a batch at a time; their texts are deterministic, so a rerun
    skips what the killed run committed. (`import.checked` comes before any write, as for slm files.)"""
    groups = [notes(STORE_MEMORIES)[t :: len(TOPICS)] for t in range(len(TOPICS))]
    entities = [
        {"type": "entity", "name": f"topic {t}", "entityType": "topic", "observations": [n["text"] for n in group]}
        for t, group in enumerate(groups)
    ]
    source = tmp_path / "memory.jsonl"
    source.write_text("".join(json.dumps(entity) + "\n" for entity in entities), encoding="utf-8")
    db = copy(import_target)
    own = memories(db)
    crash_at("import.batch:1", ["import", source, "--db", db_arg(db), "--json"])
    check_store(db, own)
    committed = memories(db)
    assert len(committed) == len(own) + importer.BATCH
    with Memory.open(db) as mem:
        report = importer.import_file(mem.transfers, source)
    assert (report.added, report.already) == (STORE_MEMORIES - importer.BATCH, importer.BATCH)
    check_store(db, committed)
    assert len(memories(db)) == len(own) + STORE_MEMORIES


# -- migrations ---------------------------------------------------------------------------------------------------
OLD_VERSION = 2
NEWER = len(migrations.load_migrations()) - OLD_VERSION
MIGRATION_STEPS = [*nth("migration.applied", NEWER), *nth("migration.committed", NEWER), "backfill.claims"]
OLD_NOTES = ["The billing service uses PostgreSQL.", "Postgres backups run nightly.", "Tom owns the Helm charts.",
             "The api gateway runs on port 8080.", "Alice prefers Rust over Go."]  # fmt: skip
# the old store's vectors and history, which no migration may touch: the vector table as each backend stores it
KEPT = {
    "sqlite": ("chunks", "chunk_vectors_vector_chunks00", "events"),
    "postgres": ("chunks", "chunk_vectors", "events"),
}


def migrations_up_to(version: int, folder: Path, kind: str) -> Path:
    """A folder holding the backend's first `version` migrations: a store as the slm of that schema made it."""
    folder.mkdir(parents=True, exist_ok=True)
    history = migrations.migrations_dir() / ("postgres" if kind == "postgres" else "")
    for found in sorted(history.glob("*.sql"))[:version]:
        shutil.copy(found, folder)
    return folder


def test_both_backends_have_the_same_migrations_to_kill():
    """MIGRATION_STEPS counts SQLite's history; PostgreSQL's has the same number of steps."""
    assert len(migrations.load_migrations(migrations.migrations_dir() / "postgres")) == OLD_VERSION + NEWER


@pytest.fixture(scope="module")
def v2_store(slm_home, kind, stores, tmp_path_factory) -> Store:
    """A store as slm at schema 2 left it (before the graph, trust, lifecycle and claims), with chunks, vectors and
    events (and, on PostgreSQL, each memory's keyword tokens, which its repository writes with the memory)."""
    root = tmp_path_factory.mktemp("v2")
    db = stores.new("v2")
    conn = connect(db)
    migrations.migrate(conn, migrations_up_to(OLD_VERSION, root / "migrations", kind))
    vectors.create_vector_table(conn, 384)
    conn.execute("INSERT INTO settings VALUES ('embedding.model', 'default'), ('embedding.dim', '384')")
    rng = np.random.default_rng(7)
    for i, text in enumerate(OLD_NOTES, 1):
        conn.execute(
            "INSERT INTO memories (id, content, content_hash, created_at, agent, project) "
            "VALUES (?, ?, ?, '2024-01-0' || CAST(? AS text) || 'T00:00:00Z', 'cursor', 'p')",
            (i, text, f"h{i}", i),
        )
        if kind == "postgres":
            PostgresKeywordIndex(conn).add(i, text)
        conn.execute('INSERT INTO chunks (id, memory_id, start, "end") VALUES (?, ?, 0, ?)', (i, i, len(text)))
        vector = rng.normal(size=(1, 384)).astype(np.float32)
        vectors.insert_vectors(conn, [i], vector / np.linalg.norm(vector))
        conn.execute(
            "INSERT INTO events (time, type, agent, protocol, memory_id, payload) "
            "VALUES ('2024-01-01T00:00:00.000000Z', 'memory.created', 'cursor', 'api', ?, '{}')",
            (i,),
        )
    if kind == "postgres":  # ids given explicitly: the identity sequences move past them, as slm's own inserts do
        for table in ("memories", "chunks"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    conn.close()
    return db


@pytest.fixture(scope="module")
def versions(v2_store, kind, stores, tmp_path_factory) -> dict[int, dict]:
    """The v2 store migrated to each later version (no migration depends on the clock, so these are exact): what a
    crash inside migration n must leave (version n - 1) and a crash after its commit (version n)."""
    root = tmp_path_factory.mktemp("versions")
    db = stores.copy(v2_store, "versions")
    found = {OLD_VERSION: snapshot(db)}
    for version in range(OLD_VERSION + 1, OLD_VERSION + NEWER + 1):
        conn = connect(db)
        migrations.migrate(conn, migrations_up_to(version, root / f"m{version}", kind))
        conn.close()
        found[version] = snapshot(db)
    return found


@pytest.fixture(scope="module")
def migrated_whole(v2_store, stores) -> dict:
    """Row counts of every table after an uninterrupted open: what a crashed-then-reopened store must reach."""
    db = stores.copy(v2_store, "v2-whole")
    Memory.open(db).close()
    return row_counts(db)


def row_counts(db: Store) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(db)["tables"].items()}


@pytest.mark.parametrize("step", MIGRATION_STEPS)
def test_migration_killed_at_a_step_finishes_on_next_open(step, kind, v2_store, versions, migrated_whole, copy):
    db = copy(v2_store)
    old = memories(db)
    if step == "backfill.claims" and kind == "postgres":
        # migrations/postgres/0007 sets no `claims.backfill` marker: every server store was made at a later schema,
        # so none has memories without claims. The open passes no such step and finishes the migrations.
        finish(open_script(db))
        assert snapshot(db)["user_version"] == OLD_VERSION + NEWER and not snapshot(db)["tables"]["claims"]
        assert row_counts(db) == migrated_whole
        return
    crash_at(step, open_script(db))
    name, _, n = step.partition(":")
    if name == "migration.applied":  # rolled back to the version before it, exactly
        assert snapshot(db) == versions[OLD_VERSION + int(n) - 1]
    elif name == "migration.committed":  # that migration kept, exactly
        assert snapshot(db) == versions[OLD_VERSION + int(n)]
    else:  # the claims of old memories, made on the first open after the migrations: not there yet
        assert snapshot(db)["user_version"] == OLD_VERSION + NEWER and not snapshot(db)["tables"]["claims"]
    check_store(db, old)
    with Memory.open(db) as mem:
        assert migrations.schema_version(mem.conn) == OLD_VERSION + NEWER
    check_store(db, old)
    tables = snapshot(db)["tables"]
    for table in KEPT[kind]:
        assert tables[table] == versions[OLD_VERSION]["tables"][table]  # the old store's vectors and history
    assert row_counts(db) == migrated_whole


# -- reindex ------------------------------------------------------------------------------------------------------
REINDEX_STEPS = ["reindex.page:1", "reindex.before_commit"]  # the first of two pages; all embedded, not committed


@pytest.mark.parametrize("step", REINDEX_STEPS)
def test_reindex_killed_at_a_step_rolls_back(step, store, copy):
    db = copy(store)
    own, before = memories(db), snapshot(db)
    crash_at(step, ["model", "reindex", "--db", db_arg(db), "--json"])
    assert snapshot(db) == before  # the old model's chunks and vectors, and its binding, intact
    check_store(db, own)
    with Memory.open(db) as mem:
        assert mem.reindex() == STORE_MEMORIES
        assert mem.recall("who tuned autovacuum", 1)[0].text.startswith("Priya tuned PostgreSQL")
    check_store(db, own)
    assert snapshot(db)["tables"]["chunks"] != before["tables"]["chunks"]  # re-embedded: new chunk rows


# -- graph build --------------------------------------------------------------------------------------------------
GRAPH_STEPS = [*nth("graph.linked", 2), "graph.clustered", "graph.replaced"]


@pytest.fixture(scope="module")
def unlinked_store(store, stores) -> Store:
    """The clustered store with its links gone and the marker set, as if its memories predated the graph."""
    db = stores.copy(store, "unlinked")
    conn = connect(db)
    conn.execute("DELETE FROM memory_entities")
    conn.execute("DELETE FROM memory_edges")
    conn.execute("INSERT INTO settings VALUES ('graph.unlinked_through', ?)", (str(STORE_MEMORIES),))
    conn.close()
    return db


@pytest.fixture(scope="module")
def built_whole(unlinked_store, stores) -> dict:
    """The graph an uninterrupted build makes: what a killed build run again must make too."""
    db = stores.copy(unlinked_store, "built")
    with Memory.open(db) as mem:
        mem.graph_build()
    return graph_of(db)


def graph_of(db: Store) -> dict:
    tables = snapshot(db)["tables"]
    return {t: tables[t] for t in ("memory_entities", "entities", "memory_edges", "memory_clusters")}


def clustering(db: Store) -> tuple:
    tables = snapshot(db)["tables"]
    built = [row for row in tables["settings"] if row[0] == "graph.clusters_built_at"]
    return tables["clusters"], tables["memory_clusters"], built


@pytest.mark.parametrize("step", GRAPH_STEPS)
def test_graph_build_killed_at_a_step_completes_when_run_again(step, unlinked_store, built_whole, copy):
    db = copy(unlinked_store)
    own, before = memories(db), clustering(db)
    crash_at(step, ["graph", "build", "--db", db_arg(db), "--json"])
    check_store(db, own)
    assert clustering(db) == before  # the old clusters until the new ones commit
    assert snapshot(db)["tables"]["memory_entities"]  # a committed batch of links stays
    with Memory.open(db) as mem:
        assert mem.graph_build().memories == STORE_MEMORIES
    check_store(db, own)
    conn = connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM settings WHERE key = 'graph.unlinked_through'").fetchone() == (0,)
        clustered = conn.execute("SELECT memory_id FROM memory_clusters").fetchall()
        assert sorted(i for (i,) in clustered) == sorted(own)  # every memory in one cluster
        assert conn.execute(  # and its sub-cluster, if any, inside it
            "SELECT count(*) FROM memory_clusters m JOIN clusters c ON c.id = m.cluster_id "
            "LEFT JOIN clusters s ON s.id = m.sub_id WHERE c.parent IS NOT NULL OR (m.sub_id IS NOT NULL AND "
            "(s.parent IS NULL OR s.parent <> m.cluster_id))"
        ).fetchone() == (0,)
        assert conn.execute(  # relinking counted no entity twice
            "SELECT count(*) FROM entities e WHERE memories != "
            "(SELECT count(*) FROM memory_entities m WHERE m.entity_id = e.id)"
        ).fetchone() == (0,)
    finally:
        conn.close()
    assert graph_of(db) == built_whole  # the links already made are not made again, with more edges


# -- the model file -----------------------------------------------------------------------------------------------
MODEL_STEPS = ["model.writing", "model.written"]


def model_files(home: Path) -> tuple[Path, list[Path]]:
    """The default model's path and the temporary files beside it."""
    path = conversion.default_model_path(home)
    return path, sorted(path.parent.glob(f".{path.name}.*.tmp"))


@pytest.mark.parametrize("step", MODEL_STEPS)
def test_a_killed_conversion_leaves_no_half_model(step, tmp_path):
    home = tmp_path / "home"
    crash_at(step, ["model", "provision", "--json"], {"SLM_HOME": str(home)})
    path, [left] = model_files(home)
    assert not path.exists()  # nothing at the model's name: llama.cpp never loads half a file
    assert conversion.is_converted_model(left, conversion.DEFAULT_WEIGHT_TYPE)  # its head looks complete
    finish(["model", "provision", "--json"], {"SLM_HOME": str(home)})
    assert conversion.is_converted_model(path, conversion.DEFAULT_WEIGHT_TYPE)
    assert model_files(home)[1] == []  # the dead conversion's temporary file is gone


def test_the_cleanup_spares_a_conversion_in_progress(slm_home, tmp_path):
    """A converter holds the lock while its temporary file grows: a second `provision` waits, deletes nothing,
    and finds the model the first one renamed into place."""
    home = tmp_path / "home"
    path = conversion.default_model_path(home)
    with conversion._writing(path):
        growing = path.with_name(f".{path.name}.inprogress.tmp")
        shutil.copy(conversion.default_model_path(Path(slm_home)), growing)
        waiting = subprocess.Popen(
            [*SLM, "model", "provision", "--json"], env={**os.environ, "SLM_HOME": str(home)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_for_lock(waiting, path)
            assert waiting.poll() is None and growing.exists()  # blocked on the lock; the file untouched
            os.replace(growing, path)
            written = path.stat().st_mtime_ns
        except BaseException:
            waiting.kill()
            raise
    assert waiting.wait(timeout=60) == 0, waiting.stderr.read()
    assert path.stat().st_mtime_ns == written and model_files(home)[1] == []  # not converted again


def _wait_for_lock(proc: subprocess.Popen, path: Path) -> None:
    """Until `proc` has opened the conversion lock (then it blocks in flock), checked through /proc."""
    lock = str(path.with_name(f".{path.name}.lock"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        fds = Path(f"/proc/{proc.pid}/fd")
        try:
            if any(os.readlink(fd) == lock for fd in fds.iterdir()):
                time.sleep(0.2)  # from open to flock is a few instructions
                return
        except OSError:  # an fd closed while listed
            pass
        time.sleep(0.02)
    raise AssertionError(f"the second provision never reached the lock (exit {proc.poll()})")


# -- the helper itself --------------------------------------------------------------------------------------------
CREATED_TWICE = (
    "INSERT INTO events (time, type, agent, protocol, memory_id, payload) "
    "SELECT time, type, agent, protocol, memory_id, payload FROM events WHERE memory_id = 2"
)
BREAKAGES = {
    "sqlite": {
        "a memory changed": "UPDATE memories SET content = 'edited' WHERE id = 1",
        "a vector lost": "DELETE FROM chunk_vectors WHERE rowid = (SELECT min(id) FROM chunks)",
        "a stray index entry": "INSERT INTO memories_fts (rowid, content) VALUES (1, 'zebra')",
        "a memory created twice": CREATED_TWICE,
    },
    "postgres": {
        "a memory changed": "UPDATE memories SET content = 'edited' WHERE id = 1",
        "a vector lost": "DELETE FROM chunk_vectors WHERE chunk_id = (SELECT min(id) FROM chunks)",
        "a stray index entry": "INSERT INTO memory_postings (term, memory_id, tf, length) VALUES ('zebra', 1, 1, 1)",
        "a memory created twice": CREATED_TWICE,
    },
}


@pytest.mark.parametrize("breakage", BREAKAGES["sqlite"])
def test_check_store_catches_what_a_crash_could_break(breakage, kind, import_target, copy):
    db = copy(import_target)
    acknowledged = memories(db)
    check_store(db, acknowledged)
    conn = connect(db)
    conn.execute(BREAKAGES[kind][breakage])
    conn.close()
    with pytest.raises(AssertionError):
        check_store(db, acknowledged)


def test_crash_at_fails_when_the_step_is_not_reached():
    """A renamed step, or one the command never passes, must fail the test rather than pass it."""
    with pytest.raises(AssertionError, match="expected a SIGKILL at the step, got exit code 0"):
        crash_at("import.no-such-step", "import slm.faults")
