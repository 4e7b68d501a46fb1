"""Reciprocal rank fusion of the channels (the ranking behind `channels=` ablations and SLM_RANKER=rrf).

RRF (Cormack et al., 2009) adds weight / (RRF_K + rank) over the channels a memory appears in: it needs no score
calibration between BM25 and cosine, and a memory found by several channels rises above one found by one.
"""

from __future__ import annotations

from collections.abc import Iterable

from slm.errors import InvalidInput
from slm.recall.hits import ChannelRank

RRF_K = 60
CHANNEL_DEPTH = 100
CHANNELS = ("keyword", "vector", "graph", "temporal", "fisher")
DEFAULT_CHANNELS = ("keyword", "vector", "graph", "temporal")  # RRF's default set, by ablation: docs/benchmarks.md
WEIGHTS = {"keyword": 1.0, "vector": 1.0, "graph": 0.25, "temporal": 1.0, "fisher": 1.0}  # by ablation, too
SEARCHING = frozenset({"keyword", "vector", "fisher"})  # channels that find candidates (the others re-rank)


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
