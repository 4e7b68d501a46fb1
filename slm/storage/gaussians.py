"""The `memory_gaussians` table: Welford summaries (count, mean, sum of squares) of memories observed more than once.

Vectors are stored as float16: the Gaussian's spread (about 0.03 per dimension) dwarfs float16's rounding (about
3e-5 at these magnitudes), and it halves the table.
"""

from __future__ import annotations

import numpy as np

from slm.storage import vectors

BACKFILL = "gaussians.backfill"  # set by migration 0006 when older multi-chunk memories need their rows


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, np.float16).tobytes()


def _array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, np.float16).astype(np.float64)


class GaussianRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    def put(self, memory_id: int, n: float, mean: np.ndarray, m2: np.ndarray) -> None:
        self.conn.execute(
            "INSERT INTO memory_gaussians (memory_id, n, mean, m2) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (memory_id) DO UPDATE SET n = excluded.n, mean = excluded.mean, m2 = excluded.m2",
            (memory_id, float(n), _blob(mean), _blob(m2)),
        )

    def get_many(self, ids: list[int]) -> dict[int, tuple[float, np.ndarray, np.ndarray]]:
        """(n, mean, m2) of the memories among `ids` that have a row."""
        found: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for memory_id, n, mean, m2 in self.conn.execute(
                f"SELECT memory_id, n, mean, m2 FROM memory_gaussians WHERE memory_id IN ({marks})", part
            ):
                found[memory_id] = (n, _array(mean), _array(m2))
        return found

    def chunk_vectors(self, ids: list[int], first_only: bool = False) -> dict[int, np.ndarray]:
        """Each memory's chunk vectors, (chunks, dim) in chunk order; only the first chunk with `first_only` (the
        whole centre of a memory observed once)."""
        chosen = "SELECT min(id) FROM chunks WHERE memory_id IN ({})" + (" GROUP BY memory_id" if first_only else "")
        found: dict[int, list[np.ndarray]] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            query = chosen.format(marks) if first_only else f"SELECT id FROM chunks WHERE memory_id IN ({marks})"
            for memory_id, blob in self.conn.execute(
                f"SELECT c.memory_id, {vectors.embedding_column(self.conn)} FROM chunks AS c JOIN {vectors.TABLE} AS v "
                f"ON {vectors.key_column(self.conn)} = c.id WHERE c.id IN ({query}) ORDER BY c.id",
                part,
            ):
                found.setdefault(memory_id, []).append(vectors.vector(self.conn, blob))
        return {i: np.vstack(rows).astype(np.float64) for i, rows in found.items()}

    def backfill_pending(self) -> bool:
        return self.conn.execute("SELECT 1 FROM settings WHERE key = ?", (BACKFILL,)).fetchone() is not None

    def backfill_done(self) -> None:
        self.conn.execute("DELETE FROM settings WHERE key = ?", (BACKFILL,))

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM memory_gaussians").fetchone()[0]

    def clear(self) -> None:
        self.conn.execute("DELETE FROM memory_gaussians")
