"""int8 copies of the unit vectors, scanned with SIMD to choose the candidates that are then scored exactly.

An exact float32 scan reads 1.5 KB a chunk and is bound by memory bandwidth (~13 ms at 158k chunks); the int8
copy is a quarter of that and simsimd's kernels score it in ~3 ms. Its scores only choose a pool of candidates,
which `VectorIndex` re-scores in float32, so the scores it returns are exact (docs/ARCHITECTURE.md, "Embedding").
"""

from __future__ import annotations

import numpy as np
import simsimd

# The components of a unit vector of a few hundred dimensions stay well inside ±0.5 (MiniLM's largest at 158k
# chunks: 0.41), so ±0.5 maps to ±127; a rare larger one clips, and the exact re-score corrects its order.
SCALE = 254.0


def quantise(vectors: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(vectors * SCALE), -127, 127).astype(np.int8)


def dots(codes: np.ndarray, queries: np.ndarray, out: np.ndarray) -> None:
    """`out[i, j]` ≈ row i's cosine with query j (`queries` one per row), from the int8 codes."""
    if len(codes) == 0:
        return
    peak = np.abs(queries).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0
    scale = 127.0 / peak  # each query's own scale: it may use the whole int8 range, and it leaves the order alone
    query_codes = np.rint(queries * scale).astype(np.int8)
    # not `cdist(..., out=out)`: simsimd 6.5 returns None from it without a reference, so each call took one from
    # None until a long-running process died ("Fatal Python error: none_dealloc"); the copy costs ~0.1 ms at 158k
    out[:] = simsimd.cdist(codes, query_codes, metric="dot", out_dtype="float32")
    out /= (SCALE * scale).astype(np.float32).T
