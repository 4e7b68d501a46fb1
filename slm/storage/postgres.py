"""The PostgreSQL backend: a store in a PostgreSQL database (with pgvector), as a `PgDb` the engine uses as it
uses SQLite's `SqliteDb`.

The repositories' SQL is written once, with `?` placeholders; `PgDb` turns them into psycopg's (`?` -> `%s`,
`?N` -> `%(pN)s`) once per statement text. Writers are serialised as SQLite serialises them: every write
transaction takes one advisory lock first, so a read-then-write sees no other writer in between and ids are
handed out in commit order (the vector mirror and event readers follow `id > last`). Only `slm/storage` imports
this module. ARCHITECTURE.md ("Storage") has the whole picture.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from slm.errors import StorageError, StoreBusy
from slm.storage.dialect import POSTGRES

WAIT_SECONDS = 30  # as SQLite's busy timeout: a writer waits its turn rather than fail
BUSY_HINT = "another process is writing to the store; try again"
SERVER_HINT = "check that the server runs, the URL (user, password, host, database), and that pgvector is installed"

# The state the engine asks of a database and SQLite keeps in its header: the schema version (`user_version`) and
# a number that moves when another connection commits (`data_version`). One row per schema.
STATE_TABLE = """CREATE TABLE IF NOT EXISTS slm_state (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    schema_version integer NOT NULL DEFAULT 0,
    data_version   bigint NOT NULL DEFAULT 0
)"""


def import_psycopg():
    """The PostgreSQL driver, or an error saying how to install it."""
    try:
        import psycopg
    except ImportError as err:
        hint = "run: pip install 'slm[postgres]'"
        raise StorageError("the PostgreSQL driver 'psycopg' is not installed", hint) from err
    return psycopg


QUERY_PASSWORD = re.compile(r"(^|&)password=[^&]*", re.IGNORECASE)  # libpq's other place for it: `?password=`


def redacted(url: str) -> str:
    """The URL without its password (the user's, or a `password=` parameter), for messages and `status`."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.rsplit("@", 1)
        url = urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[-1]}"))
    before, mark, query = url.partition("?")  # not urlunsplit: it would drop the `//` of postgresql:///db
    return before + mark + QUERY_PASSWORD.sub(r"\1password=***", query)


