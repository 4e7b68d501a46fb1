"""`slm doctor` for a store on a PostgreSQL server: the server itself first, then what `checkup` checks of any store
that applies there (schema, vectors, interrupted erasures) and what only a server store needs (references, the
behaviour schema, the keyword index slm keeps in tables). A file's checks (its pages, permissions) have no
counterpart: PostgreSQL keeps its own."""

from __future__ import annotations

from slm.core.checkup import (
    BEHAVIOR,
    ERASURES,
    KEYWORDS,
    REFERENCES,
    SCHEMA,
    SERVER,
    VECTORS,
    Check,
    connected,
    erasures_check,
    guard,
    schema_check,
    vectors_check,
)
from slm.errors import SlmError
from slm.storage import health
from slm.storage.db import StoreLocation


def server_checks(location: StoreLocation, *, full: bool = False) -> list[Check]:
    """The checks of a store on a PostgreSQL server: the server first; when it cannot be used, the others are
    reported as not done. `full` (`slm doctor --full`) compares every keyword posting with its memory's tokens."""
    server = _server(location)
    names = (SCHEMA, REFERENCES, KEYWORDS, VECTORS, ERASURES, BEHAVIOR)
    if not server.ok:
        return [server, *(Check(n, False, f"not checked: the {SERVER} failed its check", server.fix) for n in names)]
    return [server, schema_check(location), _references(location), _keywords(location, full), vectors_check(location),
            erasures_check(location), _server_behavior(location)]  # fmt: skip


def _server(location: StoreLocation) -> Check:
    """The server answers, at a version slm supports, with pgvector installed in the store's database."""

    def probe() -> str:
        with connected(location) as conn:
            version, vector = health.server_version(conn), health.pgvector_version(conn)
        if vector is None:
            raise SlmError(f"pgvector is not installed in {location.shown}", "as a superuser: CREATE EXTENSION vector")
        if int(version.split(".")[0]) < 15:
            raise SlmError(f"PostgreSQL {version} is older than 15", "use PostgreSQL 15 or newer")
        return f"PostgreSQL {version} with pgvector {vector} at {location.shown}"

    return guard(SERVER, "check that the server runs and the URL (user, password, host, database)", probe)


def _references(location: StoreLocation) -> Check:
    """No row names a memory, chunk or entity that is gone (what the foreign keys promise)."""

    def probe() -> str:
        with connected(location) as conn:
            orphans = {name: n for name, n in health.orphan_rows(conn).items() if n}
        if orphans:
            listed = ", ".join(f"{name}: {n:,}" for name, n in orphans.items())
            raise SlmError(f"rows name what is gone ({listed})", "restore the database from a backup")
        return "every row names a memory, chunk or entity that exists"

    return guard(REFERENCES, "restore the database from a backup", probe)


def _keywords(location: StoreLocation, full: bool) -> Check:
    """The keyword index (`memory_tokens`, `memory_postings` and their counts) matches the memories: else keyword
    recall misses memories, or ranks with wrong counts. `slm doctor --repair` rebuilds it."""
    fix = "run `slm doctor --repair` to rebuild it from the memories"

    def probe() -> str:
        with connected(location) as conn:
            if not health.has_table(conn, "memory_tokens"):
                return "no keyword index yet: the store is set up when slm first opens it"
            problems = health.keyword_index_problems(conn, full=full)
        if problems:
            listed = ", ".join(f"{kind}: {n:,}" for kind, n in problems.items())
            raise SlmError(f"the keyword index does not match the memories ({listed}): keyword recall misses some", fix)
        if full:
            return "the keyword index matches the memories (tokens, every posting, counts)"
        return "the keyword index matches the memories (tokens, postings per memory, counts; --full: every posting)"

    return guard(KEYWORDS, fix, probe)


def _server_behavior(location: StoreLocation) -> Check:
    """The behaviour tables (schema `behavior` of the same database) can be read, at a known schema version."""

    def probe() -> str:
        from slm.storage import migrations
        from slm.storage.db import open_behavior_db

        conn = open_behavior_db(location)
        try:
            current, latest = migrations.schema_version(conn), len(migrations.load_migrations(
                migrations.history_dir(conn, "behavior")))  # fmt: skip
        finally:
            conn.close()
        if current > latest:
            raise ValueError(f"the behaviour schema's version {current} is newer than this slm ({latest})")
        return f"schema behavior at version {current}" + ("" if current else ": made when first used")

    return guard(BEHAVIOR, "check the role's privileges on schema behavior", probe)
