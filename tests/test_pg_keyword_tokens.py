"""The PostgreSQL keyword benchmark's BM25 in SQL is FTS5's bm25(), and its Python tokens are FTS5's (issue 24).

`benchmarks/pg_keyword.py` measures the rankings on LongMemEval dev; these pin the two things its conclusion rests
on, on a few rows: tokens from SQLite's own tokenizer (through apsw) give the same scores in SQL as FTS5 gives,
phrases and repeated phrases included.
"""

from __future__ import annotations

import pytest

from benchmarks.pg_keyword import Bm25Table, Fts5, Postgres, fts5_tokenizer, order

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
