"""BM25's exact early stop: skipping the rows that match only common words must leave the keyword channel's rows,
order and scores exactly as FTS5's plain `ORDER BY bm25() LIMIT` gives them, ties and hidden rows included; and
PostgreSQL's keyword index gives the same on the same rows."""

from __future__ import annotations

import random

import pytest

from slm.storage.connection import open_connection
from slm.storage.memories import MemoryFilter, _hidden_query
from tests.test_pg_keyword_tokens import postgres_store, store_texts

COMMON = ["s", "service", "us", "1"]  # each in most rows, as "Victor's" or "us-east-1" make them at scale
RARE = [f"term{i}" for i in range(60)]
HIDDEN = _hidden_query(live=True)
PLAIN = (
    "SELECT rowid, -bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? AND rowid NOT IN "
    "(SELECT id FROM memories WHERE superseded_by IS NOT NULL "
    "UNION ALL SELECT memory_id FROM memory_lifecycle WHERE zone = 'archived') ORDER BY bm25(memories_fts) LIMIT ?"
)


def _texts() -> list[str]:
    """800 rows: common words in most, rare words on a Zipf-like spread, repeated texts (tied scores)."""
    rng = random.Random(7)
    texts = []
    for n in range(800):
        words = [w for w in COMMON if rng.random() < 0.7]
        words += [rng.choice(RARE[: rng.randint(1, len(RARE))]) for _ in range(rng.randint(1, 12))]
        rng.shuffle(words)
        texts.append(texts[n - 50] if n >= 50 and rng.random() < 0.1 else " ".join(words))
    return texts


def _hide_some(conn) -> None:
    """Some superseded and archived rows, which must stay out (and still count in FTS5's N)."""
    with conn.write_transaction():
        conn.execute("UPDATE memories SET superseded_by = id + 1 WHERE id % 37 = 0")
        conn.execute(
            "INSERT INTO memory_lifecycle (memory_id, zone, born, last_used) "
            "SELECT id, 'archived', 0, 0 FROM memories WHERE id % 41 = 0"
        )


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    conn = open_connection(tmp_path_factory.mktemp("bm25") / "m.db")
    repo, _ = store_texts(conn, _texts())
    _hide_some(conn)
    yield repo
    conn.close()


@pytest.fixture(scope="module")
def pg_repo(pg_server):
    """The same rows in a PostgreSQL store, whose keyword index must rank as FTS5 does."""
    with postgres_store(pg_server) as conn:
        repo, _ = store_texts(conn, _texts())
        _hide_some(conn)
        yield repo


def _queries(count: int) -> list[tuple[str, int]]:
    rng = random.Random(11)
    queries = []
    for _ in range(count):
        words = rng.sample(COMMON, rng.randint(1, 3)) + rng.sample(RARE, rng.randint(1, 4))
        rng.shuffle(words)
        queries.append((" OR ".join(f'"{w}"' for w in words), rng.choice([1, 5, 10, 20, 40])))
    return queries


def test_keyword_search_is_exactly_fts5s_order_and_scores(repo):
    for match, limit in _queries(300):
        expected = [tuple(row) for row in repo.conn.execute(PLAIN, [match, limit])]
        assert repo.keyword_search(match, MemoryFilter(live=True), limit) == expected, (match, limit)


def test_the_early_stop_runs_and_agrees(repo):
    """Most of these queries prune (the test would pass vacuously if none did), and every pruned answer is
    FTS5's own."""
    pruned = 0
    for match, limit in _queries(300):
        found = repo.keyword._bm25_pruned(match, HIDDEN, limit)
        if found is not None:
            pruned += 1
            assert found == [tuple(row) for row in repo.conn.execute(PLAIN, [match, limit])], (match, limit)
    assert pruned >= 100


def test_no_early_stop_when_common_words_could_fill_the_top(repo):
    """One rare word matching fewer rows than asked for: the common words' rows must fill the rest."""
    match, limit = '"term59" OR "service"', 40
    assert repo.keyword._bm25_pruned(match, HIDDEN, limit) is None
    assert len(repo.keyword_search(match, MemoryFilter(live=True), limit)) == limit


def test_postgres_keyword_search_is_fts5s_where_common_words_fill_the_table(repo, pg_repo):
    """keyword_pg on the same rows: FTS5's rows, order (ties by id among the repeated texts) and scores, for
    queries whose common words match most of the table, superseded and archived rows left out."""
    for match, limit in _queries(100):
        for flt in (MemoryFilter(live=True), MemoryFilter(), MemoryFilter(project="p")):
            expected = repo.keyword_search(match, flt, limit)
            got = pg_repo.keyword_search(match, flt, limit)
            assert [i for i, _ in got] == [i for i, _ in expected], (match, limit, flt)
            assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9, abs=0), (match, limit)


def test_the_postgres_early_stop_runs_and_agrees(repo, pg_repo, monkeypatch):
    """keyword_pg stops early as keyword_sqlite does (most of these queries; the test would pass vacuously if
    none did), and every answer is still FTS5's."""
    index, decided = pg_repo.keyword, []
    prune = index._pruned
    monkeypatch.setattr(index, "_pruned", lambda *args: decided.append(prune(*args)) or decided[-1])
    for match, limit in _queries(300):
        expected = repo.keyword_search(match, MemoryFilter(live=True), limit)
        got = pg_repo.keyword_search(match, MemoryFilter(live=True), limit)
        assert [i for i, _ in got] == [i for i, _ in expected], (match, limit)
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9, abs=0), (match, limit)
    assert sum(kept is not None for kept in decided) >= 100
