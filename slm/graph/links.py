"""The knowledge graph on the write path: the entities and edges of each new memory.

A memory is linked, in its own write transaction, to
- the entities it names (`slm.graph.entities`: zero-LLM gazetteer and patterns),
- the memories that share its rarer entities (`entity` edges, weighted by rarity),
- its nearest neighbours in embedding space above `SIMILAR_MIN` (`similar` edges, weighted by cosine),
- the previous turn of its conversation (`session` edge): same session when the memory has one, else
  the same agent and project within `SESSION_WINDOW`.

Recall's graph channel walks these links (slm.recall.channels.graph).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from slm.storage.graph import Edge, GraphRepository
from slm.storage.memories import MemoryFields
from slm.validation import format_time

if TYPE_CHECKING:
    from slm.graph.entities import Entity

SIMILAR_LINKS = 5
SIMILAR_MIN = 0.60  # MiniLM cosine: 0.04% of unrelated pairs, 66% of adjacent turns reach it (docs/benchmarks.md)
ENTITY_LINKS = 8
COMMON_ENTITY = (50, 0.02)  # an entity named by more than max(50, 2% of memories) is too common to link by
SESSION_WINDOW = timedelta(minutes=30)


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
    graph: GraphRepository,
    memory_id: int,
    memory: MemoryFields,
    similar: list[tuple[int, float]],
    total: int,
    found: list[Entity] | None = None,
    set_elsewhere: Callable[[int], bool] | None = None,
) -> None:
    """Inside the write transaction: the memory's entities (`found`, when the caller has them) and its edges,
    but for the edges to memories `set_elsewhere` names (an import replaces those by its file's anyway);
    `every_other` names them all, and then the neighbours are not even looked up."""
    if found is None:
        from slm.graph.entities import extract  # its finders cost ~15 ms to import; a recall never links

        found = extract(memory.content)
    graph.link_entities(memory_id, found)
    if set_elsewhere is every_other:
        return
    kept = (lambda other: True) if set_elsewhere is None else (lambda other: not set_elsewhere(other))
    edges = [Edge(memory_id, other, "similar", round(score, 4)) for other, score in similar if kept(other)]
    common = max(COMMON_ENTITY[0], int(COMMON_ENTITY[1] * total))
    edges += [
        Edge(memory_id, other, "entity", round(weight, 4))
        for other, weight in graph.shared_entity_neighbours(memory_id, common, ENTITY_LINKS)
        if kept(other)
    ]
    previous = previous_turn(graph, memory_id, memory)
    if previous is not None and kept(previous):
        edges.append(Edge(previous, memory_id, "session", 1.0))
    graph.add_edges(edges)


def every_other(memory_id: int) -> bool:
    """For `link`: every other memory's edges are set elsewhere (an import into a store holding only its own)."""
    return True


def previous_turn(graph: GraphRepository, memory_id: int, memory: MemoryFields) -> int | None:
    if memory.session is not None:
        return graph.previous_in_session(memory_id, memory.session, memory.project)
    when = datetime.fromisoformat((memory.event_time or memory.created_at).replace("Z", "+00:00"))
    start, end = format_time(when - SESSION_WINDOW), format_time(when)
    return graph.previous_in_window(memory_id, memory.agent, memory.project, start, end)
