"""A real PostgreSQL with pgvector for the tests (issue 24), started and stopped by the test run itself.

`pg_server` (one per session): pgserver's bundled PostgreSQL 16 + pgvector 0.6, initdb'd into a fresh temporary
PGDATA and deleted, server and all, when the session ends; or the server `SLM_TEST_PG=postgresql://…` names (a role
that may create databases, with pgvector installed). A template database with `vector` is made once; `pg_database`
hands each test a database of its own copied from it (`CREATE DATABASE … TEMPLATE`) and drops it afterwards.

pgserver has wheels for CPython ≤ 3.12 on Linux x86_64, macOS and Windows only: elsewhere, without SLM_TEST_PG, the
tests that ask for a server skip and say why. Where it has a wheel it must be installed (the `test` extra): a
missing one fails, so a broken install never passes as skipped tests. As root, pgserver runs the server as a system
user `pgserver` it creates: PGDATA is made under /tmp, which that user can reach.

tests/conftest.py loads these fixtures for every test module.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from benchmarks import throwaway_postgres
from benchmarks.throwaway_postgres import with_database

ENV = "SLM_TEST_PG"


def pgserver_has_wheel() -> bool:
    """pgserver 0.1.4 ships wheels for cp39–cp312 on manylinux x86_64, macOS (x86_64, arm64) and win_amd64."""
    machine = platform.machine().lower()
    return sys.version_info < (3, 13) and (sys.platform == "darwin" or machine in {"x86_64", "amd64"})


def unavailable_reason() -> str | None:
    """Why no server can be had here, or None. Raises (fails) when one should be there but is not installed."""
    if os.environ.get(ENV):
        return None if importlib.util.find_spec("psycopg") else f"{ENV} is set but psycopg is not installed"
    if not pgserver_has_wheel():
        return (
            f"PostgreSQL tests need pgserver, which has no wheel for Python {sys.version_info.major}."
            f"{sys.version_info.minor} on {sys.platform} {platform.machine()}: set {ENV}=postgresql://… to run them "
            "against a PostgreSQL with pgvector of your own"
        )
    missing = [name for name in ("pgserver", "psycopg") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not installed: run `make install` (pip install -e '.[test]')")
    return None


@dataclass
class PgServer:
    """One server for the session: `url(db)` connects to a database on it; `admin` is its maintenance database."""

    admin: str  # a URL of the server's maintenance database (postgres), from which databases are made and dropped
    template: str  # the database every test's own is copied from (has `vector`)
    start_seconds: float  # what starting it (initdb + start) or connecting to it took
    made: int = field(default=0)

    def url(self, database: str) -> str:
        return with_database(self.admin, database)

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A fresh database copied from the template; its name."""
        self.made += 1
        name = f"{self.template}_{self.made}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # FORCE: a test's forgotten connection


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    template = f"slm_test_{os.getpid()}"  # unique per run: several runs may share an external server
    started = time.perf_counter()
    server = None
    try:
        admin = os.environ.get(ENV) or ""
        if not admin:
            server, admin = throwaway_postgres.start()
        pg = PgServer(admin=admin, template=template, start_seconds=time.perf_counter() - started)
        pg.execute(f'CREATE DATABASE "{template}"')
        try:
            with psycopg.connect(pg.url(template), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            yield pg
        finally:
            pg.drop_database(template)
    finally:
        if server is not None:
            server.cleanup()  # pg_ctl stop -w (waits for every server process to exit), then PGDATA is deleted


@pytest.fixture
def pg_database(pg_server) -> Iterator[str]:
    """A URL of a database of this test's own (with `vector`), dropped after it."""
    name = pg_server.new_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)
