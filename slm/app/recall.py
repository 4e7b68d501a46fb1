"""Recall channels — BM25 keyword (FTS5), vectors, the graph, time and the Fisher metric — fused by weighted
reciprocal rank fusion, then weighed by each memory's trust and lifecycle.

RRF (Cormack et al., 2009) adds weight / (RRF_K + rank) over the channels a memory appears in: it needs no score
calibration between BM25 and cosine, and a memory found by several channels rises above one found by one.
The temporal channel finds nothing itself: it re-ranks the other channels' candidates by the question's time words;
the Fisher channel re-ranks the vector and keyword candidates by the Fisher–Rao distance of their Gaussians.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

from slm.app import fisher, langevin
from slm.app.fts_query import fts_match
from slm.app.time_expressions import TimeIntent
from slm.app.validation import format_time
from slm.errors import InvalidInput
from slm.storage.memories import MemoryFilter, MemoryRepository, MemoryRow
from slm.trust import model as trust_model

RRF_K = 60
CHANNEL_DEPTH = 100
CHANNELS = ("keyword", "vector", "graph", "temporal", "fisher")
DEFAULT_CHANNELS = ("keyword", "vector", "graph", "temporal")  # by ablation: docs/benchmarks.md
WEIGHTS = {"keyword": 1.0, "vector": 1.0, "graph": 0.25, "temporal": 1.0, "fisher": 1.0}  # by ablation, too
SEARCHING = frozenset({"keyword", "vector", "fisher"})  # channels that find candidates (the others re-rank)
CHUNK_PENALTY = 0.15  # vector score = max chunk cosine - CHUNK_PENALTY * ln(chunks of the memory)
KEYWORD_LENGTH_EXP = 0.15  # keyword score = BM25 / (characters / LENGTH_UNIT) ** KEYWORD_LENGTH_EXP
LENGTH_UNIT = 500  # only scales the score: the ranking does not depend on it
KEYWORD_POOL = 3  # the length re-ranking reads KEYWORD_POOL x depth BM25 matches
ORDER_POOL = 20  # "latest"/"first" reorders only the strongest candidates: recency must not outvote relevance


@dataclass(frozen=True)
class ChannelRank:
    rank: int  # 1-based
    score: float  # the channel's own score: BM25 (higher is better), cosine, PageRank mass, day number
    contribution: float = 0.0  # what this channel added to the fused score: weight / (RRF_K + rank)


@dataclass(frozen=True)
class Hit:
    id: int
    text: str
    score: float  # fused RRF score, weighted by trust
    time: str  # event time if known, else when it was stored
    agent: str
    project: str
    kind: str
    tags: tuple[str, ...]
    meta: dict
    channels: dict[str, ChannelRank] = field(default_factory=dict)
    trust: float = 1.0  # the memory's trust: its author's, moved by corroborations and contradictions
    zone: str = "active"  # its lifecycle zone: active, warm, cold or archived
    current: bool = True  # False once later claims superseded everything it says (it is history)

    def to_dict(self) -> dict:
        return asdict(self)


def clean_channels(channels: Iterable[str] | None) -> tuple[str, ...]:
    if channels is None:
        return DEFAULT_CHANNELS
    if isinstance(channels, str):
        channels = [channels]
    chosen = tuple(dict.fromkeys(channels))
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown or not chosen:
        raise InvalidInput(f"unknown or no recall channels {unknown or '[]'}", f"choose from {list(CHANNELS)}")
    if not SEARCHING & set(chosen):
        raise InvalidInput(
            "the graph and temporal channels start from what another channel found", f"add one of {sorted(SEARCHING)}"
        )
    return chosen


def clean_weights(weights: dict[str, float] | None) -> dict[str, float]:
    if weights is None:
        return WEIGHTS
    if not isinstance(weights, dict) or set(weights) - set(CHANNELS):
        raise InvalidInput(f"weights must map channels {list(CHANNELS)} to numbers, got {weights!r}")
    for name, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise InvalidInput(f"the weight of {name} must be a number from 0 to 100, got {value!r}")
    return {**WEIGHTS, **weights}


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
        low, high = (format_time(moment.replace(tzinfo=UTC)) for moment in (intent.start, intent.end))  # naive = UTC
        picked = [i for i in candidates if low <= times[i] <= high]
    elif intent.order:
        picked = candidates[:ORDER_POOL]
    else:
        return []
    if intent.order:
        picked = sorted(picked, key=lambda i: times[i], reverse=intent.order == "latest")
    return [(i, _day_number(times[i])) for i in picked]


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


def fuse(
    channels: dict[str, list[tuple[int, float]]], k: int, weights: dict[str, float] | None = None
) -> list[tuple[int, float, dict[str, ChannelRank]]]:
    """Weighted RRF over ranked (id, score) lists -> the best k (id, fused score, per-channel evidence); ties by id."""
    weights = weights or WEIGHTS
    fused: dict[int, float] = {}
    evidence: dict[int, dict[str, ChannelRank]] = {}
    for name, ranked in channels.items():
        for rank, (memory_id, score) in enumerate(ranked, start=1):
            share = weights.get(name, 1.0) / (RRF_K + rank)
            fused[memory_id] = fused.get(memory_id, 0.0) + share
            evidence.setdefault(memory_id, {})[name] = ChannelRank(rank, float(score), share)
    best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    return [(i, fused[i], evidence[i]) for i in best]


Fused = list[tuple[int, float, dict[str, ChannelRank]]]


@dataclass(frozen=True)
class Standing:
    """What moves a memory down the order after fusion: its trust and its lifecycle position."""

    trust: float = 1.0
    position: float = 0.0
    hidden: bool = False  # quarantined or archived, and not asked for
    by_trust: bool = True  # whether trust weighs (recall(trust=False) reports it but ranks without it)
    by_use: bool = True  # whether the lifecycle weighs (recall(lifecycle=False) likewise)
    current: bool = True  # what it says still holds (reported; `before_successors` orders by it)

    @property
    def weight(self) -> float:
        trust = trust_model.rank_weight(self.trust) if self.by_trust else 1.0
        return trust * (float(langevin.rank_weight(self.position)) if self.by_use else 1.0)

    @property
    def zone(self) -> str:
        return str(langevin.zone_of(np.array([self.position]))[0])


UNWEIGHED = Standing()


def weigh(fused: Fused, standing_of: Callable[[list[int]], dict[int, Standing]], k: int) -> tuple[Fused, dict]:
    """The best k after multiplying each fused score by its memory's weight (trust, then lifecycle), so that a
    distrusted or long-unused memory falls below others in the order; hidden memories are left out. Memories
    without a standing count as trusted and active. Also returns the standings read.

    A weight is at most 1, so a memory can only fall: standings are read for the leading candidates, in growing
    slices, until k weighed ones score above the next unread candidate's fused score — usually 2k reads, not the
    whole fused list.
    """
    standings: dict[int, Standing] = {}
    weighed: Fused = []
    start, size = 0, max(2 * k, 20)
    while start < len(fused):
        chunk = fused[start : start + size]
        standings |= standing_of([memory_id for memory_id, _, _ in chunk])
        for memory_id, score, channels in chunk:
            standing = standings.get(memory_id, UNWEIGHED)
            if not standing.hidden:
                weighed.append((memory_id, score * standing.weight, channels))
        weighed.sort(key=lambda item: (-item[1], item[0]))
        start, size = start + size, size * 2
        if start < len(fused) and len(weighed) >= k and weighed[k - 1][1] > fused[start][1]:
            break
    return weighed[:k], standings


def before_successors(fused: Fused, successors: dict[int, set[int]]) -> Fused:
    """The same hits with every superseded memory moved just below the lowest memory in the list that superseded
    it (its score capped at that one's), so an update outranks the fact it replaced. A global weight on history
    instead cost 0.009 NDCG@10 on LongMemEval (docs/benchmarks.md): it also sank old facts nothing replaced in
    the results."""
    order = list(fused)
    for _ in range(len(order)):  # each pass settles at least one memory; cycles cannot keep it going longer
        place = {memory_id: i for i, (memory_id, _, _) in enumerate(order)}
        moves = [
            (i, max(place[n] for n in later))
            for memory_id, i in place.items()
            if (later := [n for n in successors.get(memory_id, ()) if place.get(n, -1) > i])
        ]
        if not moves:
            break
        old, below = moves[0]
        memory_id, score, channels = order.pop(old)
        order.insert(below, (memory_id, min(score, order[below - 1][1]), channels))
    return order


def to_hits(
    rows: list[MemoryRow], fused: Fused, standings: dict[int, Standing] | None = None, versions: bool = False
) -> list[Hit]:
    """Hits in fused order; without `versions`, memories updated since a channel read them are dropped."""
    by_id = {row.id: row for row in rows if versions or row.superseded_by is None}
    return [
        Hit(
            id=row.id,
            text=row.content,
            score=score,
            time=row.event_time or row.created_at,
            agent=row.agent,
            project=row.project,
            kind=row.kind,
            tags=row.tags,
            meta=row.meta,
            channels=channels,
            trust=(standing := (standings or {}).get(memory_id, UNWEIGHED)).trust,
            zone=standing.zone,
            current=standing.current,
        )
        for memory_id, score, channels in fused
        if (row := by_id.get(memory_id)) is not None
    ]
