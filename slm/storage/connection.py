"""The SQLite backend: open the user's database with the driver and extensions slm needs, as a `SqliteDb`.

The stdlib `sqlite3` of many Pythons cannot load extensions, so slm uses `apsw`, which bundles a recent SQLite
and can load sqlite-vec. Files are created user-only: memories are private. Only `slm/storage` imports this
module; the engine above it sees the `Db` of `slm.storage.db`.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slm.errors import NoStore, StorageError, StoreBusy
from slm.storage.dialect import SQLITE

BUSY_TIMEOUT_MS = 30_000  # many agents write one file: a writer waits its turn rather than fail
DIR_MODE = 0o700
FILE_MODE = 0o600
BUSY_HINT = "another process is writing to it; try again"


def import_apsw():
    """The SQLite driver, or an error saying how to install it."""
    try:
        import apsw
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise StorageError("the SQLite driver 'apsw' is not installed", "run: pip install apsw") from err
    return apsw


def vec_extension_path() -> str:
    """Where the sqlite-vec loadable extension lives (the `sqlite-vec` wheel ships it)."""
    try:
        import sqlite_vec
    except ImportError as err:
        raise StorageError("the sqlite-vec extension is not installed", "run: pip install sqlite-vec") from err
    return sqlite_vec.loadable_path()


def ensure_private_file(path: Path) -> None:
    """Create the database folder (0700) and an empty file (0600) before SQLite does, so no umask can widen them."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
        os.close(fd)


def open_connection(path: Path | str, *, readonly: bool = False) -> SqliteDb:
    """An apsw connection with WAL, a busy timeout, foreign keys, secure_delete and sqlite-vec loaded."""
    apsw = import_apsw()
    memory = str(path) == ":memory:"
    if not memory:
        path = Path(path).expanduser()
        if readonly:
            if not path.exists():
                raise NoStore(f"no database at {path}", "check the path, or store a memory there first to create it")
        else:
            ensure_private_file(path)
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    try:
        conn = apsw.Connection(str(path), flags=flags)
        conn.enable_load_extension(True)
        conn.load_extension(vec_extension_path())
        conn.enable_load_extension(False)
        conn.set_busy_handler(_patient_busy_handler())
        if not memory and not readonly:
            _use_wal(conn, apsw)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")
    except apsw.Error as err:
        raise StorageError(f"cannot open the database at {path}: {err}", "check the path and its permissions") from err
    return SqliteDb(conn)


def _use_wal(conn, apsw) -> None:
    """Switch a new file to WAL. SQLite does not call the busy handler for this, and processes that open a new
    store together collide here ("database is locked"), so retry it the same way."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except apsw.BusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0.001, 0.005))


def _patient_busy_handler():
    """Retry a locked database every few milliseconds for up to BUSY_TIMEOUT_MS.

    SQLite's own busy timeout backs off to 100 ms sleeps, so with many writers a waiting one keeps missing the
    short moments the lock is free (p95 write latency of 0.9 s with 4 agents). Short, jittered sleeps keep
    waits close to the lock holders' actual work.
    """
    deadline_holder: list[float] = []

    def handler(prior_calls: int) -> bool:
        now = time.monotonic()
        if prior_calls == 0:
            deadline_holder[:] = [now + BUSY_TIMEOUT_MS / 1000]
        if now >= deadline_holder[0]:
            return False
        time.sleep(random.uniform(0.0005, 0.003))
        return True

    return handler


class SqliteDb:
    """One apsw connection as the engine's `Db` (`slm.storage.db`). `execute`, `executemany`, `cursor` and `changes`
    are apsw's own bound methods, so a statement costs what it did on the bare connection; `raw` is the apsw
    connection, for the few SQLite-only storage functions (the online backup API)."""

    __slots__ = ("changes", "close", "cursor", "execute", "executemany", "raw")
    backend = "sqlite"
    dialect = SQLITE

    def __init__(self, conn) -> None:
        self.raw = conn
        self.execute, self.executemany, self.cursor = conn.execute, conn.executemany, conn.cursor
        self.changes, self.close = conn.changes, conn.close

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def data_version(self) -> int:
        """SQLite's `data_version` of this connection: it moves when another connection commits to the file."""
        return self.raw.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A deferred transaction, or a savepoint inside an open one (apsw's `with conn`)."""
        with self.raw:
            yield

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back if the body raises.

        Taking the write lock up front means a read-then-write cannot fail half way with SQLITE_BUSY when another
        process wrote in between (a deferred transaction cannot wait for that); it waits on the busy timeout
        instead, and raises `StoreBusy` past it. Inside an open transaction it is a savepoint.
        """
        conn = self.raw
        if conn.in_transaction:
            with conn:
                yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except import_apsw().BusyError as err:
            raise StoreBusy(f"the store stayed locked for {BUSY_TIMEOUT_MS // 1000} s: {err}", BUSY_HINT) from err
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (disk full, interrupt): keep its error
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """One consistent view of the database for a long read (an export) while other processes write: a deferred
        transaction that only reads, so WAL keeps serving it the state of its first read."""
        conn = self.raw
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def sqlite_failure(err: BaseException) -> StorageError | None:
    """The storage error an exception of the SQLite driver stands for; None for any other exception. Looks at an
    apsw that is already imported and never imports it: only an imported apsw can have raised."""
    apsw = sys.modules.get("apsw")
    if apsw is None or not isinstance(err, apsw.Error):
        return None
    if isinstance(err, apsw.BusyError):
        return StoreBusy(f"SQLite error: {err}", BUSY_HINT)
    return StorageError(f"SQLite error: {err}", "run `slm doctor`; restore a backup if the file is damaged")
