"""Hybrid recall: a BM25 keyword channel (FTS5) and a vector channel, fused by reciprocal rank fusion.

RRF (Cormack et al., 2009) adds 1 / (RRF_K + rank) over the channels a memory appears in: it needs no score
calibration between BM25 and cosine, and a memory found by both channels rises above one found by either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from slm.app.fts_query import fts_match
from slm.errors import InvalidInput
from slm.storage.memories import MemoryFilter, MemoryRepository, MemoryRow

RRF_K = 60
CHANNEL_DEPTH = 100
CHANNELS = ("keyword", "vector")


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
    return chosen


def keyword_channel(repo: MemoryRepository, query: str, flt: MemoryFilter, depth: int) -> list[tuple[int, float]]:
    match = fts_match(query)
    return repo.keyword_search(match, flt, depth) if match else []


def vector_channel(index, repo: MemoryRepository, query_vector: np.ndarray, flt: MemoryFilter, depth: int):
    """Unfiltered searches exclude the few superseded versions rather than list every allowed id."""
    if not flt.is_empty:
        return index.search(query_vector, depth, allowed=repo.ids_matching(flt))
    return index.search(query_vector, depth, excluded=repo.superseded_ids())


def fuse(channels: dict[str, list[tuple[int, float]]], k: int) -> list[tuple[int, float, dict[str, ChannelRank]]]:
    """RRF over ranked (id, score) lists -> the best k (id, fused score, per-channel evidence); ties by id."""
    fused: dict[int, float] = {}
    evidence: dict[int, dict[str, ChannelRank]] = {}
    for name, ranked in channels.items():
        for rank, (memory_id, score) in enumerate(ranked, start=1):
            fused[memory_id] = fused.get(memory_id, 0.0) + 1.0 / (RRF_K + rank)
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
