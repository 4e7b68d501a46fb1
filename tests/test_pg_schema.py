"""The PostgreSQL schema history (`migrations/postgres`) makes what SQLite's makes, table by table (issue 24).

Each PostgreSQL step is applied to a fresh database with psycopg, one transaction per file (slm's own runner for
PostgreSQL comes in a later step), and compared with a fresh SQLite store that slm migrated to the same version:
the same tables (less FTS5's and vec0's), columns in the same order with the same kind of type, nullability and
default, the same primary keys, foreign keys with their ON DELETE actions, unique constraints and partial unique
indexes, the same named indexes and triggers. Then the two behave alike where the schema holds logic: the counting
triggers, ids never handed out twice, the JSON check.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from slm.storage import migrations
from slm.storage.connection import import_apsw, open_connection

MAIN = migrations.migrations_dir()
PG = MAIN / "postgres"
LATEST = len(migrations.load_migrations(MAIN))
IDENTITY = "identity"  # the default of an id the database hands out: AUTOINCREMENT / rowid alias, or an identity


@dataclass
class Column:
    name: str
    type: str  # integer, text, real, blob
    not_null: bool
    default: str | None


@dataclass
class Table:
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    foreign_keys: set[tuple] = field(default_factory=set)  # (columns, table, columns, on delete)
    unique: set[tuple] = field(default_factory=set)  # (index name or None for a constraint, columns, predicate)
    indexes: set[str] = field(default_factory=set)  # indexes created by name (not those behind a constraint)
    triggers: set[str] = field(default_factory=set)  # less SQLite's that keep FTS5 or vec0 tables in step


def _predicate(sql: str | None) -> str | None:
    return None if sql is None else re.sub(r"\s+", " ", sql.replace("(", "").replace(")", "")).strip().lower()


def _default(sql: str | None) -> str | None:
    """`'note'::text` (PostgreSQL) and `'note'` (SQLite) alike."""
    return None if sql is None else re.sub(r"::[a-z ]+$", "", sql.strip()).strip("()")


# -- SQLite ---------------------------------------------------------------------------------------------------------

SQLITE_TYPES = {"INTEGER": "integer", "TEXT": "text", "REAL": "real", "BLOB": "blob"}


def sqlite_store(folder: Path, version: int = LATEST, behavior: bool = False):
    """A fresh SQLite database that slm migrated to `version` (memory.db's history, or behavior.db's)."""
    source = MAIN / "behavior" if behavior else MAIN
    steps = folder / "steps"
    steps.mkdir(parents=True)
    for path in sorted(source.glob("*.sql"))[:version]:
        shutil.copy(path, steps)
    conn = open_connection(folder / "store.db")
    migrations.migrate(conn, steps)
    return conn


def sqlite_tables(conn) -> dict[str, Table]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    tables = {}
    for name, sql in rows:
        if name.startswith("sqlite_") or any(name == v or name.startswith(v + "_") for v in virtual):
            continue  # SQLite's own, FTS5's and vec0's tables and their shadow tables
        tables[name] = _sqlite_table(conn, name, sql)
    for name, table, sql in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"):
        if table in tables and not any(re.search(rf"\b{v}\b", sql) for v in virtual):
            tables[table].triggers.add(name)
    return tables


def _sqlite_table(conn, name: str, sql: str) -> Table:
    table = Table()
    info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
    table.primary_key = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
    fks: dict[int, list] = {}
    for fk_id, _seq, target, source, to, _on_update, on_delete, _match in conn.execute(
        f'PRAGMA foreign_key_list("{name}")'
    ):
        fks.setdefault(fk_id, [target, [], [], on_delete])
        fks[fk_id][1].append(source)
        fks[fk_id][2].append(to)
    table.foreign_keys = {(tuple(src), target, tuple(to), on_del) for target, src, to, on_del in fks.values()}
    referencing = {column for fk in table.foreign_keys for column in fk[0]}
    rowid_alias = "WITHOUT ROWID" not in sql.upper() and len(table.primary_key) == 1
    for _cid, column, declared, not_null, default, pk in info:
        alias = rowid_alias and pk and declared.upper() == "INTEGER"
        # A rowid alias the table fills itself (not a key that is another table's id): an id SQLite hands out.
        handed_out = alias and column not in referencing
        table.columns.append(
            Column(
                column,
                SQLITE_TYPES[declared.upper()],
                bool(not_null or pk),  # SQLite lets some primary keys be NULL; PostgreSQL none: both mean not null
                IDENTITY if handed_out else _default(default),
            )
        )
    for _seq, index, unique, origin, partial in conn.execute(f'PRAGMA index_list("{name}")'):
        if origin == "pk":
            continue
        if origin == "c":
            table.indexes.add(index)
        if unique:
            columns = tuple(r[2] or "<expr>" for r in conn.execute(f'PRAGMA index_info("{index}")'))
            where = None
            if partial:
                (create,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
                where = create[re.search(r"\bWHERE\b", create, re.IGNORECASE).end() :]
            table.unique.add((index if origin == "c" else None, columns, _predicate(where)))
    return table


# -- PostgreSQL -----------------------------------------------------------------------------------------------------

PG_TYPES = {"bigint": "integer", "integer": "integer", "smallint": "integer", "text": "text",
            "double precision": "real", "bytea": "blob"}  # fmt: skip
# Keyword search's own tables on PostgreSQL (slm/storage/keyword_pg.py): they stand for SQLite's FTS5 table
# `memories_fts`, which the SQLite side leaves out of the comparison as a virtual table, so they have no twin.
PG_ONLY = {"memory_tokens", "memory_postings", "memory_tokens_stats"}
ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def apply_pg(conn, folder: Path, version: int | None = None, schema: str | None = None) -> None:
    """The first `version` steps of a PostgreSQL history, one transaction per file (into `schema` if given)."""
    for path in sorted(folder.glob("*.sql"))[:version]:
        with conn.transaction():
            if schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                conn.execute(f'SET LOCAL search_path TO "{schema}"')
            conn.execute(path.read_text(encoding="utf-8"))


def pg_tables(conn, schema: str = "public") -> dict[str, Table]:
    names = conn.execute(
        "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind = 'r'",
        (schema,),
    ).fetchall()
    tables = {name: _pg_table(conn, oid) for oid, name in names if name not in PG_ONLY}
    for table, trigger in conn.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
        (schema,),
    ):
        if table not in PG_ONLY:
            tables[table].triggers.add(trigger)
    return tables


def _pg_table(conn, oid: int) -> Table:
    table = Table()
    names = {}
    for number, column, type_, not_null, default, identity in conn.execute(
        "SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid), a.attidentity"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (oid,),
    ):
        names[number] = column
        kind = PG_TYPES.get(type_, type_)
        table.columns.append(Column(column, kind, not_null, IDENTITY if identity else _default(default)))
    constraint_indexes = set()
    for kind, columns, target, target_oid, target_columns, on_delete, index in conn.execute(
        "SELECT contype, conkey, (SELECT relname FROM pg_class WHERE oid = confrelid), confrelid, confkey,"
        " confdeltype, conindid FROM pg_constraint WHERE conrelid = %s AND contype IN ('p', 'u', 'f')",
        (oid,),
    ):
        constraint_indexes.add(index)
        if kind == "p":
            table.primary_key = tuple(names[n] for n in columns)
        elif kind == "u":
            table.unique.add((None, tuple(names[n] for n in columns), None))
        else:
            target_names = dict(conn.execute("SELECT attnum, attname FROM pg_attribute WHERE attrelid = %s",
                                             (target_oid,)).fetchall())  # fmt: skip
            table.foreign_keys.add(
                (tuple(names[n] for n in columns), target, tuple(target_names[n] for n in target_columns),
                 ON_DELETE[on_delete])
            )  # fmt: skip
    for index_oid, index, unique, keys, predicate in conn.execute(
        "SELECT i.indexrelid, c.relname, i.indisunique, i.indkey::int2[], pg_get_expr(i.indpred, i.indrelid)"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s",
        (oid,),
    ):
        if index_oid in constraint_indexes:
            continue
        table.indexes.add(index)
        if unique:
            table.unique.add((index, tuple(names.get(n, "<expr>") for n in keys), _predicate(predicate)))
    return table


# -- the comparison -------------------------------------------------------------------------------------------------


def differences(sqlite: dict[str, Table], pg: dict[str, Table]) -> list[str]:
    """What differs between the two schemas, one line each (empty: the same)."""
    found = [f"table {t} only on SQLite" for t in sorted(sqlite.keys() - pg.keys())]
    found += [f"table {t} only on PostgreSQL" for t in sorted(pg.keys() - sqlite.keys())]
    for name in sorted(sqlite.keys() & pg.keys()):
        a, b = sqlite[name], pg[name]
        if [c.name for c in a.columns] != [c.name for c in b.columns]:
            found.append(f"{name}: columns {[c.name for c in a.columns]} on SQLite, {[c.name for c in b.columns]}")
        else:
            found += [
                f"{name}.{x.name}: {x} on SQLite, {y}" for x, y in zip(a.columns, b.columns, strict=True) if x != y
            ]
        for part in ("primary_key", "foreign_keys", "unique", "indexes", "triggers"):
            if getattr(a, part) != getattr(b, part):
                found.append(f"{name}: {part} {getattr(a, part)} on SQLite, {getattr(b, part)} on PostgreSQL")
    return found


@pytest.fixture
def pg(pg_database):
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        yield conn


def test_the_server_runs_pgvector_0_6(pg_server, pg):
    (version,) = pg.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if not os.environ.get("SLM_TEST_PG"):  # pgserver 0.1.4 bundles PostgreSQL 16.2 and pgvector 0.6.2
        assert version.startswith("0.6."), version
        assert pg.execute("SHOW server_version").fetchone()[0].startswith("16.")
    assert pg.execute("SELECT '[1, 0]'::vector <=> '[0, 1]'::vector").fetchone()[0] == pytest.approx(1.0)


def test_both_histories_have_the_same_steps():
    for sqlite, postgres in ((MAIN, PG), (MAIN / "behavior", PG / "behavior")):
        assert [p.name for p in sorted(postgres.glob("*.sql"))] == [p.name for p in sorted(sqlite.glob("*.sql"))]
    assert [m.version for m in migrations.load_migrations(PG)] == list(range(1, LATEST + 1))


@pytest.mark.parametrize("version", range(1, LATEST + 1))
def test_each_step_makes_the_sqlite_schema(version, pg, tmp_path):
    apply_pg(pg, PG, version)
    conn = sqlite_store(tmp_path, version)
    try:
        assert differences(sqlite_tables(conn), pg_tables(pg)) == []
    finally:
        conn.close()


def test_the_behavior_history_makes_the_sqlite_schema_beside_the_memories(pg, tmp_path):
    apply_pg(pg, PG)
    apply_pg(pg, PG / "behavior", schema="behavior")  # its own schema: both have an `events` table
    conn = sqlite_store(tmp_path, behavior=True)
    try:
        assert differences(sqlite_tables(conn), pg_tables(pg, "behavior")) == []
    finally:
        conn.close()


def test_the_comparison_sees_a_missing_column(pg, tmp_path):
    apply_pg(pg, PG)
    conn = sqlite_store(tmp_path)
    try:
        sqlite = sqlite_tables(conn)
        assert differences(sqlite, pg_tables(pg)) == []
        pg.execute("ALTER TABLE claims DROP COLUMN rule")
        assert differences(sqlite, pg_tables(pg)) == [
            "claims: columns ['id', 'memory_id', 'subject', 'attribute', 'value', 'polarity', 'single', 'change', "
            "'rule', 'project', 'principal', 'valid_from', 'valid_to', 'superseded_by'] on SQLite, ['id', "
            "'memory_id', 'subject', 'attribute', 'value', 'polarity', 'single', 'change', 'project', 'principal', "
            "'valid_from', 'valid_to', 'superseded_by']"
        ]
        conn.execute("ALTER TABLE backups DROP COLUMN memories")
        assert "backups: columns ['id', 'path', 'made_at'] on SQLite, ['id', 'path', 'made_at', 'memories']" in (
            differences(sqlite_tables(conn), pg_tables(pg))
        )
    finally:
        conn.close()


# -- the same behaviour ---------------------------------------------------------------------------------------------

MEMORY = "INSERT INTO memories (content, content_hash, created_at, agent, project) VALUES ('{0}', '{0}', 't', 'a', 'p')"


def _behaviour(execute) -> dict:
    """Run the same SQL on either backend (`execute(sql) -> rows`): what the schema's own logic made of it."""
    seen = {}
    for text in ("one", "two", "three"):
        execute(MEMORY.format(text))
    execute("INSERT INTO entities (key, name, kind) VALUES ('pg', 'PostgreSQL', 'technology'), ('py', 'Python', 'x')")
    ids = dict(execute("SELECT content, id FROM memories"))
    ent = dict(execute("SELECT key, id FROM entities"))
    pairs = [(ids["one"], ent["pg"]), (ids["one"], ent["py"]), (ids["two"], ent["pg"]), (ids["three"], ent["pg"])]
    execute("INSERT INTO memory_entities (memory_id, entity_id) VALUES " + ", ".join(f"({m}, {e})" for m, e in pairs))

    def counts():
        return sorted(execute("SELECT key, memories FROM entities"))

    seen["inserted"] = counts()
    execute(f"DELETE FROM memories WHERE id = {ids['one']}")  # cascades to its links
    seen["memory deleted"] = counts()
    execute(f"DELETE FROM memory_entities WHERE memory_id = {ids['two']}")
    seen["link deleted"] = counts()
    execute(f"DELETE FROM memories WHERE id = {ids['three']}")  # the largest id: never handed out again
    execute(MEMORY.format("four"))
    seen["new id"] = execute("SELECT id FROM memories WHERE content = 'four'")[0][0] - ids["three"]
    execute(f"UPDATE memories SET superseded_by = {ids['two']} WHERE content = 'four'")
    execute("DELETE FROM memories WHERE content = 'two'")  # deletes the version it superseded with it
    seen["left"] = execute("SELECT count(*) FROM memories")[0][0]
    return seen


