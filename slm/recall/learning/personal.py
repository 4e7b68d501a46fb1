"""The personal re-ranking of one recall: the learned layers' features of the best RERANK_DEPTH results, added to
what the ranking before learning says of their ranks; each moved hit says what moved it (`learned` evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from slm.recall.fusion import RRF_K
from slm.recall.hits import ChannelRank, Fused
from slm.recall.learning.learner import LAYERS, Context, Model, features
from slm.recall.learning.replay import SIGNATURE, Facts, offset

RERANK_DEPTH = 50  # results the re-ranking may reorder: the learned layers move results, they do not find them


@dataclass(frozen=True)
class Personal:
    """A learned model and the context of the recall it re-ranks."""

    model: Model
    query: str
    workspace: str | None
    named: str | None
    follows: tuple[int, ...]  # what the session's previous recall showed, best first
    recent: tuple[int, ...]  # what the session used lately

    def rerank(self, ranked: Fused, store) -> Fused:
        top = ranked[:RERANK_DEPTH]
        ids = [i for i, _, _ in top]
        facts = read_facts(store, ids + list(self.follows[:SIGNATURE]) + list(self.recent))
        context = Context(
            self.query, self.workspace, self.named,
            [p for i in self.recent if (p := facts.projects.get(i)) is not None], facts.signature(self.follows),
        )  # fmt: skip
        parts = features(self.model, ids, facts, context) * self.model.weights
        moved = parts.sum(axis=1)
        score = np.array([offset(n) for n in range(1, len(ids) + 1)]) + moved
        out = []
        for position, n in enumerate(np.argsort(-score, kind="stable"), 1):
            memory_id, weighed, evidence = top[n]
            learned = ChannelRank(
                int(n) + 1, round(float(score[n]), 4), round(float(moved[n]), 4),
                {layer: round(float(parts[n, c]), 4) for c, layer in enumerate(LAYERS)},
            )  # fmt: skip
            rescaled = weighed * (RRF_K + n + 1) / (RRF_K + position)  # its trust and lifecycle weights kept
            out.append((memory_id, rescaled, {**evidence, "learned": learned}))
        return out + ranked[RERANK_DEPTH:]


def read_facts(store, memory_ids: list[int]) -> Facts:
    """What the layers read of `memory_ids` in the store: three reads, whatever their number."""
    ids = list(dict.fromkeys(memory_ids))
    found = store.graph.entities_of(ids) if ids else {}
    return Facts(
        store.repo.projects_of(ids),
        {i: tuple((e.key, e.name, e.kind) for e in rows) for i, rows in found.items()},
        store.synced_index().first_vectors(ids) if ids else {},
        query_entities,
    )


@lru_cache(maxsize=4096)
def query_entities(query: str) -> frozenset[str]:
    from slm.graph import entities  # only once a model is in effect: a one-shot recall never loads the finders

    return frozenset(e.key for e in entities.extract(query))
