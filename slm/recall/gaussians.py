"""Each memory's Gaussian in the store: made from its chunks when written, sharpened by each corroborating
re-observation (Welford), and read for the Fisher channel's candidates (slm.recall.fisher has the mathematics)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slm.recall.fisher import Observations
from slm.storage import vectors
from slm.storage.gaussians import GaussianRepository


def store_new(repo: GaussianRepository, memory_id: int, chunk_vectors: np.ndarray) -> None:
    """Inside the write transaction: a row for a memory of several chunks (one chunk needs none)."""
    if len(chunk_vectors) > 1:
        _put(repo, memory_id, Observations.of(chunk_vectors))


def observations(repo: GaussianRepository, memory_id: int) -> Observations | None:
    """A memory's observations so far: its row, or its one vector; None if it is gone."""
    row = repo.get_many([memory_id]).get(memory_id)
    if row is not None:
        return Observations(*row)
    first = repo.chunk_vectors([memory_id], first_only=True).get(memory_id)
    return None if first is None else Observations.of(first)


def reobserve(repo: GaussianRepository, memory_id: int, vector: np.ndarray) -> None:
    """Inside the write transaction: `vector` (a memory that states the same fact) observes `memory_id` again."""
    seen = observations(repo, memory_id)
    if seen is not None:
        _put(repo, memory_id, seen.add(np.asarray(vector, np.float64)))


def of_candidates(
    repo: GaussianRepository, ids: list[int], first_vectors: Callable[[list[int]], dict[int, np.ndarray]]
) -> tuple[list[int], tuple[np.ndarray, ...]]:
    """The candidates still stored, and their (n, mean, m2) as arrays in that order; `first_vectors` gives the
    vector of those observed once (the in-memory mirror has them: vec0 point reads cost ~0.1 ms each)."""
    rows = repo.get_many(ids)
    firsts = first_vectors([i for i in ids if i not in rows])
    kept = [i for i in ids if i in rows or i in firsts]
    if not kept:
        return [], ()
    n = np.array([rows[i][0] if i in rows else 1.0 for i in kept])
    mean = np.vstack([rows[i][1] if i in rows else firsts[i] for i in kept])
    m2 = np.vstack([rows[i][2] if i in rows else np.zeros(mean.shape[1]) for i in kept])
    return kept, (n, mean, m2)


def backfill(repo: GaussianRepository, progress: Callable[[int, int], None] | None = None) -> int:
    """Rows for the multi-chunk memories, from one sequential pass over the vectors (a memory's chunks have
    consecutive ids: they are written together); once after migration 0006 or a re-embedding. Everything is read
    before anything is written: interleaving writes made each page of reads ~20x slower at 100k. `progress`
    hears (chunks read, chunks) after each page."""
    dim, found = vectors.vector_table_dim(repo.conn), []
    if dim is not None:
        current, seen, read, total = None, [], 0, vectors.count_vectors(repo.conn)
        for _, memory_ids, matrix in vectors.vector_pages(repo.conn, dim):
            for memory_id, vector in zip(memory_ids.tolist(), matrix, strict=True):
                if memory_id != current:
                    found += _summary(current, seen)
                    current, seen = memory_id, []
                seen.append(vector)
            read += len(memory_ids)
            if progress is not None:
                progress(read, total)
        found += _summary(current, seen)
    for row in found:
        repo.put(*row)
    repo.backfill_done()
    return len(found)


def _summary(memory_id: int | None, chunk_vectors: list[np.ndarray]) -> list[tuple]:
    """A memory's row, already at its stored precision (34k of them at 100k: 52 MB, not 210 MB in float64)."""
    if memory_id is None or len(chunk_vectors) < 2:
        return []
    seen = Observations.of(np.vstack(chunk_vectors))
    return [(memory_id, seen.n, seen.mean.astype(np.float16), seen.m2.astype(np.float16))]


def _put(repo: GaussianRepository, memory_id: int, seen: Observations) -> None:
    repo.put(memory_id, seen.n, seen.mean, seen.m2)


def restate(repo: GaussianRepository, memory_id: int) -> None:
    """Inside the write transaction: another principal wrote exactly this memory's text again, observing it at
    its own centre (the spread narrows, the centre stays)."""
    seen = observations(repo, memory_id)
    if seen is not None:
        _put(repo, memory_id, seen.add(seen.mean))
