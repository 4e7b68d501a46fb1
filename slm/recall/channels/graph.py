"""The graph channel: personalised PageRank from the query's entities and the other channels' best memories over
the few-hop neighbourhood of those seeds, so memories the query's words miss but that share rare entities with what
it found (the note naming the same service, file or person) come forward."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slm.storage.graph import Edge, GraphRepository

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


def ranked(
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

    from slm.graph import entities as entity_extraction  # only this channel, which the default recall skips

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
