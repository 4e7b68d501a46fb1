"""MaxScore's exact early stop for a BM25 search over an OR of phrases, shared by both keyword indexes
(`keyword_sqlite`, FTS5; `keyword_pg`, PostgreSQL): which phrases are common enough to skip at first, and how far
below the floor a row may score on the rare phrases alone and still reach the top once the common ones are added.

A phrase adds less than idf * (k1 + 1) to a row's score. The rows matching the rare phrases, scored on those alone,
give a floor under the true limit-th score (the common phrases only add). If the common phrases' bounds sum below
it, no row matching only common phrases can enter, nor a rare row whose partial score plus that sum stays below it.
"""

from __future__ import annotations

import math

K1 = 1.2  # FTS5's bm25() k1: one phrase adds less than its idf * (k1 + 1) to any row's score
B = 0.75  # FTS5's bm25() b
PRUNE_SHARE = 4  # stop early past phrases in over 1/PRUNE_SHARE of the rows ...
PRUNE_GAIN = 3  # ... when the other phrases match under 1/PRUNE_GAIN as many rows as the commonest (else it costs)
PRUNE_MARGIN = 1e-6  # relative: covers the rounding between sums over all phrases and over some


def idf(rows: int, hits: int) -> float:
    """FTS5's idf, to the bit: log((N - n + 0.5) / (n + 0.5)), 1e-6 where that is not positive (a phrase in over
    half the rows); N counts every row the index holds."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6


def split(hits: list[int], rows: int, limit: int) -> tuple[list[int], list[int]] | None:
    """(common, rare) phrase positions when stopping early can pay; None when nothing common can be skipped, too
    few rare rows fill the top, or too many are rare to gain."""
    common = [i for i, n in enumerate(hits) if n * PRUNE_SHARE > rows]
    rare = [i for i in range(len(hits)) if i not in common]
    rare_hits = sum(hits[i] for i in rare)
    if not common or not rare or rare_hits < limit or rare_hits * PRUNE_GAIN > max(hits):
        return None
    return common, rare


def slack(hits: list[int], rows: int, common: list[int], floor: float) -> float:
    """How far below `floor` a row's rare-phrase score may be and still reach the top: the common phrases' bounds,
    with a margin for rounding. Stopping early is proved only when it stays below `floor`."""
    bounds = sum((K1 + 1) * idf(rows, hits[i]) for i in common)
    return bounds + PRUNE_MARGIN * max(1.0, abs(floor))
