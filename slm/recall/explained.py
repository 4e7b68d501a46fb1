"""The learned ranker's scores as ranked hits, each with what moved it: its features grouped by where they come
from (the keyword and vector channels, its session, the question's people and phrases, time)."""

from __future__ import annotations

import numpy as np

from slm.recall.features import FEATURES, SESSION_FEATURES, Candidate, Views
from slm.recall.fusion import RRF_K
from slm.recall.hits import ChannelRank, Fused
from slm.recall.ranker import Ranker

GROUPS = {
    "keyword": ("keyword_rank", "coverage"),
    "vector": ("vector", "chunks"),
    "session": SESSION_FEATURES,
    "query": ("speaker",),
    "time": ("in_window",),
}
_COLUMNS = {group: [FEATURES.index(name) for name in names] for group, names in GROUPS.items()}


def scored(candidates: list[Candidate], views: Views, features: np.ndarray, ranker: Ranker, vector) -> Fused:
    """Candidates best first, scored 1 / (RRF_K + rank): the shape of fused scores, which the trust and lifecycle
    weights (at most 1) were calibrated on, so they move a memory down the learned order as far as the fused one."""
    if not candidates:
        return []
    parts = ranker.contributions(features)
    totals = parts.sum(axis=1)
    ids = np.array([c.id for c in candidates])
    order = np.lexsort((ids, -totals))
    ranks = {
        "keyword": {i: r for r, i in enumerate(views.keyword_order, 1)},
        "vector": {i: r for r, (i, _) in enumerate(vector, 1)},
    }
    raw = {"keyword": views.keyword, "vector": views.cosine}
    rounded = parts.round(4).tolist()
    shares = {group: parts[:, columns].sum(axis=1).tolist() for group, columns in _COLUMNS.items()}
    fused = []
    for position, n in enumerate(order, 1):
        memory_id = int(ids[n])
        evidence = {}
        for group, columns in _COLUMNS.items():
            share = shares[group][n]
            rank = ranks.get(group, {}).get(memory_id, 0)  # only the channels rank; feature groups add
            if not rank and not share:
                continue
            evidence[group] = ChannelRank(
                rank,
                float(raw[group].get(memory_id, 0.0)) if group in raw else share,
                share,
                {FEATURES[c]: rounded[n][c] for c in columns},
            )
        fused.append((memory_id, 1.0 / (RRF_K + position), evidence))
    return fused
