"""The int8 scan only chooses candidates: the memories and scores `VectorIndex.search` returns match an exact
float32 search (recall@10 and @100 at least 0.99 on clustered vectors, every returned score exact)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from slm.embedding import quantised
from slm.embedding.vector_index import VectorIndex, _top_rows
from slm.storage import migrations, vectors
from slm.storage.db import open_db
from slm.storage.memories import MemoryRepository, NewMemory

DIM, PENALTY = 384, 0.15


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus():
    """30,000 chunks of 12,000 memories around 300 topics (the close neighbours int8 error could swap), and
    queries near them."""
    rng = np.random.default_rng(11)
    topics = unit(rng.standard_normal((300, DIM)))
    chunks = unit(topics[rng.integers(0, 300, 30_000)] + 0.06 * rng.standard_normal((30_000, DIM)))
    memory_ids = np.sort(rng.integers(1, 12_001, 30_000)).astype(np.int64)
    queries = unit(topics[rng.integers(0, 300, 60)] + 0.05 * rng.standard_normal((60, DIM)))
    index = VectorIndex(DIM)
    index.add(np.arange(1, 30_001, dtype=np.int64), memory_ids, chunks)
    return index, chunks, memory_ids, queries


def exact(chunks, memory_ids, query, top_n, allowed=None):
    """The reference: each memory's best chunk cosine less the penalty for its chunk count, best first."""
    counts = np.bincount(memory_ids)
    scores = chunks @ query - np.float32(PENALTY) * np.log(counts[memory_ids]).astype(np.float32)
    best: dict[int, float] = {}
    for memory_id, score in zip(memory_ids.tolist(), scores.tolist(), strict=True):
        if (allowed is None or memory_id in allowed) and score > best.get(memory_id, -np.inf):
            best[memory_id] = score
    return sorted(best.items(), key=lambda item: -item[1])[:top_n]


@pytest.mark.parametrize("top_n", [10, 100])
def test_search_finds_the_exact_neighbours_with_exact_scores(corpus, top_n):
    index, chunks, memory_ids, queries = corpus
    found = 0
    for query in queries:
        hits = index.search(query, top_n, chunk_penalty=PENALTY)
        reference = dict(exact(chunks, memory_ids, query, len(memory_ids)))
        kth = sorted(reference.values(), reverse=True)[top_n - 1]
        assert len(hits) == top_n
        assert all(score == pytest.approx(reference[i], abs=1e-5) for i, score in hits)  # exact, not int8
        found += sum(reference[i] >= kth - 1e-6 for i, _ in hits)  # ties at the k-th count as found
    assert found / (top_n * len(queries)) >= 0.99


def test_a_narrow_filter_widens_the_pool_until_it_is_exact(corpus):
    index, chunks, memory_ids, queries = corpus
    allowed = np.unique(memory_ids)[::500]  # 24 memories, mostly far from the query
    hits = index.search(queries[0], 10, allowed=allowed, chunk_penalty=PENALTY)
    reference = exact(chunks, memory_ids, queries[0], 10, set(allowed.tolist()))
    assert [i for i, _ in hits] == [i for i, _ in reference]


def test_codes_are_the_vectors_at_a_fixed_scale_clipped():
    vectors = np.array([[0.25, -0.5, 0.9, 0.0]], np.float32)
    assert quantised.quantise(vectors).tolist() == [[64, -127, 127, 0]]


@pytest.mark.parametrize("width", [1, 7, 64, 400])
def test_the_cut_before_partitioning_keeps_the_highest_scores(width):
    """Also with ties and masked (-inf) rows: the scores returned are the `width` highest, whatever the sample."""
    rng = np.random.default_rng(width)
    scores = np.round(rng.standard_normal(40_000), 2).astype(np.float32)  # many ties
    scores[rng.integers(0, 40_000, 30_000)] = -np.inf
    rows = _top_rows(scores, width)
    assert len(rows) == len(set(rows.tolist())) == width
    assert np.array_equal(np.sort(scores[rows]), np.sort(scores)[-width:])


@pytest.mark.parametrize("batch", [3, 40])  # below and above BATCH_QUERIES: int8 dots, then the float32 product
def test_a_batch_of_queries_finds_what_one_query_at_a_time_finds(corpus, batch):
    index, _, _, queries = corpus
    together = index.search_many(queries[:batch], 10)
    alone = [index.search(query, 10) for query in queries[:batch]]
    for hits, reference in zip(together, alone, strict=True):
        assert {i for i, _ in hits} == {i for i, _ in reference}
        assert dict(hits) == pytest.approx(dict(reference), abs=1e-5)


