"""`slm backup`: a consistent copy of a database through SQLite's online backup API, safe while agents write.

The copy is made a few hundred pages at a time; a write by another connection between steps restarts it, so
what lands on disk is one committed state. A PostgreSQL store is not copied: `refuse_server` says to use the
server's own backups (`pg_dump -Fc`, base backups and WAL archiving), which a database server already has and
which slm cannot match (a `pg_dump` must be of the server's major version, found on the user's machine).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slm.errors import InvalidInput
from slm.storage.connection import ensure_private_file

STEP_PAGES = 256


def refuse_server(conn) -> None:
    """Raise `InvalidInput` for a PostgreSQL store, with what to use instead; nothing for a SQLite one."""
    if conn.backend == "postgres":
        raise InvalidInput(
            "slm backup copies SQLite files; this store is on a PostgreSQL server, which slm does not copy",
            "back it up with the server's tools: pg_dump -Fc -f slm.dump '<the store's URL>' (restore with "
            "pg_restore), or your server's base backups and WAL archiving; `slm export` writes a portable copy too",
        )


def copy_database(conn, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
    """Copy `conn`'s (a `SqliteDb`) main database to `target` (a new file, 0600); `progress(done, total)` counts
    pages."""
    import apsw

    ensure_private_file(target)
    destination = apsw.Connection(str(target))
    try:
        with destination.backup("main", conn.raw, "main") as backup:
            while not backup.done:
                backup.step(STEP_PAGES)
                if progress:
                    progress(backup.page_count - backup.remaining, backup.page_count)
    finally:
        destination.close()


def record(conn, target: Path, made_at: str, memories: int) -> None:
    conn.execute("INSERT INTO backups (path, made_at, memories) VALUES (?, ?, ?)", (str(target), made_at, memories))


def recorded(conn) -> list[tuple[str, str, int]]:
    """(path, made at, memories) of every backup `record` noted, oldest first."""
    return conn.execute("SELECT path, made_at, memories FROM backups ORDER BY id").fetchall()
