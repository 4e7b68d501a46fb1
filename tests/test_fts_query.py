"""No free text may raise an FTS5 syntax error, nor an error in the PostgreSQL keyword index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.recall.fts_query import fts_match, keyword_terms
from slm.storage.connection import open_connection
from slm.storage.memories import MemoryFilter
from tests.test_pg_keyword_tokens import postgres_store, store_texts

TEXT = 'NOT a drill: col:x uses a* and -flag (really) "quoted" café 🚀'


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def repo(request, tmp_path_factory):
    """One memory in a store of each backend: FTS5's MATCH on SQLite, keyword_pg's phrases and tsquery on
    PostgreSQL must take whatever `fts_match` makes."""
    if request.param == "sqlite":
        conn = open_connection(tmp_path_factory.mktemp("fts") / "m.db")
        try:
            yield store_texts(conn, [TEXT])[0]
        finally:
            conn.close()
        return
    with postgres_store(request.getfixturevalue("pg_server")) as conn:
        yield store_texts(conn, [TEXT])[0]


TRICKY = [
    '"',
    '""',
    "'",
    "AND",
    "OR",
    "NOT",
    "a AND b",
    "NOT x",
    "*",
    "a*",
    "-flag",
    "col:x",
    ":",
    "(",
    ")",
    "(x",
    "x)",
    "NEAR(a b)",
    "^start",
    "a + b",
    "{col}: x",
    "🚀",
    "🚀🔥",
    "   ",
    "\u0000",
    "x" * 10_000,
    "word " * 2000,
    "café",
    "a OR",
    "OR OR OR",
    '"unbalanced',
    "snake_case_name",
    "C++ / C#",
    "e-mail@example.com",
    "中文文本",
    "الْعَرَبِيَّة",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_inputs_never_raise(repo, text):
    match = fts_match(text)
    if match is not None:
        repo.keyword_search(match, MemoryFilter(), 5)


@given(st.text(max_size=300))
@settings(max_examples=400, deadline=None)
def test_any_text_is_a_valid_query(repo, text):
    match = fts_match(text)
    if match is not None:
        repo.keyword_search(match, MemoryFilter(), 5)


def test_operators_are_searched_as_words(repo):
    assert repo.keyword_search(fts_match("NOT drill"), MemoryFilter(), 5)
    assert repo.keyword_search(fts_match("col:x"), MemoryFilter(), 5)
    assert repo.keyword_search(fts_match("cafe"), MemoryFilter(), 5)  # diacritics folded


def test_stopwords_dropped_unless_nothing_else():
    assert keyword_terms("what is the postgres port") == ["postgres", "port"]
    assert keyword_terms("what is it") == ["what", "is", "it"]
    assert fts_match("🚀 !!! ...") is None
