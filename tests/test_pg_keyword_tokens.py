"""The PostgreSQL keyword benchmark's BM25 in SQL is FTS5's bm25(), and its Python tokens are FTS5's (issue 24).

`benchmarks/pg_keyword.py` measures the rankings on LongMemEval dev; these pin the two things its conclusion rests
on, on a few rows: tokens from SQLite's own tokenizer (through apsw) give the same scores in SQL as FTS5 gives,
phrases and repeated phrases included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from benchmarks.pg_keyword import Bm25Table, Fts5, Postgres, fts5_tokenizer, order
from slm.storage import fts_tokens
from slm.storage import migrations as migrations_module

DOCS = [
    "I sent the e-mail about the migration to Postgres 16 yesterday.",
    "Running the migration again: it ran fine, and the runs were quick.",
    "The inbox has 30 unread messages; e mail and email are the same thing.",
    "A long note. " + "Nothing about mail here, only filler words repeated many times. " * 20,
    "café résumé naïve — the user's notes on technology and methodology",
    "",
    "mail mail mail run",
]


def test_fts5_tokens_are_fts5s():
    fts5 = Fts5()
    fts5.load(DOCS)
    tokens = fts5_tokenizer()
    vocab = fts5.tokens()
    assert [vocab.get(doc, []) for doc in range(1, len(DOCS) + 1)] == [tokens(text) for text in DOCS]


def test_bm25_in_sql_is_fts5s_bm25(pg_database):
    fts5 = Fts5()
    fts5.load(DOCS)
    table = Bm25Table("bm25_fts5_tokens", fts5_tokenizer())
    pg = Postgres(pg_database, [table])
    try:
        pg.load(DOCS)
        for terms in (
            ["e-mail", "inbox"],
            ["running", "run", "mail"],
            ["migration", "postgres", "zzz"],
            ["technology"],
        ):
            expected = order(fts5.rank_match(" OR ".join(f'"{t}"' for t in terms)))
            got = order(pg.bm25_sql(table, terms))
            assert [doc for doc, _ in got] == [doc for doc, _ in expected], terms
            assert [score for _, score in got] == pytest.approx([score for _, score in expected], rel=1e-9), terms
    finally:
        pg.close()


# -- the PostgreSQL store's own keyword index (slm/storage/keyword_pg.py) against FTS5 in a SQLite store --------------

CORPUS = [
    "I sent the e-mail about the migration to Postgres 16 yesterday.",
    "Running the migration again: it ran fine, and the runs were quick.",
    "The inbox has 30 unread messages; e mail and email are the same thing.",
    "A long note. " + "Nothing about mail here, only filler words repeated many times. " * 20,
    "Café résumé naïve — the user's notes on technology and methodology.",
    "mail mail mail run",
    "mail mail mail run",  # another project's copy: the same score, ties broken by id
    "New York, New York: the city so nice they named it twice. York is older.",
    "We moved from New Jersey to York, then to New York.",
    "Ünïcödé façade: ΑΘΗΝΑ, Αθήνα, ёлка, 東京 and 🚀 emoji; C++ & C# (not C).",
    "O'Brien's don't-stop-me-now policy: 3.14159, v2.0.1, user@example.com, https://example.com/a_b?c=d.",
    "The billing service retries Stripe webhooks three times with exponential backoff.",
    "An older text of the billing note, superseded but still counted by FTS5's idf.",
    "Archived: an old mail about york and the migration.",
    '"Quoted" words, col:x, a* and NOT a drill -flag (really)',
]
QUERIES = [
    '"mail"',
    '"e-mail" OR "inbox"',
    '"running" OR "run" OR "mail"',  # two phrases that are one token: FTS5 scores both
    '"new york" OR "york"',  # a phrase of two tokens: consecutive positions only
    '"york new" OR "city"',
    '"cafe" OR "resume" OR "naive"',  # remove_diacritics 2
    '"αθηνα" OR "ёлка" OR "東京"',
    '"o\'brien" OR "don\'t" OR "3.14159" OR "example"',
    '"—" OR "mail"',  # a phrase without a token is dropped, as FTS5 drops it
    '"—"',
    '"quoted" OR "not" OR "col" OR "x"',
    '"billing" OR "superseded" OR "stripe"',
    '"migration" OR "archived" OR "york" OR "technology" OR "methodology"',
    '"zzz"',
]


def test_the_stores_tokens_are_fts5s():
    """What the PostgreSQL store indexes (`fts_tokens`) is what FTS5 indexes, token for token, and a phrase's
    tokens are FTS5's reading of it."""
    fts5 = Fts5()
    texts = DOCS + CORPUS
    fts5.load(texts)
    vocab = fts5.tokens()
    assert [fts_tokens.document_tokens(text) for text in texts] == [vocab.get(d, []) for d in range(1, len(texts) + 1)]
    assert fts_tokens.query_tokens("e-mail Running Café") == ["e", "mail", "run", "cafe"]
    assert fts_tokens.tsvector_text(["o'brien", "run", "run", "a\\b"]) == "'o''brien':1 'run':2,3 'a\\\\b':4"


