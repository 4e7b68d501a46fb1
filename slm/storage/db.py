"""The seam between the engine and a database backend: the `Db` every repository and engine service talks to.

Above `slm/storage` nothing knows which database it uses: it opens a `Db` here, asks it for transactions and for
whether other processes wrote, and hands it to storage functions, which send it their SQL. Today the one backend
is SQLite (`connection.SqliteDb`, apsw); a PostgreSQL backend (issue 24) implements the same methods. A driver's
exception reaches a face as a `StorageError` through `storage_failure`, so no face imports a driver.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from slm.errors import StorageError
from slm.storage.connection import open_connection, sqlite_failure


class Db(Protocol):
    """One connection to a store's database, as the repositories and the engine use it."""

    backend: str  # "sqlite"

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


def open_db(path: Path | str, *, readonly: bool = False) -> Db:
    """The store's database at `path` (created unless `readonly`; `NoStore` when a read-only one is missing)."""
    return open_connection(path, readonly=readonly)


def storage_failure(err: BaseException) -> StorageError | None:
    """The `StorageError` (`StoreBusy` for a lock held too long) a backend driver's exception stands for; None
    when `err` is not a driver's. Imports no driver."""
    return sqlite_failure(err)