def test_a_filter_or_tombstones_leaving_few_rows_re_scores_only_those(corpus, monkeypatch):
    """Widening stops at the rows a filter leaves: the float32 rows of the others are never read."""
    index, chunks, memory_ids, queries = corpus
    taken: list[int] = []
    take = index._take
    monkeypatch.setattr(index, "_take", lambda rows: taken.append(len(rows)) or take(rows))
    allowed = np.unique(memory_ids)[:5]
    hits = index.search(queries[0], 50, allowed=allowed, chunk_penalty=PENALTY)
    assert {i for i, _ in hits} == set(allowed.tolist())
    assert max(taken) == np.isin(memory_ids, allowed).sum()
    everything = VectorIndex(DIM)
    everything.add(np.arange(1, 101, dtype=np.int64), np.arange(1, 101, dtype=np.int64), chunks[:100])
    everything.remove_memories(list(range(1, 101)))
    assert everything.search(queries[0], 10) == []


def test_lookups_by_memory_follow_appends_in_any_order_and_tombstones():
    """`cosines`, `first_vectors`, `excluded` and `remove_memories` find a memory's rows by binary search in an
    order kept across writes: rows appended in memory order extend it, an older memory's new chunk re-sorts it,
    and a tombstoned row is never returned."""
    rng = np.random.default_rng(5)
    chunks = unit(rng.standard_normal((400, DIM)))
    index = VectorIndex(DIM)
    batches = [np.repeat(np.arange(1, 51), 2), np.arange(51, 151), np.arange(7, 107), np.arange(151, 251)]
    start = 0
    for batch in batches:  # the third batch adds chunks to older memories: out of order
        held = np.r_[index._memory_ids[: index._size], batch]
        index.add(np.arange(start + 1, start + len(batch) + 1, dtype=np.int64), batch.astype(np.int64),
                  chunks[start : start + len(batch)])  # fmt: skip
        start += len(batch)
        query, wanted = chunks[0], [3, 9, 60, 200, 999]
        best, counts = index.cosines(query, wanted)
        expected = {m: int((held == m).sum()) for m in wanted if (held == m).any()}
        assert counts == expected
        for memory_id in expected:
            assert best[memory_id] == pytest.approx(float((chunks[:start][held == memory_id] @ query).max()), abs=1e-5)
        firsts = index.first_vectors(wanted)
        assert {m: v.tolist() for m, v in firsts.items()} == pytest.approx(
            {m: chunks[:start][held == m][0].astype(np.float64).tolist() for m in expected}
        )
    index.remove_memories([9, 60])
    best, counts = index.cosines(chunks[0], [9, 60, 61])
    assert set(best) == set(counts) == {61}
    hits = index.search(chunks[0], 300, excluded=np.array([61, 62]))
    assert {i for i, _ in hits} == set(range(1, 251)) - {9, 60, 61, 62}


def test_the_int8_scan_leaves_none_s_reference_count_alone():
    """simsimd 6.5's `cdist(..., out=...)` returns None without a reference: called once a search, it took a
    long-running server's None to zero and killed the process ("Fatal Python error: none_dealloc")."""
    codes = quantised.quantise(unit(np.random.default_rng(2).standard_normal((50, DIM))))
    out = np.empty((50, 1), np.float32)
    before = sys.getrefcount(None)
    for _ in range(1000):
        quantised.dots(codes, codes[:1].astype(np.float32), out)
    assert sys.getrefcount(None) >= before - 10  # the loop's own frames may hold a few


def _memory(text: str, vector: list[float]) -> NewMemory:
    return NewMemory(
        content=text, content_hash=text, created_at="2024-01-01T00:00:00Z", event_time=None, agent="a", project="p",
        kind="note", meta={}, spans=[(0, len(text))], vectors=unit(np.array([vector], np.float32)),
    )  # fmt: skip


@pytest.mark.both_backends
def test_the_mirror_follows_another_connections_writes_and_deletions(store_at, monkeypatch):
    """`sync` on one connection catches up with what another committed (SQLite's data_version, PostgreSQL's
    counter), tombstones what it deleted, and reads nothing when nobody wrote."""
    writer, reader = open_db(store_at), open_db(store_at)
    migrations.migrate(writer)
    vectors.create_vector_table(writer, 4)
    written, repo = MemoryRepository(writer), MemoryRepository(reader)

    def write(*items: NewMemory) -> list[int]:
        with writer.write_transaction():
            return [memory_id for memory_id, _ in written.insert_many(list(items))]

    index = VectorIndex(4)
    [north] = write(_memory("north", [0, 1, 0, 0]))
    index.sync(reader, repo)
    assert [i for i, _ in index.search(unit(np.array([[1, 0, 0, 0.1]]))[0], 5)] == [north]
    [east] = write(_memory("east", [1, 0, 0, 0]))
    index.sync(reader, repo)
    assert [i for i, _ in index.search(unit(np.array([[1, 0, 0, 0.1]]))[0], 5)] == [east, north]
    with writer.write_transaction():
        written.delete([east])
    index.sync(reader, repo)
    assert [i for i, _ in index.search(unit(np.array([[1, 0, 0, 0.1]]))[0], 5)] == [north] and len(index) == 1
    monkeypatch.setattr(vectors, "vector_pages", lambda *args, **kwargs: pytest.fail("read with nothing new"))
    index.sync(reader, repo)
    writer.close()
    reader.close()
