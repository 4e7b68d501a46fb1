"""The seam between the engine and a database backend: the `Db` every repository and engine service talks to.

Above `slm/storage` nothing knows which database it uses: it opens a `Db` here, asks it for transactions and for
whether other processes wrote, and hands it to storage functions, which send it their SQL. Today the one backend
is SQLite (`connection.SqliteDb`, apsw); a PostgreSQL backend (issue 24) implements the same methods. A driver's
exception reaches a face as a `StorageError` through `storage_failure`, so no face imports a driver.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from slm import config
from slm.errors import InvalidInput, StorageError
from slm.storage.behavior import behavior_path
from slm.storage.connection import open_connection, sqlite_failure
from slm.storage.dialect import PostgresDialect, SqliteDialect


@dataclass(frozen=True)
class StoreLocation:
    """Where a store lives: its database, and the folder of the files kept on local disk beside it (behavior.db,
    the vector mirror, the erasure lock, receipts and key, backups).

    A SQLite store is a file (`database`) and its folder the one it is in. A PostgreSQL store is `url`; its local
    files go to a folder of its own under `$SLM_HOME/postgres/`, named by a digest of the server and database, and
    `database` is a name in that folder that no file ever takes (what `status` shows is `shown`)."""

    database: Path
    url: str | None = None

    @property
    def folder(self) -> Path:
        return self.database.parent

    @property
    def on_server(self) -> bool:
        return self.url is not None

    @property
    def shown(self) -> str:
        """What a face shows for the store: the file, or the URL without its password."""
        if self.url is None:
            return str(self.database)
        from slm.storage.postgres import redacted

        return redacted(self.url)

    def exists(self) -> bool:
        """Whether there is a store to open: the file; a server's database is there to connect to (or not)."""
        return self.url is not None or self.database.exists()

    def beside(self, suffix: str, *, hidden: bool = False) -> Path:
        """A local file named after the store: `.vectors` -> `memory.db.vectors` (`.memory.db.erasing` hidden)."""
        return self.folder / f"{'.' if hidden else ''}{self.database.name}{suffix}"

    @property
    def behavior_db(self) -> Path:
        return behavior_path(self.database)


def locate(where: str | Path | None) -> StoreLocation:
    """The store `--db` / `SLM_DB` / `Memory.open` name (default `$SLM_HOME/memory.db`): a `postgresql://` URL, or
    a SQLite file. The real path, not a symlink's: the local files go beside the real file, so the store is one
    store whichever path opens it."""
    if config.is_server_url(where):
        return server_location(str(where))
    return StoreLocation((Path(where).expanduser() if where is not None else config.default_db_path()).resolve())


# what names a store among a URL's parameters: not a password, a timeout or TLS settings (`options` may set the
# search_path, which is another store)
_STORE_PARAMETERS = ("host", "hostaddr", "port", "dbname", "user", "options")


def server_location(url: str) -> StoreLocation:
    """A PostgreSQL store at `url` (`postgresql://user:password@host:port/database?...`). Its local folder (erasure
    key, receipts) is named by what identifies the database, so every spelling of one URL shares it: with or without
    the default port or a password, parameters in any order."""
    from urllib.parse import urlsplit

    from slm.storage.postgres import import_psycopg

    url = url.strip()
    scheme = urlsplit(url).scheme  # lowercased; libpq takes only lowercase
    if scheme not in ("postgresql", "postgres"):
        raise InvalidInput(f"not a PostgreSQL URL: {url!r}", "write it as postgresql://user@host:5432/database")
    url = scheme + url[len(scheme) :]
    import_psycopg()
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = {"port": "5432"} | conninfo_to_dict(url)
    except Exception as err:  # psycopg.ProgrammingError, with libpq's reason
        raise InvalidInput(
            f"not a usable PostgreSQL URL: {err}", "write it as postgresql://user@host:5432/database"
        ) from err
    given["host"] = str(given.get("host", "")).lower()
    who = "\n".join(f"{key}={given.get(key, '')}" for key in _STORE_PARAMETERS)
    folder = config.data_dir() / "postgres" / hashlib.sha256(who.encode()).hexdigest()[:16]
    return StoreLocation(folder / config.DB_NAME, url)


class Db(Protocol):
    """One connection to a store's database, as the repositories and the engine use it."""

    backend: str  # "sqlite" or "postgres"
    dialect: SqliteDialect | PostgresDialect  # the SQL fragments the engines spell differently

    def execute(self, sql: str, params: Any = ..., /) -> Any:
        """Run one statement; the cursor iterates rows (tuples) and has `fetchone` / `fetchall`."""

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def changes(self) -> int:
        """Rows the last INSERT, UPDATE or DELETE changed."""

    @property
    def in_transaction(self) -> bool: ...

    def transaction(self) -> AbstractContextManager[None]:
        """A transaction, or a savepoint inside an open one: all of the body or none of it."""

    def write_transaction(self) -> AbstractContextManager[None]:
        """The store's one write lock, taken up front and held to commit: a read-then-write sees no other
        writer in between. Raises `StoreBusy` when other processes hold it too long."""

    def read_snapshot(self) -> AbstractContextManager[None]:
        """One consistent view of the whole store for a long read while others write."""

    def data_version(self) -> int:
        """A number that moves when another connection commits: whether a cached view (the vector mirror) is stale."""

    def close(self) -> None: ...


def open_db(where: StoreLocation | Path | str, *, readonly: bool = False) -> Db:
    """The store's database (created unless `readonly`; `NoStore` when a read-only one is missing). A server's
    connection is the same either way: PostgreSQL's privileges, not slm, decide what it may write."""
    if isinstance(where, StoreLocation) and where.url is not None:
        from slm.storage.postgres import open_postgres

        return open_postgres(where.url)
    return open_connection(where.database if isinstance(where, StoreLocation) else where, readonly=readonly)


def open_behavior_db(where: StoreLocation) -> Db:
    """The behaviour database of a store: behavior.db beside a SQLite file, the `behavior` schema of a server's."""
    if where.url is not None:
        from slm.storage.postgres import open_postgres

        return open_postgres(where.url, schema="behavior")
    return open_connection(where.behavior_db)


def storage_failure(err: BaseException) -> StorageError | None:
    """The `StorageError` (`StoreBusy` for a lock held too long) a backend driver's exception stands for; None
    when `err` is not a driver's. Imports no driver."""
    from slm.storage.postgres import postgres_failure

    return sqlite_failure(err) or postgres_failure(err)


def database_size(conn: Db, location: StoreLocation) -> int:
    """Bytes the store takes: the SQLite file with its WAL and shared memory, or the PostgreSQL database."""
    if location.on_server:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    database = location.database
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*") if p.is_file())
