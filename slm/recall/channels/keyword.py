"""The keyword channel: BM25 over FTS5, re-scored by length so short, specific memories beat long ones that
mention the query's words in passing."""

from __future__ import annotations

from slm.recall.fts_query import fts_match
from slm.storage.memories import MemoryFilter, MemoryRepository

KEYWORD_LENGTH_EXP = 0.15  # keyword score = BM25 / (characters / LENGTH_UNIT) ** KEYWORD_LENGTH_EXP
LENGTH_UNIT = 500  # only scales the score: the ranking does not depend on it
KEYWORD_POOL = 3  # the length re-ranking reads KEYWORD_POOL x depth BM25 matches


def ranked(repo: MemoryRepository, query: str, flt: MemoryFilter, depth: int) -> list[tuple[int, float]]:
    """BM25 matches, best first, each score divided by (length / LENGTH_UNIT) ** KEYWORD_LENGTH_EXP.

    FTS5's bm25() fixes b = 0.75; the extra length factor favours short, specific memories over long ones that
    mention the query words in passing (measured in docs/benchmarks.md).
    """
    match = fts_match(query)
    if not match:
        return []
    if not KEYWORD_LENGTH_EXP:
        return repo.keyword_search(match, flt, depth)
    hits = repo.keyword_search(match, flt, depth * KEYWORD_POOL)
    lengths = repo.lengths_of([i for i, _ in hits])
    rescored = [(i, s / (max(lengths.get(i, LENGTH_UNIT), 1) / LENGTH_UNIT) ** KEYWORD_LENGTH_EXP) for i, s in hits]
    return sorted(rescored, key=lambda hit: (-hit[1], hit[0]))[:depth]
