"""The seam between the engine and a database backend: the `Db` every repository and engine service talks to.

Above `slm/storage` nothing knows which database it uses: it opens a `Db` here, asks it for transactions and for
whether other processes wrote, and hands it to storage functions, which send it their SQL. Today the one backend
is SQLite (`connection.SqliteDb`, apsw); a PostgreSQL backend (issue 24) implements the same methods. A driver's
exception reaches a face as a `StorageError` through `storage_failure`, so no face imports a driver.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from slm import config
from slm.errors import StorageError
from slm.storage.behavior import behavior_path
from slm.storage.connection import open_connection, sqlite_failure
from slm.storage.dialect import SqliteDialect


@dataclass(frozen=True)
class StoreLocation:
    """Where a store lives: its database, and the folder of the files kept on local disk beside it (behavior.db,
    the vector mirror, the erasure lock, receipts and key, backups). Today the database is a local SQLite file and
    the folder is the one it is in; a PostgreSQL store (issue 24) will keep its local files in a folder of its own."""

    database: Path

    @property
    def folder(self) -> Path:
        return self.database.parent

    def beside(self, suffix: str, *, hidden: bool = False) -> Path:
        """A local file named after the store: `.vectors` -> `memory.db.vectors` (`.memory.db.erasing` hidden)."""
        return self.folder / f"{'.' if hidden else ''}{self.database.name}{suffix}"

    @property
    def behavior_db(self) -> Path:
        return behavior_path(self.database)


def locate(where: str | Path | None) -> StoreLocation:
    """The store `--db` / `SLM_DB` / `Memory.open` name (default `$SLM_HOME/memory.db`). The real path, not a
    symlink's: the local files go beside the real file, so the store is one store whichever path opens it. A
    PostgreSQL URL is refused (`InvalidInput`) until issue 24 lands."""
    config.refuse_server_url(where)
    return StoreLocation((Path(where).expanduser() if where is not None else config.default_db_path()).resolve())


class Db(Protocol):
    """One connection to a store's database, as the repositories and the engine use it."""

    backend: str  # "sqlite"
    dialect: SqliteDialect  # the SQL fragments the engines spell differently; PostgreSQL's has the same methods

    def execute(self, sql: str, params: Any = ..., /) -> Any:
        """Run one statement; the cursor iterates rows (tuples) and has `fetchone` / `fetchall`."""

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def cursor(self) -> Any: ...

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
    """The store's database (created unless `readonly`; `NoStore` when a read-only one is missing)."""
    return open_connection(where.database if isinstance(where, StoreLocation) else where, readonly=readonly)


def storage_failure(err: BaseException) -> StorageError | None:
    """The `StorageError` (`StoreBusy` for a lock held too long) a backend driver's exception stands for; None
    when `err` is not a driver's. Imports no driver."""
    return sqlite_failure(err)
