"""The channels that find or re-rank memories, one function each: BM25 keywords (FTS5), vectors, the question's
time words, the Fisher metric. (The graph channel lives with the graph, in slm.graph.links.)"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from slm.recall import fisher
from slm.recall.fts_query import fts_match
from slm.storage.memories import MemoryFilter, MemoryRepository
from slm.time_expressions import TimeIntent
from slm.validation import format_time

CHUNK_PENALTY = 0.15  # vector score = max chunk cosine - CHUNK_PENALTY * ln(chunks of the memory)
KEYWORD_LENGTH_EXP = 0.15  # keyword score = BM25 / (characters / LENGTH_UNIT) ** KEYWORD_LENGTH_EXP
LENGTH_UNIT = 500  # only scales the score: the ranking does not depend on it
KEYWORD_POOL = 3  # the length re-ranking reads KEYWORD_POOL x depth BM25 matches
ORDER_POOL = 20  # "latest"/"first" reorders only the strongest candidates: recency must not outvote relevance


def keyword_channel(repo: MemoryRepository, query: str, flt: MemoryFilter, depth: int) -> list[tuple[int, float]]:
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


def vector_channel(index, repo: MemoryRepository, query_vector: np.ndarray, flt: MemoryFilter, depth: int):
    """Unfiltered searches exclude the few superseded (and archived) memories rather than list every allowed id."""
    if not flt.is_empty:
        return index.search(query_vector, depth, allowed=repo.ids_matching(flt), chunk_penalty=CHUNK_PENALTY)
    return index.search(query_vector, depth, excluded=repo.hidden_ids(flt.live), chunk_penalty=CHUNK_PENALTY)


def temporal_channel(intent: TimeIntent, candidates: list[int], times: dict[int, str]) -> list[tuple[int, float]]:
    """The candidates (in relevance order) that fit the question's time, scored by their day number.

    A window keeps the candidates inside it; an order word ("latest", "first") sorts the strongest candidates
    by time. Without either, the channel is empty and fusion is the plain hybrid.
    """
    if intent.has_window:
        low, high = window_bounds(intent)
        picked = [i for i in candidates if low <= times[i] <= high]
    elif intent.order:
        picked = candidates[:ORDER_POOL]
    else:
        return []
    if intent.order:
        picked = sorted(picked, key=lambda i: times[i], reverse=intent.order == "latest")
    return [(i, _day_number(times[i])) for i in picked]


def window_bounds(intent: TimeIntent) -> tuple[str, str]:
    """The question's time window as ISO UTC bounds (the parser's naive times are UTC)."""
    low, high = (format_time(moment.replace(tzinfo=UTC)) for moment in (intent.start, intent.end))
    return low, high


def fisher_channel(
    query: fisher.Observations, candidates: list[int], gaussians: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> list[tuple[int, float]]:
    """The candidates by the Fisher–Rao distance between their Gaussians and the query's, nearest first (the
    score is the distance). `gaussians` is (n, mean, m2) of each candidate, as rows in candidate order."""
    if not candidates:
        return []
    n, mean, m2 = gaussians
    sigma = np.sqrt(fisher.posterior_variance(n, m2))
    distance = fisher.fisher_rao(query.mean, np.sqrt(query.variance()), mean, sigma)
    order = np.lexsort((np.asarray(candidates), distance))
    return [(candidates[i], float(distance[i])) for i in order]


def _day_number(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() / 86400
