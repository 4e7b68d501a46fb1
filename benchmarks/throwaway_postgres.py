"""A throwaway PostgreSQL with pgvector for the tests (tests/pg.py) and the PostgreSQL benchmarks: pgserver's server
in a fresh PGDATA, tuned for speed over durability, deleted when stopped."""

from __future__ import annotations

import os
import tempfile
import warnings


def start():
    """(the server, its maintenance database's URL); `server.cleanup()` stops it and deletes PGDATA."""
    import psycopg

    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set, falling back to /tmp/runtime-0"
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import pgserver

    # /tmp, not TMPDIR: as root pgserver opens every parent of PGDATA to others (g+rx, o+rx) for its system user, and
    # /tmp is open already. A short path also keeps the server's socket inside PGDATA.
    pgdata = tempfile.mkdtemp(prefix="slm-pg-", dir="/tmp" if os.name == "posix" else None)
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        admin = server.get_uri("postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            # No fsync: making and dropping a test's database then costs ~20 + 8 ms, not ~160 + 90 ms.
            for setting in ("fsync", "full_page_writes", "synchronous_commit"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
    except BaseException:
        server.cleanup()
        raise
    return server, admin