_NULL_TEST = re.compile(r"\s+IS\s+(NOT\s+)?NULL\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """`sql` with psycopg's placeholders, and the 1-based numbers of `?N` parameters (None for plain `?`s).

    Quoted text and identifiers are left alone; a literal `%` is doubled, as psycopg wants with parameters. A
    parameter only tested for NULL (`? IS NULL`) is cast to text: PostgreSQL cannot tell its type otherwise."""
    out: list[str] = []
    numbered: list[int] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = sql.find(c, i + 1)
            end = n - 1 if end < 0 else end
            out.append(sql[i : end + 1])
            i = end + 1
            continue
        if c == "?":
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            if j > i + 1:
                numbered.append(int(sql[i + 1 : j]))
                placeholder = f"%(p{sql[i + 1 : j]})s"
            else:
                placeholder = "%s"
            out.append(f"CAST({placeholder} AS text)" if _NULL_TEST.match(sql, j) else placeholder)
            i = j
            continue
        out.append("%%" if c == "%" else c)
        i += 1
    return "".join(out), (tuple(numbered) if numbered else None)


def _bound(value: Any) -> Any:
    """A parameter as PostgreSQL should see it: SQLite's flags are integers, so a Python bool binds as 0 / 1."""
    return int(value) if isinstance(value, bool) else value


def _params(sql: str, params: Any) -> tuple[str, Any]:
    if params is None or (not params and not isinstance(params, dict)):
        return sql, None  # no parameters, no placeholders: psycopg sends the text as it is (scripts included)
    text, numbered = translate(sql)
    values = [_bound(v) for v in params]
    if numbered is None:
        return text, values
    return text, {f"p{k}": values[k - 1] for k in set(numbered)}


class PgDb:
    """One psycopg connection (autocommit outside transactions) as the engine's `Db` (`slm.storage.db`).

    `schema` names the PostgreSQL schema the store's tables live in: `public` for memories, `behavior` for what
    users and agents did (SQLite's behavior.db), so the two stay apart as two files do."""

    backend = "postgres"
    dialect = POSTGRES

    def __init__(self, conn, url: str, schema: str) -> None:
        self.raw = conn
        self.url = url
        self.schema = schema
        self._lock_key = f"slm.write.{schema}"
        self.wait_seconds = WAIT_SECONDS
        self._last = None
        self._own_writes = 0  # this connection's own bumps of data_version, which SQLite's does not count
        self._bumped = False  # the open write transaction has bumped it
        self._pipeline = None  # psycopg's pipeline while a write transaction runs (see write_transaction)
        self._savepoints = 0  # savepoints open in it

    # -- statements ---------------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Any = None, /):
        text, bound = _params(sql, params)
        self._last = self.raw.execute(text, bound)
        return self._last

    def executemany(self, sql: str, rows: Any, /):
        text, numbered = translate(sql)
        bound = ([_bound(v) for v in row] for row in rows)
        if numbered is not None:
            bound = ({f"p{k}": values[k - 1] for k in set(numbered)} for values in bound)
        cursor = self.raw.cursor()
        cursor.executemany(text, list(bound))
        self._last = cursor
        return cursor

    def changes(self) -> int:
        if self._pipeline is not None:
            self._pipeline.sync()  # a pipelined statement's row count is known once its result has come back
        return 0 if self._last is None else max(self._last.rowcount, 0)

    def close(self) -> None:
        self.raw.close()

    # -- transactions -------------------------------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        from psycopg import pq

        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """READ COMMITTED, or a savepoint inside an open transaction."""
        if self._pipeline is not None:
            with self._savepoint():
                yield
            return
        if not self.in_transaction:
            self._bumped = False  # a write transaction opened inside this one must bump data_version again
        with self.raw.transaction():
            yield

    @contextmanager
    def write_transaction(self, *, pipelined: bool = True) -> Iterator[None]:
        """The store's write lock (an advisory lock held to the transaction's end), then the body; a savepoint
        that takes the lock too inside an open transaction. Raises `StoreBusy` after WAIT_SECONDS of waiting.

        An outer write transaction runs in psycopg's pipeline mode: a statement whose result nobody reads (an
        INSERT, UPDATE or DELETE without RETURNING, a savepoint) is sent without waiting for the server and goes
        with the next statement whose rows are read, so a write waits for a round trip per read, not per
        statement, and holds the lock that much less (the other writers queue on it). A statement that fails is
        raised at that next read or at the commit, inside the transaction, which it rolls back: in a pipelined
        write transaction a failed statement fails the whole transaction (a savepoint rolls back what its body
        did when the body raises, but a server error may be raised only after the savepoint ended). A script
        (several statements in one text, as a migration is) cannot run in a pipeline: its caller asks for
        `pipelined=False`."""
        if self._pipeline is not None:  # nested in a pipelined write transaction: the lock is held already
            with self._savepoint():
                yield
            return
        outer = not self.in_transaction
        if not outer or not pipelined:
            with self.raw.transaction():
                if outer:
                    self._bumped = False
                self._lock()
                self._bump()
                yield
            if outer:
                self._own_writes += 1
            return
        with self.raw.pipeline() as pipeline, self.raw.transaction():
            self._bumped = False
            self._lock()
            self._bump()
            self._pipeline = pipeline
            try:
                yield
            finally:
                self._pipeline = None
        self._own_writes += 1

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """A savepoint inside the pipelined write transaction, its statements queued with the body's: released
        when the body ends, rolled back to when it raises."""
        self._savepoints += 1
        name = f"slm_savepoint_{self._savepoints}"
        self.raw.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        finally:
            self.raw.execute(f"RELEASE SAVEPOINT {name}")
            self._savepoints -= 1

    def _bump(self) -> None:
        if not self._bumped:
            self.raw.execute("UPDATE slm_state SET data_version = data_version + 1")
            self._bumped = True

    def _lock(self) -> None:
        psycopg = import_psycopg()
        try:  # the wait is bounded wherever the lock is taken, nested in a plain transaction too
            self.raw.execute(f"SET LOCAL lock_timeout = '{int(self.wait_seconds * 1000)}ms'")
            # read, so that a pipelined wait that timed out is raised here, as StoreBusy
            self.raw.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [self._lock_key]).fetchone()
        except psycopg.errors.LockNotAvailable as err:
            raise StoreBusy(f"the store stayed locked for {self.wait_seconds:g} s", BUSY_HINT) from err

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """REPEATABLE READ: every statement of the body sees the store as of its first one."""
        if self.in_transaction:
            yield
            return
        psycopg = import_psycopg()
        with self.raw.transaction():
            self.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
            raise psycopg.Rollback()

    def data_version(self) -> int:
        """The store's write counter less this connection's own writes: moves only when another connection commits."""
        return self.raw.execute("SELECT data_version FROM slm_state").fetchone()[0] - self._own_writes

    # -- the schema version, for the migration runner -------------------------------------------------------------
    def schema_version(self) -> int:
        return self.raw.execute("SELECT schema_version FROM slm_state").fetchone()[0]

    def set_schema_version(self, version: int) -> None:
        self.raw.execute("UPDATE slm_state SET schema_version = %s", [version])


