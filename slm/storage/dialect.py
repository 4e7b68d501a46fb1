"""The SQL constructs the database engines spell differently, as named fragments a `Db` carries (`db.dialect`).

The repositories write one statement per query; where SQLite and PostgreSQL disagree they ask the dialect for the
piece instead of spelling SQLite's. `SqliteDialect` returns exactly the SQL the repositories used to write, so
SQLite's plans do not change (index hints included). A PostgreSQL backend (issue 24) brings its own dialect with
the same methods; each docstring names the PostgreSQL spelling it stands for.

Portable SQL needs no fragment: `INSERT ... ON CONFLICT (key) DO NOTHING` / `DO UPDATE SET c = excluded.c`
(SQLite >= 3.24) replaces `INSERT OR IGNORE` / `INSERT OR REPLACE` in the repositories directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


class SqliteDialect:
    """SQLite's fragments. Stateless: one shared instance (`SQLITE`)."""

    name = "sqlite"

    @staticmethod
    def in_list(expr: str) -> str:
        """`expr` is one of the list bound to the next `?` (bind `list_param(values)`); no variable limit, one
        statement text whatever the length. PostgreSQL: `expr = ANY(?)`."""
        return f"{expr} IN (SELECT value FROM json_each(?))"

    @staticmethod
    def not_in_list(expr: str) -> str:
        """`expr` is none of the list bound to the next `?` (`list_param`). PostgreSQL: `NOT (expr = ANY(?))`."""
        return f"{expr} NOT IN (SELECT value FROM json_each(?))"

    @staticmethod
    def list_param(values: Iterable[int | str]) -> str:
        """The parameter an `in_list` / `not_in_list` binds: a JSON array here, a Python list for PostgreSQL."""
        return json.dumps(list(values))

    @staticmethod
    def rows_of(width: int) -> str:
        """A SELECT whose rows are the text tuples of `width` values bound to the next `?` (bind
        `rows_param(rows)`). PostgreSQL: `SELECT value->>0, ... FROM jsonb_array_elements(?::jsonb)`."""
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(width))
        return f"SELECT {picks} FROM json_each(?)"

    @staticmethod
    def rows_param(rows: Iterable[Iterable[str]]) -> str:
        """The parameter a `rows_of` binds: a JSON array of arrays."""
        return json.dumps([list(row) for row in rows])

    @staticmethod
    def json_values(expr: str, alias: str) -> str:
        """A FROM item whose rows are the elements of the JSON array `expr`, as `{alias}.value`. PostgreSQL:
        `json_array_elements_text(expr::json) AS alias(value)` (text, so compare with a cast)."""
        return f"json_each({expr}) {alias}"

    @staticmethod
    def json_array_agg(expr: str) -> str:
        """The aggregated values as a JSON array text, `[]` for no rows. PostgreSQL:
        `coalesce(json_agg(expr), '[]')::text`."""
        return f"json_group_array({expr})"

    @staticmethod
    def joined_ids(expr: str, order: str) -> str:
        """The aggregated integers as one comma-separated text in `order`, NULL for no rows (read with
        `split(",")`). SQLite keeps the order its subquery gave the rows; PostgreSQL does not promise to:
        `string_agg(CAST(expr AS text), ',' ORDER BY order)`."""
        return f"group_concat({expr})"

    @staticmethod
    def contains(haystack: str, needle: str) -> str:
        """Whether the text `needle` occurs in `haystack` (no pattern characters). PostgreSQL: `strpos(h, n) > 0`."""
        return f"instr({haystack}, {needle}) > 0"

    @staticmethod
    def greatest(a: str, b: str) -> str:
        """The larger of two values in one row. PostgreSQL: `greatest(a, b)`."""
        return f"max({a}, {b})"

    @staticmethod
    def count_true(condition: str) -> str:
        """How many rows of the group meet `condition`. PostgreSQL: `count(*) FILTER (WHERE condition)`."""
        return f"sum({condition})"

    @staticmethod
    def unindexed(column: str) -> str:
        """`column`, with SQLite told not to pick an index on it (`+column`): the hint that keeps a query on the
        index that serves it better. PostgreSQL plans by statistics: the bare column."""
        return f"+{column}"


SQLITE = SqliteDialect()


class PostgresDialect:
    """PostgreSQL's spelling of the same fragments (`PgDb`): lists are bound as arrays, JSON rows as `jsonb`."""

    name = "postgres"

    @staticmethod
    def in_list(expr: str) -> str:
        return f"{expr} = ANY(?)"

    @staticmethod
    def not_in_list(expr: str) -> str:
        return f"NOT ({expr} = ANY(?))"

    @staticmethod
    def list_param(values: Iterable[int | str]) -> list:
        """Integers bound as bigint: psycopg would send the smallest integer type that holds them all, and
        PostgreSQL compares a bigint column with an int2 / int4 array element by element instead of hashing it
        (33k kept clusters: `NOT (id = ANY(?))` took 6 s, 0.06 s with a bigint array)."""
        from psycopg.types.numeric import Int8

        return [Int8(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]

    @staticmethod
    def rows_of(width: int) -> str:
        picks = ", ".join(f"value->>{i}" for i in range(width))
        return f"SELECT {picks} FROM jsonb_array_elements(CAST(? AS jsonb))"

    rows_param = staticmethod(SqliteDialect.rows_param)

    @staticmethod
    def json_values(expr: str, alias: str) -> str:
        return f"json_array_elements_text(CAST({expr} AS json)) AS {alias}(value)"

    @staticmethod
    def json_array_agg(expr: str) -> str:
        return f"CAST(coalesce(json_agg({expr}), '[]') AS text)"

    @staticmethod
    def joined_ids(expr: str, order: str) -> str:
        return f"string_agg(CAST({expr} AS text), ',' ORDER BY {order})"

    @staticmethod
    def contains(haystack: str, needle: str) -> str:
        return f"strpos({haystack}, {needle}) > 0"

    @staticmethod
    def greatest(a: str, b: str) -> str:
        return f"greatest({a}, {b})"

    @staticmethod
    def count_true(condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    @staticmethod
    def unindexed(column: str) -> str:
        return column


POSTGRES = PostgresDialect()
