"""The learned ranker's scores as ranked hits, each with what moved it: its features grouped by where they come
from (the keyword and vector channels, its session, the question's people and phrases, time)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Scored:
    """One recall's candidates in the learned order, explained on demand: only the few that become hits are."""

    candidates: list[Candidate]
    views: Views
    parts: np.ndarray  # each feature's contribution per candidate (Ranker.contributions)
    vector: list[tuple[int, float]]  # the vector channel's order

    @classmethod
    def of(
        cls,
        candidates: list[Candidate],
        views: Views,
        features: np.ndarray,
        ranker: Ranker,
        vector: list[tuple[int, float]],
    ) -> Scored:
        return cls(candidates, views, ranker.contributions(features), vector)

    def ranked(self) -> Fused:
        """Candidates best first, scored 1 / (RRF_K + rank): the shape of fused scores, which the trust and
        lifecycle weights (at most 1) were calibrated on, so they move a memory down the learned order as far as
        the fused one. Their evidence is left empty for `explained`."""
        ids = np.array([c.id for c in self.candidates], dtype=np.int64)
        order = np.lexsort((ids, -self.parts.sum(axis=1)))
        return [(int(ids[n]), 1.0 / (RRF_K + position), {}) for position, n in enumerate(order, 1)]

    def explained(self, fused: Fused) -> Fused:
        """The same hits, each with what moved it: its channel ranks and its feature groups' shares."""
        row = {c.id: n for n, c in enumerate(self.candidates)}
        ranks = {
            "keyword": {i: r for r, i in enumerate(self.views.keyword_order, 1)},
            "vector": {i: r for r, (i, _) in enumerate(self.vector, 1)},
        }
        raw = {"keyword": self.views.keyword, "vector": self.views.cosine}
        out = []
        for memory_id, score, given in fused:
            parts = self.parts[row[memory_id]]
            evidence = dict(given)  # the personal re-ranking's, if any
            for group, columns in _COLUMNS.items():
                share = float(parts[columns].sum())
                rank = ranks.get(group, {}).get(memory_id, 0)  # only the channels rank; feature groups add
                if not rank and not share:
                    continue
                evidence[group] = ChannelRank(
                    rank,
                    float(raw[group].get(memory_id, 0.0)) if group in raw else share,
                    share,
                    {FEATURES[c]: round(float(parts[c]), 4) for c in columns},
                )
            out.append((memory_id, score, evidence))
        return out
