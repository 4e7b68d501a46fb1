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


class Databases:
    """Fresh databases (with `vector`) on one server for benchmarks that need a store each, dropped when closed:
    a throwaway server of its own unless given a maintenance URL (`postgresql://…/postgres`) of another."""

    def __init__(self, admin: str | None = None) -> None:
        self._server = None
        if admin is None:
            self._server, admin = start()
        self.admin = admin
        self._made: list[str] = []

    def fresh(self, name: str) -> str:
        """The URL of a new empty database `slm_bench_<name>`."""
        import psycopg

        database = f"slm_bench_{name}".lower()
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
        self._made.append(database)
        url = with_database(self.admin, database)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return url

    def drop(self, url: str) -> None:
        import psycopg

        database = url.split("?", 1)[0].rsplit("/", 1)[1]
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._made.remove(database)

    def close(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            return
        for database in list(self._made):
            self.drop(with_database(self.admin, database))

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def with_database(url: str, database: str) -> str:
    """The same server's URL with another database: `postgresql://u@h/old?host=…` → `postgresql://u@h/new?host=…`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))