def open_postgres(url: str, *, schema: str = "public") -> PgDb:
    """A connection to the store at `url` whose tables live in `schema` (created with its state row if new)."""
    psycopg = import_psycopg()
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=WAIT_SECONDS)
    except psycopg.Error as err:
        raise StorageError(f"cannot connect to PostgreSQL at {redacted(url)}: {_first_line(err)}", SERVER_HINT) from err
    try:
        _use_plain_numbers(conn)
        db = PgDb(conn, url, schema)
        conn.execute(f'SET search_path TO "{schema}", public')
        # psycopg prepares a statement run 5 times; PostgreSQL then plans it once for any parameters, and a generic
        # plan of "chunks after id ? LIMIT ?" reads every vector (57 ms a call at 100k, twice a remember)
        conn.execute("SET plan_cache_mode = force_custom_plan")
        # Only a new store takes the write lock here: opening one a writer holds must not wait (readers never do).
        if conn.execute("SELECT to_regclass(%s)", [f'"{schema}".slm_state']).fetchone()[0] is None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [db._lock_key])
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                conn.execute(STATE_TABLE)
                conn.execute("INSERT INTO slm_state DEFAULT VALUES ON CONFLICT DO NOTHING")
        return db
    except psycopg.Error as err:
        conn.close()
        message = f"cannot use the PostgreSQL store at {redacted(url)}: {_first_line(err)}"
        raise StorageError(message, SERVER_HINT) from err
    except BaseException:
        conn.close()
        raise


def _use_plain_numbers(conn) -> None:
    """`numeric` (what sum() and avg() of integers give) as int or float, as SQLite returns them, not Decimal."""
    from psycopg.adapt import Loader

    class NumberLoader(Loader):
        def load(self, data) -> int | float:
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEnN") else int(text)

    conn.adapters.register_loader("numeric", NumberLoader)


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def postgres_failure(err: BaseException) -> StorageError | None:
    """The storage error an exception of psycopg stands for; None for any other exception (never imports it)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(err, psycopg.Error):
        return None
    if isinstance(err, psycopg.errors.LockNotAvailable):
        return StoreBusy(f"PostgreSQL: {_first_line(err)}", BUSY_HINT)
    if isinstance(err, psycopg.OperationalError):
        return StorageError(f"PostgreSQL: {_first_line(err)}", SERVER_HINT)
    return StorageError(f"PostgreSQL error: {_first_line(err)}", "run `slm doctor`")
