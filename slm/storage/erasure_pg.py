"""Erasure's PostgreSQL-only part: the rows are deleted like SQLite's, then the tables that held them are rewritten.

PostgreSQL has no secure delete: a DELETE only marks a row's tuple dead, and the bytes stay in the table's pages
(and its indexes') until the space is reused. `VACUUM FULL` writes each table (with its TOAST table and indexes,
the keyword index among them) into new files and removes the old ones, so the table files no longer hold the
erased rows. The planner's column statistics (`pg_statistic`) hold sample values of the rows too: each table is
analysed afresh (ANALYZE keeps an emptied table's old statistics) and, where the role may (a superuser), an emptied
table's statistics deleted and `pg_statistic` rewritten as well. What PostgreSQL keeps
outside the database's files is out of reach, and the receipt says so (`GUARANTEE`).
`slm.storage.erasure` calls this module for a PostgreSQL store; `erasure_sqlite` is SQLite's counterpart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from slm.storage import vectors

# The tables an erasure deletes rows from or rewrites (tombstoned events, relabelled clusters, orphaned entities
# and contradictions, project keys left without memories), per database: they are the ones VACUUM FULL rewrites.
TOUCHED = {
    "memory": (
        "memories",
        "memory_tokens",  # the keyword index (keyword_pg): each memory's tokens, gone with it by cascade ...
        "memory_postings",  # ... and its postings, by trigger
        "memory_tags",
        "chunks",
        vectors.TABLE,
        "memory_entities",
        "entities",
        "memory_edges",
        "clusters",
        "memory_clusters",
        "memory_trust",
        "memory_endorsements",
        "memory_gaussians",
        "memory_lifecycle",
        "claims",
        "contradictions",
        "contradiction_claims",
        "events",
        "project_keys",
        "project_visibility",
    ),
    "behavior": ("feedback", "uses", "recalls", "events", "learned"),
}
STATISTICS = "pg_catalog.pg_statistic"
GUARANTEE = (
    "PostgreSQL: the rows were deleted and the tables in `vacuumed` rewritten by VACUUM FULL (indexes rebuilt) and "
    "analysed afresh, so those table files no longer hold them; unless `vacuumed` lists pg_catalog.pg_statistic "
    "(it needs a superuser), sample values of them may stay in the planner's statistics. Not "
    "guaranteed: copies in WAL segments until the server recycles them, in WAL archives, on replicas and in backups "
    "or dumps, and in disk blocks the file system freed; PostgreSQL has no secure delete."
)
_LOCK_KEY = "slm.erasing"  # an advisory lock of the database, as SQLite's store has its lock file


def delete_tables(conn, tables: list[str]) -> None:
    """Delete every row of `tables`, in order. The delete triggers (entity counts) and cascades (vectors) run per
    row as they always do: nothing is dropped and remade, so no other session can see a table without them."""
    for table in tables:
        conn.execute(f"DELETE FROM {table}")


def rewrite(conn, kind: str, tell: Callable[[str], None]) -> list[str]:
    """VACUUM FULL and ANALYZE (outside any transaction) each table of `TOUCHED[kind]` that exists, then rewrite
    `pg_statistic` where the role may; the names of what was rewritten, schema-named outside `public`. Each takes
    its table's ACCESS EXCLUSIVE lock for the rewrite: other sessions wait."""
    present = [t for t in TOUCHED[kind] if conn.execute("SELECT to_regclass(?) IS NOT NULL", (t,)).fetchone()[0]]
    for table in present:
        tell(f"rewriting {table}")
        conn.execute(f"VACUUM (FULL, ANALYZE) {table}")  # its statistics sampled afresh from the rows left
    rewritten = [table if conn.schema == "public" else f"{conn.schema}.{table}" for table in present]
    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    if present and superuser:
        _rewrite_statistics(conn, present)
        rewritten.append(STATISTICS)
    return rewritten


def _rewrite_statistics(conn, tables: list[str]) -> None:
    """Delete the statistics of those of `tables` left empty (ANALYZE keeps them: it had no rows to sample), then
    VACUUM FULL `pg_statistic`, whose dead rows hold the replaced samples. Only a superuser may do either."""
    for table in tables:
        if conn.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
            conn.execute(f"DELETE FROM {STATISTICS} WHERE starelid = CAST(? AS regclass)", (table,))
    conn.execute(f"VACUUM FULL {STATISTICS}")


@contextmanager
def erasure_lock(conn, wait: bool) -> Iterator[bool]:
    """A session advisory lock of the store's database; yields whether it was taken (`wait`: until it is). The
    server drops it with the session that held it, however its process died, on whichever machine it ran."""
    if wait:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(?, 0))", (_LOCK_KEY,))
    elif not conn.execute("SELECT pg_try_advisory_lock(hashtextextended(?, 0))", (_LOCK_KEY,)).fetchone()[0]:
        yield False
        return
    try:
        yield True
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(?, 0))", (_LOCK_KEY,))
