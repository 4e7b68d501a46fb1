"""Apply `migrations/NNNN_name.sql` in order, each inside its own transaction.

Each backend has its own history with the same numbers and names: `migrations/` for SQLite, `migrations/postgres/`
for PostgreSQL (and `behavior/` under each). The schema version (SQLite's `user_version`, PostgreSQL's `slm_state`)
is set in the same transaction as the migration's DDL, so a failed migration leaves the database at the previous
version. A database newer than this code is refused.
A migration runs with foreign keys on (SQLite checks the rows it changed), except one that rebuilds a table
(`DROP TABLE`): that runs with them off and checks every reference before it commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from slm import faults
from slm.errors import SchemaError
from slm.storage.connection import import_apsw

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_REBUILDS = re.compile(r"\bDROP\s+TABLE\b", re.IGNORECASE)  # a table rebuilt (or dropped): foreign keys off


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations_dir() -> Path:
    """The shipped migrations: inside the wheel (`slm/migrations`) or at the root of a source checkout."""
    packaged = Path(str(resources.files("slm"))) / "migrations"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    if checkout.is_dir():
        return checkout
    raise SchemaError("the migrations folder is missing from this installation", "reinstall slm")


def history_dir(conn, part: str = "") -> Path:
    """The migrations of `conn`'s backend: the memories' (`part` "") or the behaviour's (`part` "behavior")."""
    return migrations_dir() / ("postgres" if conn.backend == "postgres" else "") / part


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """The `.sql` files of one database's folder (`migrations/` for memory.db, `migrations/behavior/`)."""
    folder = folder or migrations_dir()
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise SchemaError(f"badly named migration {path.name}", "name migrations NNNN_snake_case.sql")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def schema_version(conn) -> int:
    if conn.backend == "postgres":
        return conn.schema_version()
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn, folder: Path | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Bring the database up to the newest migration; return the resulting version. `progress` hears (applied,
    pending) before the first and after each: one that rewrites every memory takes seconds at 100k."""
    migrations = load_migrations(folder or history_dir(conn))
    latest = len(migrations)
    pending = migrations[_check_version(conn, latest) :]
    if not pending:
        return latest
    if progress is not None:
        progress(0, len(pending))
    if conn.backend == "postgres":
        _migrate_postgres(conn, pending, latest, progress)
        return latest
    for done, migration in enumerate(pending, 1):
        rebuilds = _REBUILDS.search(migration.sql) is not None
        # Table rebuilds (SQLite's documented ALTER procedure) need foreign keys off, which only works outside a
        # transaction; such a step checks every reference itself before it commits. Any other step runs with them
        # on, deferred: SQLite checks what it changed at commit, not every table (seconds at 100k memories).
        conn.execute(f"PRAGMA foreign_keys={'OFF' if rebuilds else 'ON'}")
        try:
            # Several processes may open a new database at once: the write lock decides who applies each step.
            with conn.write_transaction():
                if _check_version(conn, latest) < migration.version:
                    _apply(conn, migration, rebuilds)
        except import_apsw().ConstraintError as err:
            raise SchemaError(f"migration {migration.name} breaks a constraint: {err}") from err
        finally:
            conn.execute("PRAGMA foreign_keys=ON")
        faults.step("migration.committed")
        if progress is not None:
            progress(done, len(pending))
    return latest


def _migrate_postgres(conn, pending: list[Migration], latest: int, progress) -> None:
    """PostgreSQL checks every constraint itself and its DDL is transactional: each step is one write transaction."""
    for done, migration in enumerate(pending, 1):
        with conn.write_transaction(pipelined=False):  # a script: several statements in one text
            if _check_version(conn, latest) < migration.version:
                conn.execute(migration.sql)
                conn.set_schema_version(migration.version)
                faults.step("migration.applied")
        faults.step("migration.committed")
        if progress is not None:
            progress(done, len(pending))


def _apply(conn, migration: Migration, rebuilds: bool) -> None:
    if not rebuilds:
        conn.execute("PRAGMA defer_foreign_keys=ON")  # until this transaction ends
    conn.execute(migration.sql)
    broken = conn.execute("PRAGMA foreign_key_check").fetchall() if rebuilds else []
    if broken:
        raise SchemaError(f"migration {migration.name} leaves {len(broken)} broken references, e.g. {broken[0]}")
    conn.execute(f"PRAGMA user_version = {migration.version}")
    faults.step("migration.applied")  # done but not committed: a crash here must leave the previous version


def _check_version(conn, latest: int) -> int:
    current = schema_version(conn)
    if current > latest:
        raise SchemaError(
            f"this database has schema version {current}, newer than this slm understands ({latest})",
            "upgrade slm (pip install -U slm) before opening it",
        )
    return current
