"""An in-memory mirror of the vec0 table, searched exactly with one matrix-vector product.

sqlite-vec's brute-force KNN costs ~66 ms a query at 100k x 384 on a 2-core machine; the same exact
search over a float32 numpy matrix costs ~8 ms (docs/benchmarks.md). The mirror is loaded from vec0 once,
updated in place by this process's own writes, and caught up with other processes' writes when SQLite's
`data_version` moves.
Appends and deletes by this process are applied in place (deletes as tombstones); anything else sends the
mirror back to a full reload. Being exact, it returns the same neighbours as sqlite-vec's KNN (recall@k = 1.0).
"""

from __future__ import annotations

import numpy as np

from slm.storage import vectors
from slm.storage.connection import data_version

_DELETED = -1


class VectorIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._size = 0
        self._matrix = np.empty((0, dim), np.float32)
        self._chunk_ids = np.empty(0, np.int64)
        self._memory_ids = np.empty(0, np.int64)
        self._data_version: int | None = None
        self._log_chunks: np.ndarray | None = None  # ln(chunks of the row's memory), per row; None = stale

    def __len__(self) -> int:
        """Live (not deleted) chunk vectors."""
        return int(np.count_nonzero(self._memory_ids[: self._size] != _DELETED))

    # -- keeping in sync ------------------------------------------------------------------------------------
    def sync(self, conn, repo) -> None:
        """Catch up with commits made by other connections since the last sync (cheap when there are none)."""
        version = data_version(conn)
        if version == self._data_version:
            return
        self._data_version = version
        self.catch_up(conn)
        if len(self) != repo.chunk_count():  # deletions, or writes interleaved with ours: start over
            self._size = 0
            self.catch_up(conn)

    def catch_up(self, conn) -> None:
        """Load vectors newer than the newest one held (after this process's own writes, too)."""
        last = int(self._chunk_ids[: self._size].max()) if self._size else 0
        self._reserve(self._size + vectors.count_vectors(conn, last), exact=self._size == 0)
        for page in vectors.vector_pages(conn, self.dim, after_chunk=last):
            self.add(*page)

    def add(self, chunk_ids: np.ndarray, memory_ids: np.ndarray, matrix: np.ndarray) -> None:
        n = len(chunk_ids)
        if n == 0:
            return
        self._reserve(self._size + n)
        end = self._size + n
        self._matrix[self._size : end] = matrix
        self._chunk_ids[self._size : end] = chunk_ids
        self._memory_ids[self._size : end] = memory_ids
        self._size = end
        self._log_chunks = None

    def remove_memories(self, memory_ids: list[int]) -> None:
        self._tombstone(np.isin(self._memory_ids[: self._size], np.asarray(memory_ids, np.int64)))

    def _tombstone(self, mask: np.ndarray) -> None:
        self._memory_ids[: self._size][mask] = _DELETED
        self._matrix[: self._size][mask] = 0.0
        self._log_chunks = None

    def _reserve(self, needed: int, exact: bool = False) -> None:
        """Grow the arrays: by half again for appends (amortised), or to exactly `needed` for a first load."""
        capacity = len(self._chunk_ids)
        if needed <= capacity:
            return
        capacity = needed if exact else max(needed, capacity * 3 // 2, 1024)
        self._matrix = _grow(self._matrix, (capacity, self.dim), self._size)
        self._chunk_ids = _grow(self._chunk_ids, (capacity,), self._size)
        self._memory_ids = _grow(self._memory_ids, (capacity,), self._size)

    # -- search ---------------------------------------------------------------------------------------------
    def search(
        self,
        query: np.ndarray,
        top_n: int,
        allowed: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
        chunk_penalty: float = 0.0,
    ) -> list[tuple[int, float]]:
        """Best `top_n` memories by cosine (max over a memory's chunks), only among `allowed`, never `excluded`.

        With `chunk_penalty` c, a memory of n chunks scores max cosine - c * ln(n): the best of n chunks is
        biased upwards by n (more draws), so long memories would otherwise crowd out short, precise ones.
        """
        if self._size == 0:
            return []
        scores = self._matrix[: self._size] @ query.astype(np.float32, copy=False)
        if chunk_penalty:
            scores -= np.float32(chunk_penalty) * self._chunk_log_counts()
        return self._best(scores, top_n, allowed, excluded)

    def search_many(self, queries: np.ndarray, top_n: int) -> list[list[tuple[int, float]]]:
        """`search` for each row of `queries`, with one matrix product (for linking a batch of new memories)."""
        if self._size == 0:
            return [[] for _ in range(len(queries))]
        scores = self._matrix[: self._size] @ queries.astype(np.float32, copy=False).T
        return [self._best(np.ascontiguousarray(column), top_n, None, None) for column in scores.T]

    def _chunk_log_counts(self) -> np.ndarray:
        """ln(number of chunks of each row's memory), cached until the next write."""
        if self._log_chunks is None or len(self._log_chunks) != self._size:
            _, inverse, counts = np.unique(self._memory_ids[: self._size], return_inverse=True, return_counts=True)
            self._log_chunks = np.log(counts).astype(np.float32)[inverse]
        return self._log_chunks

    def cosines(self, query: np.ndarray, memory_ids: list[int]) -> tuple[dict[int, float], dict[int, int]]:
        """Each memory's best chunk cosine with `query`, and its number of chunks (memories without a vector are
        left out of both)."""
        held = self._memory_ids[: self._size]
        rows = np.flatnonzero(np.isin(held, memory_ids))
        scores = self._matrix[rows] @ query.astype(np.float32, copy=False)
        best: dict[int, float] = {}
        chunks: dict[int, int] = {}
        for memory_id, score in zip(held[rows].tolist(), scores.tolist(), strict=True):
            chunks[memory_id] = chunks.get(memory_id, 0) + 1
            if score > best.get(memory_id, -2.0):
                best[memory_id] = score
        return best, chunks

    def first_vectors(self, memory_ids: list[int]) -> dict[int, np.ndarray]:
        """Each memory's first chunk vector (the centre of a memory observed once), from the mirror, not vec0."""
        held = self._memory_ids[: self._size]
        rows = np.flatnonzero(np.isin(held, memory_ids))
        found, first = np.unique(held[rows], return_index=True)
        return {int(i): self._matrix[row].astype(np.float64) for i, row in zip(found, rows[first], strict=True)}

    def mean_vectors(self, memory_ids: np.ndarray) -> np.ndarray:
        """Each memory's mean chunk vector, unit length (zeros for a memory with no vector); `memory_ids` sorted."""
        held = self._memory_ids[: self._size]
        rows = np.searchsorted(memory_ids, held).clip(0, max(len(memory_ids) - 1, 0))
        known = (memory_ids[rows] == held) if len(memory_ids) else np.zeros(len(held), bool)
        rows, order = rows[known], np.argsort(rows[known], kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(rows[order]) != 0]) if len(order) else np.empty(0, np.int64)
        sums = np.zeros((len(memory_ids), self.dim), np.float32)
        if len(order):  # one sorted pass: np.add.at is ~50x slower at 100k rows
            sums[rows[order][starts]] = np.add.reduceat(self._matrix[: self._size][known][order], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.where(norms == 0, 1.0, norms)

    def _best(
        self, scores: np.ndarray, top_n: int, allowed: np.ndarray | None, excluded: np.ndarray | None
    ) -> list[tuple[int, float]]:
        memory_ids = self._memory_ids[: self._size]
        if allowed is not None:
            scores[~np.isin(memory_ids, allowed)] = -np.inf
        if excluded is not None and len(excluded):
            scores[np.isin(memory_ids, excluded)] = -np.inf
        scores[memory_ids == _DELETED] = -np.inf
        width = min(self._size, top_n * 4)
        while True:
            best = _top_indices(scores, width)
            hits = _best_per_memory(memory_ids[best], scores[best], top_n)
            if len(hits) >= top_n or width == self._size:
                return hits
            width = min(self._size, width * 4)


def _grow(array: np.ndarray, shape: tuple[int, ...], keep: int) -> np.ndarray:
    grown = np.empty(shape, array.dtype)
    grown[:keep] = array[:keep]
    return grown


def _top_indices(scores: np.ndarray, width: int) -> np.ndarray:
    part = np.argpartition(-scores, width - 1)[:width] if width < len(scores) else np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]


def _best_per_memory(memory_ids: np.ndarray, scores: np.ndarray, top_n: int) -> list[tuple[int, float]]:
    """Memory ids in score order, each once (its best chunk), skipping filtered and deleted rows."""
    hits: list[tuple[int, float]] = []
    seen: set[int] = set()
    for memory_id, score in zip(memory_ids.tolist(), scores.tolist(), strict=True):
        if score == -np.inf or memory_id in seen:
            continue
        seen.add(memory_id)
        hits.append((memory_id, score))
        if len(hits) == top_n:
            break
    return hits