def store_texts(conn, texts: list[str]):
    """`texts` as memories of a migrated store, written through the repository (the write path the keyword index
    hooks into): projects p and q alternating, tag t on two in three. The repository and the ids."""
    import numpy as np

    from slm.storage.memories import MemoryRepository, NewMemory

    migrations_module.migrate(conn)
    repo = MemoryRepository(conn)
    items = [
        NewMemory(content=text, content_hash=f"h{n}", created_at="2024-01-01T00:00:00Z", event_time=None,
                  agent="a", project="p" if n % 2 else "q", kind="note", meta={}, tags=("t",) if n % 3 else (),
                  vectors=np.zeros((0, 384), np.float32))
        for n, text in enumerate(texts)
    ]  # fmt: skip
    with conn.write_transaction():
        ids = [memory_id for memory_id, _ in repo.insert_many(items)]
    return repo, ids


@contextmanager
def postgres_store(pg_server) -> Iterator:
    """A PgDb on a fresh database of the session's server, for a module-scoped fixture (`pg_database` is per test)."""
    from slm.storage.postgres import open_postgres

    name = pg_server.new_database()
    conn = open_postgres(pg_server.url(name))
    try:
        yield conn
    finally:
        conn.close()
        pg_server.drop_database(name)


def _store(conn, superseded: int, archived: int):
    """CORPUS in a store, one row superseded and one archived, as the recall filters see them."""
    repo, ids = store_texts(conn, CORPUS)
    with conn.write_transaction():
        repo.supersede(ids[superseded], ids[superseded - 1])
        conn.execute(
            "INSERT INTO memory_lifecycle (memory_id, zone, born, last_used) VALUES (?, 'archived', 0, 0)",
            (ids[archived],),
        )
    return repo, ids


@pytest.fixture
def both(tmp_path, pg_database):
    """The same memories in a SQLite store (FTS5) and a PostgreSQL store (keyword_pg)."""
    from slm.storage.connection import open_connection
    from slm.storage.postgres import open_postgres

    sqlite, postgres = open_connection(tmp_path / "m.db"), open_postgres(pg_database)
    try:
        yield _store(sqlite, 12, 13), _store(postgres, 12, 13)
    finally:
        sqlite.close()
        postgres.close()


FILTERS = {
    "unfiltered": dict(),
    "live": dict(live=True),
    "project": dict(project="p"),
    "tag and live": dict(tags=("t",), live=True),
    "every version": dict(versions=True, project="q"),
}


@pytest.mark.parametrize("limit", [1, 3, 50])
@pytest.mark.parametrize("name", FILTERS)
def test_postgres_keyword_index_is_fts5(both, name, limit):
    from slm.storage.memories import MemoryFilter

    (sqlite, sqlite_ids), (postgres, pg_ids) = both
    assert sqlite_ids == pg_ids
    flt = MemoryFilter(**FILTERS[name])
    for match in QUERIES:
        expected = sqlite.keyword_search(match, flt, limit)
        got = postgres.keyword_search(match, flt, limit)
        assert [i for i, _ in got] == [i for i, _ in expected], match
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9, abs=0), match
    assert any(sqlite.keyword_search(match, flt, limit) for match in QUERIES)  # not vacuously equal


