"""The knowledge graph on the write path (entities and edges of each new memory) and in recall (the graph channel).

A memory is linked, in its own write transaction, to
- the entities it names (`slm.graph.entities`: zero-LLM gazetteer and patterns),
- the memories that share its rarer entities (`entity` edges, weighted by rarity),
- its nearest neighbours in embedding space above `SIMILAR_MIN` (`similar` edges, weighted by cosine),
- the previous turn of its conversation (`session` edge): same session when the memory has one, else
  the same agent and project within `SESSION_WINDOW`.

The graph channel spreads activation from the query's entities and the other channels' best memories by
personalised PageRank over the few-hop neighbourhood of those seeds, so memories that the query's words miss
but that share rare entities with what it found (the note naming the same service, file or person) come forward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from slm.graph import entities as entity_extraction
from slm.storage.graph import Edge, GraphRepository
from slm.storage.memories import MemoryFields
from slm.validation import format_time

SIMILAR_LINKS = 5
SIMILAR_MIN = 0.60  # MiniLM cosine: 0.04% of unrelated pairs, 66% of adjacent turns reach it (docs/benchmarks.md)
ENTITY_LINKS = 8
COMMON_ENTITY = (50, 0.02)  # an entity named by more than max(50, 2% of memories) is too common to link by
SESSION_WINDOW = timedelta(minutes=30)

SEEDS = 10  # the fused keyword+vector memories that seed the walk
ENTITY_FANOUT = 50  # memories taken per query entity
HOPS = 2
FRONTIER = 30  # the next hop leaves from the first 30 memories reached (the strongest seeds' neighbours)
MAX_NODES = 300  # bounds the walk's cost at 100k memories; no change on LongMemEval from 150 to 3,000
DAMPING = 0.5  # PageRank's continue probability: low keeps the walk close to its seeds
ENTITY_SEED_SHARE = 0.3  # of the restart mass, when the query names known entities
# How much the walk follows each kind of edge, by ablation (docs/benchmarks.md): session and similar edges pull
# in the question's neighbours rather than its answers, and the vector channel already finds similar memories;
# shared rare entities are what the graph adds. All three kinds still shape the clusters.
ENTITY_EDGE, SIMILAR_EDGE, SESSION_EDGE = 1.0, 0.0, 0.0


@dataclass(frozen=True)
class PlannedLinks:
    """A new memory's nearest neighbours, found before the write lock: stored ids, or positions in its batch."""

    stored: list[tuple[int, float]]
    in_batch: list[tuple[int, float]]


def memory_vector(chunk_vectors: np.ndarray) -> np.ndarray:
    vector = chunk_vectors.mean(axis=0)
    return vector / (np.linalg.norm(vector) or 1.0)


def plan_similar(index, vectors: np.ndarray) -> list[PlannedLinks]:
    """Nearest stored memories and nearest earlier memories of the same batch, for each new memory's vector."""
    stored = index.search_many(vectors, SIMILAR_LINKS)
    within = vectors @ vectors.T
    plans = []
    for position, hits in enumerate(stored):
        earlier = [(j, float(within[position, j])) for j in range(position) if within[position, j] >= SIMILAR_MIN]
        earlier = sorted(earlier, key=lambda pair: -pair[1])[:SIMILAR_LINKS]
        plans.append(PlannedLinks([(i, s) for i, s in hits if s >= SIMILAR_MIN], earlier))
    return plans


def link(
    graph: GraphRepository, memory_id: int, memory: MemoryFields, similar: list[tuple[int, float]], total: int
) -> None:
    """Inside the write transaction: the memory's entities and its edges."""
    graph.link_entities(memory_id, entity_extraction.extract(memory.content))
    edges = [Edge(memory_id, other, "similar", round(score, 4)) for other, score in similar]
    common = max(COMMON_ENTITY[0], int(COMMON_ENTITY[1] * total))
    edges += [
        Edge(memory_id, other, "entity", round(weight, 4))
        for other, weight in graph.shared_entity_neighbours(memory_id, common, ENTITY_LINKS)
    ]
    previous = previous_turn(graph, memory_id, memory)
    if previous is not None:
        edges.append(Edge(previous, memory_id, "session", 1.0))
    graph.add_edges(edges)


