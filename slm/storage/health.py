"""SQL of `slm doctor`: is the file sound, do the keyword index and the vectors match the memories, and repairs.

Checks only read. Each repair is one statement or a few, run by the caller inside its write transaction. The
consistency checks (vectors, chunks, backups, tables) work on both backends; the file's page checks, the FTS5
and sqlite-vec probes are SQLite's, and `server_version` / `pgvector_version` PostgreSQL's.
"""

from __future__ import annotations

from pathlib import Path

from slm import faults
from slm.storage import fts_tokens, vectors
from slm.storage.backup import recorded
from slm.storage.connection import import_apsw, open_connection
from slm.storage.db import storage_failure
from slm.storage.erasure_sqlite import fts_consistent
from slm.storage.vectors import TABLE as VECTORS
from slm.storage.vectors import vector_table_dim

SQLITE_HEADER = b"SQLite format 3\x00"
PROBLEMS_SHOWN = 20  # lines of a failed page check worth reading; the rest are usually consequences


def has_sqlite_header(path: Path) -> bool:
    """Whether a file starts as every SQLite database does (read without SQLite, which would take an empty or
    foreign file for a new database)."""
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def page_problems(conn, full: bool) -> list[str]:
    """What SQLite finds wrong in the file: `quick_check` (every page and b-tree, in O(N)) or, `full`,
    `integrity_check` (also that every index matches its table). Empty when the file is sound."""
    apsw = import_apsw()
    pragma = "integrity_check" if full else "quick_check"
    try:
        rows = conn.execute(f"PRAGMA {pragma}({PROBLEMS_SHOWN})").fetchall()
    except apsw.Error as err:  # a page SQLite cannot even walk: the check itself fails
        return [str(err)]
    lines = [line for (text,) in rows for line in str(text).splitlines() if line.strip()]
    return [] if lines == ["ok"] else lines


def rebuild_fts(conn) -> None:
    """Rebuild the keyword index from `memories` (FTS5 `rebuild`; external content, so nothing else changes)."""
    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')")


def has_table(conn, name: str) -> bool:
    if conn.backend == "postgres":
        return conn.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0]
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def has_vector_table(conn) -> bool:
    return vector_table_dim(conn) is not None


def _lacking_vector(conn, chunk_id: str) -> str:
    """A condition: the chunk `chunk_id` names has no vector (every chunk, before the vector table exists)."""
    if not has_vector_table(conn):
        return "true"
    return f"{chunk_id} NOT IN (SELECT {vectors.key_column(conn, None)} FROM {VECTORS})"


def chunks_without_vectors(conn) -> tuple[int, int]:
    """(chunks, memories) whose chunk has no vector: invisible to the vector channel. All of them without a table."""
    lacking = _lacking_vector(conn, "id")
    row = conn.execute(f"SELECT count(*), count(DISTINCT memory_id) FROM chunks WHERE {lacking}").fetchone()
    return row[0], row[1]


def memories_without_chunks(conn) -> int:
    """Memories never embedded (every memory is stored with at least one chunk)."""
    return conn.execute(
        "SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.memory_id = m.id)"
    ).fetchone()[0]


def orphan_vectors(conn) -> list[int]:
    """Vectors whose chunk is gone (the delete trigger was missing; on PostgreSQL a foreign key forbids it): they
    take space and can be found in recall."""
    if not has_vector_table(conn):
        return []
    key = vectors.key_column(conn, None)
    rows = conn.execute(f"SELECT {key} FROM {VECTORS} WHERE {key} NOT IN (SELECT id FROM chunks) ORDER BY {key}")
    return [r[0] for r in rows]


def delete_vectors(conn, rowids: list[int]) -> None:
    conn.executemany(f"DELETE FROM {VECTORS} WHERE {vectors.key_column(conn, None)} = ?", ((r,) for r in rowids))


def memories_to_embed(conn, after: int, limit: int) -> list[int]:
    """Up to `limit` memories after id `after`, in id order, with a chunk lacking its vector or with no chunk."""
    lacking = _lacking_vector(conn, "c.id")
    rows = conn.execute(
        f"SELECT c.memory_id FROM chunks c WHERE c.memory_id > ?1 AND {lacking} "
        "UNION SELECT m.id FROM memories m WHERE m.id > ?1 "
        "AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.memory_id = m.id) "
        "ORDER BY 1 LIMIT ?2",
        (after, limit),
    )
    return [r[0] for r in rows]