def test_a_deleted_memory_leaves_the_index_and_its_statistics(both):
    """Erasure deletes rows: the memory's words must go with it, and N and avgdl (so every other score) must move
    as FTS5's do."""
    from slm.storage.memories import MemoryFilter

    (sqlite, ids), (postgres, _) = both
    for repo in (sqlite, postgres):
        with repo.conn.write_transaction():
            repo.delete([ids[5], ids[11]])
    for match in QUERIES:
        expected = sqlite.keyword_search(match, MemoryFilter(), 50)
        got = postgres.keyword_search(match, MemoryFilter(), 50)
        assert [i for i, _ in got] == [i for i, _ in expected], match
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9, abs=0), match
    gone = ids[5], ids[11], ids[12]  # ids[12], the version ids[11] superseded, goes with it (a cascade)
    left = postgres.conn.execute("SELECT count(*) FROM memory_tokens WHERE memory_id IN (?, ?, ?)", gone)
    assert left.fetchone()[0] == 0
    rows, tokens = postgres.conn.execute("SELECT rows, tokens FROM memory_tokens_stats").fetchone()
    assert (rows, tokens) == postgres.conn.execute("SELECT count(*), sum(length) FROM memory_tokens").fetchone()
    assert rows == postgres.row_count() == len(CORPUS) - 3
    assert_postings_follow_tokens(postgres.conn)
    left = postgres.conn.execute("SELECT count(*) FROM memory_postings WHERE memory_id IN (?, ?, ?)", gone)
    assert left.fetchone()[0] == 0


def assert_postings_follow_tokens(conn) -> None:
    """`memory_postings` (what a search reads) holds exactly each stored tsvector's tokens, counts and length."""
    derived = (
        "SELECT u.lexeme, t.memory_id, cardinality(u.positions), t.length FROM memory_tokens t, unnest(t.tokens) u"
    )
    kept = "SELECT term, memory_id, tf, length FROM memory_postings"
    assert conn.execute(f"SELECT count(*) FROM ({derived}) d").fetchone()[0] > 0
    for one, other in ((derived, kept), (kept, derived)):
        assert conn.execute(f"SELECT count(*) FROM ({one} EXCEPT ALL {other}) x").fetchone()[0] == 0


def test_an_indexed_memorys_tokens_are_never_updated(both):
    """Postings follow inserts and deletes of `memory_tokens` only: an UPDATE, which would leave them stale, fails."""
    import psycopg

    _, (postgres, ids) = both
    with pytest.raises(psycopg.errors.RaiseException, match="never updated"):
        postgres.conn.execute("UPDATE memory_tokens SET length = length + 1 WHERE memory_id = ?", (ids[0],))
    assert_postings_follow_tokens(postgres.conn)


def test_a_match_expression_that_is_not_fts_matchs_form_is_refused(both):
    from slm.storage.memories import MemoryFilter

    _, (postgres, _) = both
    for match in ('mail OR "run"', '"mail" AND "run"', "", '"mail" OR'):
        with pytest.raises(ValueError, match="quoted phrases"):
            postgres.keyword_search(match, MemoryFilter(), 5)


def test_truncating_the_memories_empties_the_index_and_its_statistics(both):
    """A TRUNCATE fires no DELETE trigger: the statistics must still say the index is empty, so a memory stored
    afterwards is scored against a corpus of one (FTS5's "delete-all" does the same)."""
    from slm.storage.memories import MemoryFilter

    (sqlite, _), (postgres, _) = both
    postgres.conn.execute("TRUNCATE memories CASCADE")
    sqlite.conn.execute("DELETE FROM memories")
    assert postgres.conn.execute("SELECT rows, tokens FROM memory_tokens_stats").fetchone() == (0, 0)
    assert postgres.conn.execute("SELECT count(*) FROM memory_postings").fetchone()[0] == 0
    texts = ["mail run mail", "nothing here"]
    for repo in (sqlite, postgres):
        repo.conn.execute("DELETE FROM memory_lifecycle")
        store_texts(repo.conn, texts)
    for match in ('"mail"', '"run" OR "nothing"'):
        expected = sqlite.keyword_search(match, MemoryFilter(), 5)
        assert postgres.keyword_search(match, MemoryFilter(), 5) == pytest.approx(expected, rel=1e-9)
    assert_postings_follow_tokens(postgres.conn)
