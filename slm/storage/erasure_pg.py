"""Erasure's PostgreSQL-only part: the rows are deleted like SQLite's, then the tables that held them are rewritten.

PostgreSQL has no secure delete: a DELETE only marks a row's tuple dead, and the bytes stay in the table's pages
(and its indexes') until the space is reused. `VACUUM FULL` writes each table (with its TOAST table and indexes,
the keyword index among them) into new files and removes the old ones, so the table files no longer hold the
erased rows. What PostgreSQL keeps outside them is out of reach, and the receipt says so (`GUARANTEE`).
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
    ),
    "behavior": ("feedback", "recalls", "events"),
}
GUARANTEE = (
    "PostgreSQL: the rows were deleted and the tables in `vacuumed` rewritten by VACUUM FULL (indexes rebuilt), so "
    "those table files no longer hold them. Not guaranteed: copies in WAL segments until the server recycles them, "
    "in WAL archives, on replicas and in backups or dumps, and in disk blocks the file system freed; PostgreSQL has "
    "no secure delete."
)
_LOCK_KEY = "slm.erasing"  # an advisory lock of the database, as SQLite's store has its lock file


def delete_tables(conn, tables: list[str]) -> None:
    """Delete every row of `tables`, in order. The delete triggers (entity counts) and cascades (vectors) run per
    row as they always do: nothing is dropped and remade, so no other session can see a table without them."""
    for table in tables:
        conn.execute(f"DELETE FROM {table}")


def rewrite(conn, kind: str, tell: Callable[[str], None]) -> list[str]:
    """VACUUM FULL (outside any transaction) each table of `TOUCHED[kind]` that exists; their names, schema-named
    outside `public`. Each takes the table's ACCESS EXCLUSIVE lock for its rewrite: other sessions wait."""
    rewritten = []
    for table in TOUCHED[kind]:
        if conn.execute("SELECT to_regclass(?) IS NOT NULL", (table,)).fetchone()[0]:
            tell(f"rewriting {table}")
            conn.execute(f"VACUUM FULL {table}")
            rewritten.append(table if conn.schema == "public" else f"{conn.schema}.{table}")
    return rewritten


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