def test_the_schemas_logic_behaves_alike(pg, tmp_path):
    apply_pg(pg, PG)
    conn = sqlite_store(tmp_path)
    try:
        on_sqlite = _behaviour(lambda sql: conn.execute(sql).fetchall())
    finally:
        conn.close()

    def on_pg(sql):
        cursor = pg.execute(sql)
        return cursor.fetchall() if cursor.description else []

    expected = {
        "inserted": [("pg", 3), ("py", 1)],
        "memory deleted": [("pg", 2), ("py", 0)],
        "link deleted": [("pg", 1), ("py", 0)],
        "new id": 1,  # the deleted largest id is not handed out again
        "left": 0,
    }
    assert on_sqlite == expected
    assert _behaviour(on_pg) == expected


def test_meta_must_be_json_on_both(pg, tmp_path):
    import psycopg

    apply_pg(pg, PG)
    bad = MEMORY.replace("project)", "project, meta)").replace("'p')", "'p', '{{not json')").format("x")
    conn = sqlite_store(tmp_path)
    try:
        with pytest.raises(import_apsw().ConstraintError):
            conn.execute(bad)
    finally:
        conn.close()
    with pytest.raises(psycopg.errors.CheckViolation):
        pg.execute(bad)
    pg.execute(MEMORY.replace("project)", "project, meta)").replace("'p')", "'p', '{{\"session\": 7}}')").format("y"))
    assert pg.execute("SELECT meta FROM memories").fetchone()[0] == '{"session": 7}'