def delete_chunks(conn, memory_ids: list[int]) -> None:
    """A memory's chunks (and, by trigger, what vectors they still have), before it is embedded again."""
    conn.executemany("DELETE FROM chunks WHERE memory_id = ?", ((m,) for m in memory_ids))


def drop_dangling_vector_trigger(conn) -> None:
    """The chunk-vector delete trigger of a vector table that is gone: it would make every chunk delete fail, and
    keep the table from being created again with its trigger. PostgreSQL has no such trigger (a foreign key)."""
    if conn.backend == "sqlite" and not has_vector_table(conn):
        conn.execute("DROP TRIGGER IF EXISTS chunks_vector_delete")


def recorded_backups(conn) -> list[tuple[str, str]]:
    """(path, made at) of the copies `slm backup` made, newest first; none when the table cannot be read."""
    try:
        return [(path, made_at) for path, made_at, _ in reversed(recorded(conn))]
    except Exception as err:  # a store older than the table, or a damaged one (a driver's error, whichever)
        if storage_failure(err) is None:
            raise
        return []


def driver_version() -> str:
    """The SQLite driver and the SQLite it bundles (fails if apsw is not installed)."""
    apsw = import_apsw()
    return f"apsw {apsw.apsw_version()}, SQLite {apsw.sqlite_lib_version()}"


def vec_extension_version() -> str:
    """The sqlite-vec version a fresh in-memory connection loads (fails if the extension does not load)."""
    conn = open_connection(":memory:")
    try:
        return vec_version(conn)
    finally:
        conn.close()


def vec_version(conn) -> str:
    """The sqlite-vec version a connection loaded (fails if the extension did not load)."""
    return conn.execute("SELECT vec_version()").fetchone()[0]


