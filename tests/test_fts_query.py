"""No free text may raise an FTS5 syntax error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.recall.fts_query import fts_match, keyword_terms
from slm.storage import migrations
from slm.storage.connection import open_connection
from slm.storage.memories import MemoryFilter, MemoryRepository


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    conn = open_connection(tmp_path_factory.mktemp("fts") / "m.db")
    migrations.migrate(conn)
    conn.execute(
        "INSERT INTO memories (content, content_hash, created_at, agent, project) VALUES "
        "('NOT a drill: col:x uses a* and -flag (really) \"quoted\" café 🚀', 'h', '2024-01-01T00:00:00Z', 'a', 'p')"
    )
    return MemoryRepository(conn)


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
