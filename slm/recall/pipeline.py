"""One recall, top to bottom: analyse the question, run the channels, rank (learned, or fused by RRF), weigh by
trust and lifecycle, put updates above what they replaced, and return hits (docs/ARCHITECTURE.md, "Recall")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np

from slm import time_expressions, validation
from slm.graph import links as graph
from slm.recall import candidates as gathering
from slm.recall import explained, features, fisher, fusion, gaussians, weighing
from slm.recall import query as query_analysis
from slm.recall.channels import fisher as fisher_channel
from slm.recall.channels import graph as graph_channel
from slm.recall.channels import keyword as keyword_channel
from slm.recall.channels import temporal as temporal_channel
from slm.recall.channels import vector as vector_channel
from slm.recall.hits import Fused, Hit, to_hits
from slm.recall.learning.personal import RERANK_DEPTH, Personal
from slm.recall.ranker import Ranker
from slm.storage.lifecycle import ARCHIVED
from slm.storage.memories import MemoryFilter
from slm.trust import model as trust_model

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from slm.embedding.vector_index import VectorIndex
    from slm.storage.claims import ClaimRepository
    from slm.storage.gaussians import GaussianRepository
    from slm.storage.graph import GraphRepository
    from slm.storage.lifecycle import LifecycleRepository
    from slm.storage.memories import MemoryRepository
    from slm.trust.ledger import TrustLedger

ANCHOR_DEPTH = 10  # candidates per channel when finding the event a question's time is relative to


@dataclass(frozen=True)
class Seen:
    """What the asker sees and what weighs: trust and lifecycle weighing, quarantined and archived memories."""

    trust: bool = True
    lifecycle: bool = True
    quarantined: bool = False
    archived: bool = False


class Sources(Protocol):
    """What recall reads: the open store's repositories, its vector mirror and keyword thread, the query's vectors."""

    repo: MemoryRepository
    keyword_repo: MemoryRepository | None
    graph: GraphRepository
    trust: TrustLedger
    gaussians: GaussianRepository
    lifecycle: LifecycleRepository
    claim_repo: ClaimRepository  # the claims as stored (recall reads validity; it never derives claims)

    def keyword_worker(self) -> ThreadPoolExecutor: ...
    def synced_index(self) -> VectorIndex: ...
    def query_vector(self, query: str) -> np.ndarray: ...
    def query_chunks(self, query: str) -> np.ndarray: ...


class Recall:
    """The recall pipeline over one open store."""

    def __init__(self, store: Sources) -> None:
        self.store = store

    def run(
        self,
        query: str,
        k: int,
        flt: MemoryFilter,
        now: object,
        seen: Seen,
        ranker: Ranker | None,
        channels: tuple[str, ...] | None = None,
        weights: dict[str, float] | None = None,
        personal: Personal | None = None,
    ) -> list[Hit]:
        learned = None
        if ranker is not None:
            learned = self.learned(query, now, flt, ranker, k)
            ranked = learned.ranked()
        else:
            depth = max(fusion.CHANNEL_DEPTH, k)
            ranked = self.fused(query, now, flt, depth, channels or fusion.DEFAULT_CHANNELS, weights or fusion.WEIGHTS)
        history = flt.as_of is None
        kept = k if personal is None else max(k, RERANK_DEPTH)  # the same candidates; their best 50 re-ranked
        ranked, standings = weighing.weigh(ranked, lambda ids: self.standings(ids, seen, history), kept)
        if personal is not None:
            ranked = personal.rerank(ranked, self.store)[:k]
        if history:  # after the re-ranking too: an update stays above what it replaced
            ranked = weighing.before_successors(ranked, self.store.claim_repo.successors([i for i, _, _ in ranked]))
        if learned is not None:
            ranked = learned.explained(ranked)
        return to_hits(self.store.repo.get_many([i for i, _, _ in ranked]), ranked, standings, not history)

    # -- the learned ranking --------------------------------------------------------------------------------
    def learned(self, query: str, now: object, flt: MemoryFilter, ranker: Ranker, k: int) -> explained.Scored:
        """The keyword and vector channels' candidates and their session neighbours, scored by the learned ranker;
        each channel gives at least k, so a long list is as long as asked."""
        analysed, found, views, vector = self.candidates(query, now, flt, max(gathering.POOL, k))
        return explained.Scored.of(found, views, features.matrix(analysed, found, views), ranker, vector)

    def features(self, query: str, now: object, flt: MemoryFilter) -> tuple[list, np.ndarray]:
        analysed, found, views, _ = self.candidates(query, now, flt)
        return found, features.matrix(analysed, found, views)

    def candidates(self, query: str, now: object, flt: MemoryFilter, pool: int = gathering.POOL) -> tuple:
        store = self.store
        analysed = query_analysis.analyse(query)
        if analysed.match:  # BM25 in its own thread while the question is embedded
            keyword = store.keyword_worker().submit(
                store.keyword_repo.keyword_search, analysed.match, flt, max(gathering.KEYWORD_DEPTH, pool)
            )
        query_vector = store.query_vector(query)
        index = store.synced_index()
        vector = vector_channel.ranked(index, store.repo, query_vector, flt, pool)
        window = self.time_window(query, now, flt)
        reads = gathering.Reads(store.repo)
        if analysed.match and not keyword.done():  # read the vector side's rows while BM25 finishes
            reads.read_ahead([i for i, _ in vector[:pool]])
        matched = keyword.result() if analysed.match else []
        found, views = gathering.gather(reads, index, analysed, query_vector, matched, vector, flt, window, pool)
        return analysed, found, views, vector

    def time_window(self, query: str, now: object, flt: MemoryFilter) -> tuple[str, str] | None:
        """The window the question's time words name, as ISO UTC bounds."""
        intent = self.intent(query, now, flt)
        return temporal_channel.window_bounds(intent) if intent.has_window else None

    # -- reciprocal rank fusion -----------------------------------------------------------------------------
    def fused(self, query: str, now: object, flt: MemoryFilter, depth: int, wanted: tuple, weights: dict) -> Fused:
        """Channels fused by weighted reciprocal rank (`channels=`/`weights=` ablations, SLM_RANKER=rrf)."""
        store = self.store
        ranked = {}
        if "keyword" in wanted:
            keyword = store.keyword_worker().submit(keyword_channel.ranked, store.keyword_repo, query, flt, depth)
        if {"vector", "fisher"} & set(wanted):
            query_chunks = store.query_chunks(query)
            query_vector = graph.memory_vector(query_chunks)
            nearest = vector_channel.ranked(store.synced_index(), store.repo, query_vector, flt, depth)
            if "vector" in wanted:
                ranked["vector"] = nearest
        if "keyword" in wanted:
            ranked["keyword"] = keyword.result()
        if "fisher" in wanted:
            candidates = list(dict.fromkeys([i for i, _ in nearest] + [i for i, _ in ranked.get("keyword", [])]))
            kept, found = gaussians.of_candidates(store.gaussians, candidates, store.synced_index().first_vectors)
            ranked["fisher"] = fisher_channel.ranked(fisher.Observations.of(query_chunks), kept, found)
        if "graph" in wanted:
            seeds = [(i, score) for i, score, _ in fusion.fuse(ranked, graph_channel.SEEDS, weights)]
            ranked["graph"] = graph_channel.ranked(store.graph, query, seeds, self.graph_filter(flt), depth)
        if "temporal" in wanted:
            intent = self.intent(query, now, flt)
            if intent.has_window or intent.order:
                candidates = [i for i, _, _ in fusion.fuse(ranked, depth)]
                times = store.repo.times_of(candidates)
                ranked["temporal"] = temporal_channel.ranked(intent, candidates, times)
        return fusion.fuse(ranked, depth, weights)

    def graph_filter(self, flt: MemoryFilter) -> Callable[[list[int]], set[int]] | None:
        """What keeps the graph channel inside the recall's filters (it walks the whole graph otherwise); leaving
        out only archived memories takes a set of their (few) ids, not a query per step of the walk."""
        if flt.is_empty and not flt.live:
            return None
        if flt.is_empty:
            archived = set(self.store.lifecycle.archived_ids().tolist())
            return lambda ids: {i for i in ids if i not in archived}
        return lambda ids: self.store.repo.filter_ids(ids, flt)

    # -- time -----------------------------------------------------------------------------------------------
    def intent(self, query: str, now: object, flt: MemoryFilter) -> time_expressions.TimeIntent:
        asked_at = validation.parse_time(now, "now") or validation.now_utc()
        intent = time_expressions.parse(query, datetime.fromisoformat(asked_at[:-1]))
        return self.place_anchor(intent, flt) if intent.anchor is not None else intent

    def place_anchor(self, intent: time_expressions.TimeIntent, flt: MemoryFilter) -> time_expressions.TimeIntent:
        """ "Two days before the trip": when the trip was is the time of the memory that best matches "trip"
        (keyword and vector, same filters); without one, the question keeps only its order words."""
        store = self.store
        anchor = {"keyword": keyword_channel.ranked(store.repo, intent.anchor, flt, ANCHOR_DEPTH)}
        anchor["vector"] = vector_channel.ranked(
            store.synced_index(), store.repo, store.query_vector(intent.anchor), flt, ANCHOR_DEPTH
        )
        best = fusion.fuse(anchor, 1)
        if not best:
            return time_expressions.TimeIntent(order=intent.order)
        when = store.repo.times_of([best[0][0]])[best[0][0]]
        return intent.around(datetime.fromisoformat(when[:-1]))

    # -- weighing -------------------------------------------------------------------------------------------
    def standings(self, ids: list[int], seen: Seen, history: bool = True) -> dict[int, weighing.Standing]:
        """Each memory's trust, lifecycle position and whether it still holds, always read (hits report them),
        weighing the order only where asked; hidden: quarantined or archived, when that weighs and was not asked
        for. Without `history` (an `as_of` recall) nothing counts as superseded."""
        store = self.store
        trusts, positions = store.trust.memory_trusts(ids), store.lifecycle.positions(ids)
        closed = store.claim_repo.closed(ids) if history else set()
        captured = store.repo.with_tag(ids, weighing.CAPTURED_TAG)
        places = [positions.get(memory_id, 0.0) for memory_id in ids]
        standings = {}
        for memory_id, position, zone in zip(ids, places, weighing.zones(places), strict=True):
            trust = trusts.get(memory_id, 1.0)
            hidden = (seen.trust and not seen.quarantined and trust_model.quarantined(trust)) or (
                seen.lifecycle and not seen.archived and zone == ARCHIVED
            )
            standings[memory_id] = weighing.Standing(
                trust, position, hidden, seen.trust, seen.lifecycle, memory_id not in closed, zone,
                memory_id in captured,
            )  # fmt: skip
        return standings