def previous_turn(graph: GraphRepository, memory_id: int, memory: MemoryFields) -> int | None:
    if memory.session is not None:
        return graph.previous_in_session(memory_id, memory.session, memory.project)
    when = datetime.fromisoformat((memory.event_time or memory.created_at).replace("Z", "+00:00"))
    start, end = format_time(when - SESSION_WINDOW), format_time(when)
    return graph.previous_in_window(memory_id, memory.agent, memory.project, start, end)


# -- the graph channel ------------------------------------------------------------------------------------------
def graph_channel(
    graph: GraphRepository,
    query: str,
    seeds: list[tuple[int, float]],
    keep: Callable[[list[int]], set[int]] | None,
    depth: int,
) -> list[tuple[int, float]]:
    """Memories ranked by personalised PageRank from the query's entities and the seed memories.

    `seeds` are (memory id, fused score), best first; `keep(ids)` returns those that pass the recall's filters
    (None: every current memory passes). Empty when there is nothing to start from.
    """
    import igraph

    seed_weights = dict(seeds[:SEEDS])
    named = graph.entities_by_key(e.key for e in entity_extraction.extract(query))
    entity_links = graph.memories_naming([e.id for e in named], ENTITY_FANOUT)
    if not seed_weights and not entity_links:
        return []
    follow = {"entity": ENTITY_EDGE, "similar": SIMILAR_EDGE, "session": SESSION_EDGE}
    nodes, edges = _neighbourhood(graph, list(seed_weights) + [m for _, m in entity_links], follow)
    index = {memory_id: i for i, memory_id in enumerate(nodes)}
    entity_nodes = {e.id: len(nodes) + i for i, e in enumerate(named)}
    pairs = [(index[e.source], index[e.target]) for e in edges]
    weights = [e.weight for e in edges]  # already scaled by `follow`
    for entity_id, memory_id in entity_links:
        pairs.append((entity_nodes[entity_id], index[memory_id]))
        weights.append(1.0)
    g = igraph.Graph(n=len(nodes) + len(entity_nodes), edges=pairs)
    reset = _restart(len(nodes) + len(entity_nodes), index, seed_weights, list(entity_nodes.values()))
    ranks = g.personalized_pagerank(damping=DAMPING, reset=reset.tolist(), weights=weights or None, directed=False)
    allowed = None if keep is None else keep(nodes)
    scored = [(memory_id, ranks[i]) for memory_id, i in index.items() if allowed is None or memory_id in allowed]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))[:depth]


def _neighbourhood(graph: GraphRepository, start: list[int], follow: dict[str, float]) -> tuple[list[int], list[Edge]]:
    """The memories within `HOPS` followed edges of `start` (at most `MAX_NODES`) and those edges among them.

    When a cap bites, the neighbours of the stronger start memories (earlier in `start`), over heavier edges,
    come first.
    """
    nodes = list(dict.fromkeys(start))
    seen, frontier, kept = set(nodes), nodes, {}
    kinds = [kind for kind, weight in follow.items() if weight > 0]
    for _ in range(HOPS if kinds else 0):
        reached = []
        order = {memory_id: i for i, memory_id in enumerate(frontier)}
        far = len(order)
        for edge in sorted(
            graph.edges_of(frontier, kinds),
            key=lambda e: (min(order.get(e.source, far), order.get(e.target, far)), -e.weight),
        ):
            kept[(edge.source, edge.target, edge.kind)] = edge
            for end in (edge.source, edge.target):
                if end not in seen and len(seen) < MAX_NODES:
                    seen.add(end)
                    reached.append(end)
        nodes += reached
        frontier = reached[:FRONTIER]
        if not frontier:
            break
    inside = set(nodes)
    return nodes, [
        Edge(e.source, e.target, e.kind, e.weight * follow[e.kind])
        for e in kept.values()
        if e.source in inside and e.target in inside
    ]


def _restart(size: int, index: dict[int, int], seeds: dict[int, float], entity_nodes: list[int]) -> np.ndarray:
    """Where the walk restarts: the seeds in proportion to their fused scores, plus the query's entities."""
    reset = np.zeros(size)
    total = sum(seeds.values())
    for memory_id, score in seeds.items():
        reset[index[memory_id]] = score / total
    if entity_nodes:
        share = ENTITY_SEED_SHARE if seeds else 1.0
        reset *= 1 - share
        reset[entity_nodes] += share / len(entity_nodes)
    return reset