def fts5_with_porter() -> None:
    """Raise unless this SQLite has FTS5 with the porter tokenizer, which the keyword index needs."""
    conn = import_apsw().Connection(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
    finally:
        conn.close()


def server_version(conn) -> str:
    """The PostgreSQL server's version, as it reports it (`server_version`)."""
    return conn.execute("SHOW server_version").fetchone()[0]


def pgvector_version(conn) -> str | None:
    """The version of the `vector` extension installed in the store's database; None when it is not installed."""
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    return None if row is None else row[0]


def orphan_rows(conn) -> dict[str, int]:
    """Rows naming a memory, chunk or entity that is gone, per table and column: what foreign keys should forbid
    (PostgreSQL enforces them; a count above zero means one was dropped or deferred and never checked)."""
    checks = {
        "memory_tags.memory_id": "SELECT count(*) FROM memory_tags t WHERE NOT EXISTS "
        "(SELECT 1 FROM memories m WHERE m.id = t.memory_id)",
        "chunks.memory_id": "SELECT count(*) FROM chunks c WHERE NOT EXISTS "
        "(SELECT 1 FROM memories m WHERE m.id = c.memory_id)",
        "memory_entities.entity_id": "SELECT count(*) FROM memory_entities me WHERE NOT EXISTS "
        "(SELECT 1 FROM entities e WHERE e.id = me.entity_id)",
        "memories.superseded_by": "SELECT count(*) FROM memories m WHERE m.superseded_by IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM memories n WHERE n.id = m.superseded_by)",
    }
    return {name: conn.execute(query).fetchone()[0] for name, query in checks.items()}


# -- the keyword index, on either backend ----------------------------------------------------------------------------
KEYWORD_BATCH = 1000  # memories tokenized and inserted per statement when PostgreSQL's keyword index is rebuilt

# PostgreSQL's keyword index (keyword_pg) against the memories: each count is rows out of step, zero when sound.
# `memory_postings` is what its insert trigger makes of `memory_tokens`: per memory, one posting per lexeme of its
# tsvector, each with the memory's length. Counted per memory (a hash aggregate of the postings: 0.14-0.6 s at 10k
# memories, 804k postings, on 2 busy cores; FTS5's integrity-check of the same store takes 0.65 s), that finds
# postings lost, stray or of a memory without tokens (a restore with triggers off); `full` compares every posting's
# term and tf with the tsvector's (a hash join of every token: 2.4-7 s at 10k), as `--full` asks of SQLite too.
_PG_KEYWORD_PROBLEMS = {
    "memories without their tokens": "SELECT count(*) FROM memories m WHERE NOT EXISTS "
    "(SELECT 1 FROM memory_tokens t WHERE t.memory_id = m.id)",
    "tokens of no memory": "SELECT count(*) FROM memory_tokens t WHERE NOT EXISTS "
    "(SELECT 1 FROM memories m WHERE m.id = t.memory_id)",
    "corpus counts out of step": "SELECT count(*) FROM memory_tokens_stats s, (SELECT count(*) AS n, "
    "coalesce(sum(length), 0) AS t FROM memory_tokens) a WHERE s.rows <> a.n OR s.tokens <> a.t",
}
_PG_POSTINGS = "postings out of step with the tokens"
_PG_POSTINGS_PER_MEMORY = (
    "SELECT count(*) FROM (SELECT memory_id, count(*) AS n, min(length) AS lo, max(length) AS hi "
    "FROM memory_postings GROUP BY memory_id) p FULL JOIN memory_tokens t ON t.memory_id = p.memory_id "
    "WHERE (p.memory_id IS NULL AND length(t.tokens) > 0) OR t.memory_id IS NULL OR p.n <> length(t.tokens) "
    "OR p.lo <> t.length OR p.hi <> t.length"
)
_PG_POSTINGS_EVERY_TERM = (
    "SELECT count(*) FROM (SELECT u.lexeme AS term, t.memory_id, cardinality(u.positions) AS tf, t.length "
    "FROM memory_tokens t, unnest(t.tokens) u) e "
    "FULL JOIN memory_postings p ON p.term = e.term AND p.memory_id = e.memory_id "
    "WHERE e.term IS NULL OR p.term IS NULL OR p.tf <> e.tf OR p.length <> e.length"
)


def keyword_index_problems(conn, *, full: bool = False) -> dict[str, int]:
    """What is out of step in the keyword index, by kind (only kinds found). SQLite: FTS5's integrity-check
    against `memories` (an INSERT that changes nothing: needs a writable connection), one kind. PostgreSQL: every
    memory (superseded ones too, as FTS5 indexes them) has its tokens and no tokens row outlives its memory, the
    postings are the tokens' (counted per memory; `full`: term by term) and the corpus counts bm25() reads are
    the tokens'. Read in one snapshot, so a writer committing meanwhile cannot make a sound index look broken."""
    if conn.backend == "sqlite":
        return {} if fts_consistent(conn) else {"FTS5 integrity-check failed": 1}
    queries = {**_PG_KEYWORD_PROBLEMS, _PG_POSTINGS: _PG_POSTINGS_EVERY_TERM if full else _PG_POSTINGS_PER_MEMORY}
    with conn.read_snapshot():
        found = {kind: conn.execute(query).fetchone()[0] for kind, query in queries.items()}
    return {kind: n for kind, n in found.items() if n}


def rebuild_keyword_index(conn) -> None:
    """Rebuild the keyword index from `memories`; call inside a write transaction (a crash leaves the old index).
    SQLite: FTS5's `rebuild`. PostgreSQL: every postings and tokens row deleted (strays too: the delete trigger
    only finds postings through the tokens), each memory tokenized again as `keyword_pg` does on insert, a batch
    per statement (the triggers make its postings and counts), then the corpus counts set from the rows."""
    if conn.backend == "sqlite":
        rebuild_fts(conn)
    else:
        conn.execute("DELETE FROM memory_postings")
        conn.execute("DELETE FROM memory_tokens")
        faults.step("keywords.cleared")
        last = 0
        while rows := conn.execute(
            "SELECT id, content FROM memories WHERE id > ? ORDER BY id LIMIT ?", (last, KEYWORD_BATCH)
        ).fetchall():
            tokens = [fts_tokens.document_tokens(content) for _, content in rows]
            conn.execute(
                "INSERT INTO memory_tokens (memory_id, tokens, length) SELECT i, CAST(t AS tsvector), n "
                "FROM unnest(CAST(? AS bigint[]), CAST(? AS text[]), CAST(? AS bigint[])) AS x(i, t, n)",
                ([i for i, _ in rows], [fts_tokens.tsvector_text(t) for t in tokens], [len(t) for t in tokens]),
            )
            faults.step("keywords.batch")
            last = rows[-1][0]
        conn.execute(
            "UPDATE memory_tokens_stats SET rows = (SELECT count(*) FROM memory_tokens), "
            "tokens = (SELECT coalesce(sum(length), 0) FROM memory_tokens)"
        )
    faults.step("keywords.rebuilt")  # all of it done, not committed: a crash here leaves the old index
