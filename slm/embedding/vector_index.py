"""A mirror of the store's vector table (sqlite-vec's vec0, or pgvector's on PostgreSQL), searched by an int8 scan
whose best rows are re-scored exactly in float32.

sqlite-vec's brute-force KNN costs ~66 ms a query at 100k x 384 on a 2-core machine, an exact float32 scan ~13 ms
at 158k chunks, the int8 scan (`quantised`) ~3 ms; re-scoring its pool exactly keeps the scores exact and, in
`benchmarks/warm_single.py`'s check, the same neighbours as the exact scan. The mirror starts from the vector file
(`vector_file`, memory-mapped) when that file proves to be this store's, else from the store (a PostgreSQL store
has no file: it always loads from the server); it then catches up with newer chunks, and drops deleted ones as
tombstones, whenever the store's `data_version` moves (SQLite's pragma; PostgreSQL's counter, bumped by every write
transaction). Chunk ids are never reused and are handed out under the store's one write lock, so a new chunk is
always newer than every row held.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from slm.embedding import quantised, vector_file
from slm.storage import vectors

_DELETED = -1
SAVE_AFTER_ROWS = 4096  # rows loaded from vec0 (or deleted) since the file was read or written, before rewriting it
_CHECKED_ROWS = 16  # the file's newest rows, compared with vec0 before it is trusted
BATCH_QUERIES = 32  # from this many queries at once, the exact float32 product is the faster scan
MIN_POOL = 64  # rows the int8 scan hands to the exact re-score, at least (4 per memory wanted otherwise)


class VectorIndex:
    """Rows [0, len(_base)) come from the vector file (memory-mapped, read-only); the rest live in `_tail`.
    `_codes_base` and `_codes_tail` hold the same rows as int8 codes."""

    def __init__(self, dim: int, file: Path | None = None, model: str = "") -> None:
        self.dim = dim
        self._file, self._model = file, model
        self._size = 0
        self._base = np.empty((0, dim), np.float32)
        self._tail = np.empty((0, dim), np.float32)
        self._codes_base = self._codes_tail = np.empty((0, dim), np.int8)
        self._chunk_ids = np.empty(0, np.int64)
        self._memory_ids = np.empty(0, np.int64)
        self._data_version: int | None = None
        self._log_chunks: np.ndarray | None = None  # ln(chunks of the row's memory), per row; None = stale
        self._by_memory: tuple[np.ndarray, np.ndarray] | None = None  # `_memory_order`'s rows and ids, when made
        self._unsaved = 0  # rows the file lacks or holds in excess

    def __len__(self) -> int:
        """Live (not deleted) chunk vectors."""
        return int(np.count_nonzero(self._memory_ids[: self._size] != _DELETED))

    # -- keeping in sync ------------------------------------------------------------------------------------
    def sync(self, conn, repo) -> None:
        """Catch up with commits made by other connections since the last sync (cheap when there are none)."""
        version = conn.data_version()
        if version == self._data_version:
            return
        self._data_version = version
        if self._size == 0 and self._file is not None:
            self._map_file(conn, repo)
        self.catch_up(conn)
        if len(self) != repo.chunk_count():  # deletions by another process (chunk ids are never reused)
            self._drop_deleted(conn)
            self.catch_up(conn)
        if len(self) != repo.chunk_count():  # writes interleaved with ours: start over
            self._clear()
            self.catch_up(conn)
        self.save_if_due()

    def catch_up(self, conn) -> None:
        """Load vectors newer than the newest one held (after this process's own writes, too)."""
        last = int(self._chunk_ids[self._size - 1]) if self._size else 0
        self._reserve(self._size + vectors.count_vectors(conn, last), exact=self._size == 0)
        for page in vectors.vector_pages(conn, self.dim, after_chunk=last):
            self.add(*page)

    def add(self, chunk_ids: np.ndarray, memory_ids: np.ndarray, matrix: np.ndarray) -> None:
        n = len(chunk_ids)
        if n == 0:
            return
        self._reserve(self._size + n)
        base, end = len(self._base), self._size + n
        self._tail[self._size - base : end - base] = matrix
        self._codes_tail[self._size - base : end - base] = quantised.quantise(matrix)
        self._chunk_ids[self._size : end] = chunk_ids
        self._memory_ids[self._size : end] = memory_ids
        self._size = end
        self._log_chunks = None
        self._unsaved += n

    def remove_memories(self, memory_ids: list[int]) -> None:
        mask = np.zeros(self._size, bool)
        mask[self._rows_of(memory_ids)] = True
        self._tombstone(mask)

    def save_if_due(self) -> None:
        """Rewrite the vector file once it lacks (or holds in excess) enough rows for the next process to pay."""
        if self._file is not None and self._unsaved >= max(SAVE_AFTER_ROWS, self._size // 20):
            self.save()

    def save(self) -> None:
        """Write the live rows to the vector file, for the next process to map."""
        live = np.flatnonzero(self._memory_ids[: self._size] != _DELETED)
        if len(live) and vector_file.write(
            self._file, self._chunk_ids[live], self._memory_ids[live], lambda rows: self._take(live[rows]),
            self.dim, self._model,
        ):  # fmt: skip
            self._unsaved = 0

    def _map_file(self, conn, repo) -> None:
        """Start from the vector file if it is this store's: every row it holds still in the store (or dropped
        as deleted), nothing it lacks below its newest row, and its newest rows equal to vec0's."""
        snapshot = vector_file.read(self._file, self.dim, self._model)
        if snapshot is None:
            return
        # all chunks less the newer ones: a bare count(*) takes ~1 ms at 160k chunks, counting a range ~12 ms
        held, present = len(snapshot.chunk_ids), repo.chunk_count() - vectors.count_vectors(conn, snapshot.newest_chunk)
        if present > held:  # chunks the file never saw below its newest one: another store's file
            return
        self._base, self._codes_base = snapshot.matrix, snapshot.codes
        self._chunk_ids, self._memory_ids = snapshot.chunk_ids.copy(), snapshot.memory_ids.copy()
        self._size, self._unsaved = held, 0
        if present < held:
            self._drop_deleted(conn)
        if not self._newest_rows_match(conn):
            self._clear()

    def _newest_rows_match(self, conn) -> bool:
        rows = np.flatnonzero(self._memory_ids[: self._size] != _DELETED)[-_CHECKED_ROWS:]
        stored = vectors.vectors_of(conn, self._chunk_ids[rows].tolist(), self.dim)
        return all(
            np.array_equal(stored.get(chunk_id), vector)
            for chunk_id, vector in zip(self._chunk_ids[rows].tolist(), self._take(rows), strict=True)
        )

    def _drop_deleted(self, conn) -> None:
        """Tombstone the rows whose chunks are gone from the store."""
        if self._size == 0:
            return
        held = self._chunk_ids[: self._size]
        present = vectors.chunk_ids_through(conn, int(held[-1]))
        gone = (self._memory_ids[: self._size] != _DELETED) & ~np.isin(held, present, assume_unique=True)
        self._tombstone(gone)

    def _tombstone(self, mask: np.ndarray) -> None:
        self._memory_ids[: self._size][mask] = _DELETED
        self._log_chunks = None
        self._unsaved += int(np.count_nonzero(mask))

    def _clear(self) -> None:
        self._size, self._unsaved, self._log_chunks, self._by_memory = 0, 0, None, None
        self._base = self._tail = np.empty((0, self.dim), np.float32)
        self._codes_base = self._codes_tail = np.empty((0, self.dim), np.int8)
        self._chunk_ids, self._memory_ids = np.empty(0, np.int64), np.empty(0, np.int64)

    def _reserve(self, needed: int, exact: bool = False) -> None:
        """Grow the arrays: by half again for appends (amortised), or to exactly `needed` for a first load."""
        capacity = len(self._chunk_ids)
        if needed <= capacity:
            return
        capacity = needed if exact else max(needed, capacity * 3 // 2, 1024)
        base = len(self._base)
        self._tail = _grow(self._tail, (capacity - base, self.dim), max(self._size - base, 0))
        self._codes_tail = _grow(self._codes_tail, (capacity - base, self.dim), max(self._size - base, 0))
        self._chunk_ids = _grow(self._chunk_ids, (capacity,), self._size)
        self._memory_ids = _grow(self._memory_ids, (capacity,), self._size)

    def _scores(self, queries: np.ndarray) -> np.ndarray:
        """Every row's cosine with each query (one per row of `queries`), one column per query: approximate from
        the int8 codes for a few queries, exact for a batch, which is compute-bound and where BLAS's blocked float32
        product beats simsimd's pairwise dots (64 queries at 158k rows: 111 against 150 ms)."""
        base, out = len(self._base), np.empty((self._size, len(queries)), np.float32)
        if len(queries) >= BATCH_QUERIES:
            np.matmul(self._base, queries.T, out=out[:base])
            np.matmul(self._tail[: self._size - base], queries.T, out=out[base:])
        else:
            quantised.dots(self._codes_base, queries, out[:base])
            quantised.dots(self._codes_tail[: self._size - base], queries, out[base:])
        return out

    def _take(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of these rows, wherever they live."""
        base = len(self._base)
        in_base = rows < base
        if in_base.all():
            return self._base[rows]
        taken = np.empty((len(rows), self.dim), np.float32)
        taken[in_base] = self._base[rows[in_base]]
        taken[~in_base] = self._tail[rows[~in_base] - base]
        return taken

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
        query = query.astype(np.float32, copy=False)
        penalty = np.float32(chunk_penalty) * self._chunk_log_counts() if chunk_penalty else None
        return self._best(query, self._scores(query[None])[:, 0], top_n, penalty, allowed, excluded)

    def search_many(self, queries: np.ndarray, top_n: int) -> list[list[tuple[int, float]]]:
        """`search` for each row of `queries`, with one scan (for linking a batch of new memories)."""
        if self._size == 0:
            return [[] for _ in range(len(queries))]
        queries = np.ascontiguousarray(queries, np.float32)
        scores = self._scores(queries)
        columns = np.ascontiguousarray(scores.T)
        return [self._best(query, column, top_n) for query, column in zip(queries, columns, strict=True)]

    def _rows_of(self, memory_ids) -> np.ndarray:
        """The live rows holding these memories' chunks, ascending: two binary searches per memory among the rows
        sorted by memory id, where `np.isin` passes every row (~1 ms at 158k rows, ~20 ms at 1.58M)."""
        order, ordered = self._memory_order()
        wanted = np.sort(np.asarray(memory_ids, np.int64))  # np.unique would import numpy.ma (~30 ms a process)
        wanted = wanted[np.concatenate(([True], wanted[1:] != wanted[:-1]))] if len(wanted) else wanted
        starts = np.searchsorted(ordered, wanted, "left")
        counts = np.searchsorted(ordered, wanted, "right") - starts
        firsts = np.repeat(starts - (np.cumsum(counts) - counts), counts)  # each row's run start, less its offset
        rows = np.sort(order[firsts + np.arange(len(firsts))])
        return rows[self._memory_ids[rows] != _DELETED]  # tombstoned since the order was made

    def _memory_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Every row sorted by memory id, and those ids: sorted once, then extended while rows are appended in
        memory id order (a new chunk belongs to a new memory or version, so ids grow); tombstones stay in it."""
        held = self._memory_ids[: self._size]
        if self._by_memory is not None:
            order, ordered = self._by_memory
            new = held[len(order) :]
            if not len(new):
                return self._by_memory
            if (not len(ordered) or new[0] >= ordered[-1]) and bool(np.all(new[1:] >= new[:-1])):
                self._by_memory = np.r_[order, np.arange(len(order), self._size)], np.r_[ordered, new]
                return self._by_memory
        order = np.argsort(held, kind="stable")
        self._by_memory = order, held[order]
        return self._by_memory

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
        rows = self._rows_of(memory_ids)
        scores = self._take(rows) @ query.astype(np.float32, copy=False)
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
        rows = self._rows_of(memory_ids)
        found, first = np.unique(held[rows], return_index=True)
        vectors_found = self._take(rows[first]).astype(np.float64)
        return {int(i): vector for i, vector in zip(found.tolist(), vectors_found, strict=True)}

    def mean_vectors(self, memory_ids: np.ndarray) -> np.ndarray:
        """Each memory's mean chunk vector, unit length (zeros for a memory with no vector); `memory_ids` sorted."""
        held = self._memory_ids[: self._size]
        rows = np.searchsorted(memory_ids, held).clip(0, max(len(memory_ids) - 1, 0))
        known = (memory_ids[rows] == held) if len(memory_ids) else np.zeros(len(held), bool)
        rows, order = rows[known], np.argsort(rows[known], kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(rows[order]) != 0]) if len(order) else np.empty(0, np.int64)
        sums = np.zeros((len(memory_ids), self.dim), np.float32)
        if len(order):  # one sorted pass: np.add.at is ~50x slower at 100k rows
            sums[rows[order][starts]] = np.add.reduceat(self._take(np.flatnonzero(known)[order]), starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.where(norms == 0, 1.0, norms)

    def _best(
        self,
        query: np.ndarray,
        approximate: np.ndarray,
        top_n: int,
        penalty: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The best `top_n` memories: the pool the int8 scores rank highest, re-scored exactly, widened until it
        holds `top_n` memories or every row a filter leaves (then the search is exact). A memory scores by its best
        chunk in the pool, which is its best chunk unless that one's int8 score fell outside."""
        memory_ids = self._memory_ids[: self._size]
        if penalty is not None:
            approximate -= penalty
        if allowed is not None:  # often a whole project: one pass over the rows beats a lookup per memory
            approximate[~np.isin(memory_ids, allowed)] = -np.inf
        if excluded is not None and len(excluded):
            approximate[self._rows_of(excluded)] = -np.inf
        approximate[memory_ids == _DELETED] = -np.inf
        eligible = int(np.count_nonzero(approximate != -np.inf))  # a narrow filter leaves few: re-score only those
        if eligible == 0:
            return []
        width = min(eligible, max(MIN_POOL, top_n * 4))
        while True:
            pool = _top_rows(approximate, width)
            exact = self._take(pool) @ query - (0 if penalty is None else penalty[pool])
            order = np.argsort(-exact, kind="stable")
            hits = _best_per_memory(memory_ids[pool[order]], exact[order], top_n)
            if len(hits) >= top_n or width == eligible:
                return hits
            width = min(eligible, width * 4)


def _grow(array: np.ndarray, shape: tuple[int, ...], keep: int) -> np.ndarray:
    grown = np.empty(shape, array.dtype)
    grown[:keep] = array[:keep]
    return grown


def _top_rows(scores: np.ndarray, width: int) -> np.ndarray:
    """The rows of the `width` highest scores, in no order. Partitioning 158k scores costs ~2.5 ms, so a large
    array is first cut at a score that every eighth row puts about 4 × `width` rows above (the rows at or
    above it hold the top `width` whenever there are that many; else every row is partitioned)."""
    if width >= len(scores):
        return np.arange(len(scores))
    rows = None
    if len(scores) >= 64 * width:
        sample = scores[::8]
        cut = np.partition(sample, len(sample) - width // 2 - 1)[len(sample) - width // 2 - 1]
        rows = np.flatnonzero(scores >= cut)
        if len(rows) < width:
            rows = None
    if rows is None:
        return np.argpartition(-scores, width - 1)[:width]
    return rows[np.argpartition(-scores[rows], width - 1)[:width]] if len(rows) > width else rows


def _best_per_memory(memory_ids: np.ndarray, scores: np.ndarray, top_n: int) -> list[tuple[int, float]]:
    """Memory ids in score order (the rows' own, filtered and deleted ones already left out), each once."""
    hits: list[tuple[int, float]] = []
    seen: set[int] = set()
    for memory_id, score in zip(memory_ids.tolist(), scores.tolist(), strict=True):
        if memory_id in seen:
            continue
        seen.add(memory_id)
        hits.append((memory_id, score))
        if len(hits) == top_n:
            break
    return hits
