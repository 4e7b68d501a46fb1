"""The vector channel: the nearest memories to the question in embedding space, by their best chunk."""

from __future__ import annotations

import numpy as np

from slm.storage.memories import MemoryFilter, MemoryRepository

CHUNK_PENALTY = 0.15  # vector score = max chunk cosine - CHUNK_PENALTY * ln(chunks of the memory)


def ranked(index, repo: MemoryRepository, query_vector: np.ndarray, flt: MemoryFilter, depth: int):
    """Unfiltered searches exclude the few superseded (and archived) memories rather than list every allowed id."""
    if not flt.is_empty:
        return index.search(query_vector, depth, allowed=repo.ids_matching(flt), chunk_penalty=CHUNK_PENALTY)
    return index.search(query_vector, depth, excluded=repo.hidden_ids(flt.live), chunk_penalty=CHUNK_PENALTY)
