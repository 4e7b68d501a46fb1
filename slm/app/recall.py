"""Recall channels — BM25 keyword (FTS5), vectors, and time — fused by weighted reciprocal rank fusion.

RRF (Cormack et al., 2009) adds weight / (RRF_K + rank) over the channels a memory appears in: it needs no score
calibration between BM25 and cosine, and a memory found by several channels rises above one found by one.
The temporal channel finds nothing itself: it re-ranks the other channels' candidates by the question's time words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

from slm.app.fts_query import fts_match
from slm.app.time_expressions import TimeIntent
from slm.app.validation import format_time
from slm.errors import InvalidInput
from slm.storage.memories import MemoryFilter, MemoryRepository, MemoryRow

RRF_K = 60
CHANNEL_DEPTH = 100
CHANNELS = ("keyword", "vector", "temporal")
WEIGHTS = {"keyword": 1.0, "vector": 1.0, "temporal": 1.0}
ORDER_POOL = 20  # "latest"/"first" reorders only the strongest candidates: recency must not outvote relevance


@dataclass(frozen=True)
class ChannelRank:
    rank: int  # 1-based
    score: float  # the channel's own score: BM25 (higher is better) or cosine


@dataclass(frozen=True)
class Hit:
    id: int
    text: str
    score: float  # fused RRF score
    time: str  # event time if known, else when it was stored
    agent: str
    project: str
    kind: str
    tags: tuple[str, ...]
    meta: dict
    channels: dict[str, ChannelRank] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def clean_channels(channels: Iterable[str] | None) -> tuple[str, ...]:
    if channels is None:
        return CHANNELS
    if isinstance(channels, str):
        channels = [channels]
    chosen = tuple(dict.fromkeys(channels))
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown or not chosen:
        raise InvalidInput(f"unknown or no recall channels {unknown or '[]'}", f"choose from {list(CHANNELS)}")
    if chosen == ("temporal",):
        raise InvalidInput("the temporal channel reorders what keyword or vector found", "add one of them")
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
    match = fts_match(query)
    return repo.keyword_search(match, flt, depth) if match else []


def vector_channel(index, repo: MemoryRepository, query_vector: np.ndarray, flt: MemoryFilter, depth: int):
    """Unfiltered searches exclude the few superseded versions rather than list every allowed id."""
    if not flt.is_empty:
        return index.search(query_vector, depth, allowed=repo.ids_matching(flt))
    return index.search(query_vector, depth, excluded=repo.superseded_ids())


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
            fused[memory_id] = fused.get(memory_id, 0.0) + weights.get(name, 1.0) / (RRF_K + rank)
            evidence.setdefault(memory_id, {})[name] = ChannelRank(rank, float(score))
    best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    return [(i, fused[i], evidence[i]) for i in best]


def to_hits(rows: list[MemoryRow], fused: list[tuple[int, float, dict[str, ChannelRank]]]) -> list[Hit]:
    by_id = {row.id: row for row in rows if row.superseded_by is None}  # updated since a channel read it
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
        )
        for memory_id, score, channels in fused
        if (row := by_id.get(memory_id)) is not None
    ]
