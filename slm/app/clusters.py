"""Leiden clusters of the memory graph: built in one pass, split when large, labelled, stable across rebuilds.

Objective and resolution were chosen by measurement (docs/benchmarks.md, `benchmarks/graph.py`): the
constant Potts model (CPM) at density `RESOLUTION`, with the fixed `SEED`, so that the same graph always gives
the same clusters. Modularity matched conversations as well at its best resolution, but that resolution depends
on the graph's size (modularity's resolution limit): tuned on 500 memories it shattered an 18-memory store, while
a CPM density means the same at any size. A cluster larger than `SPLIT_SIZE` is clustered again on its own
subgraph at the higher density `SPLIT_RESOLUTION` (one more level). Clusters smaller than `MIN_SIZE` are not kept: their
memories stay unclustered until they join one.

Ids survive rebuilds: each new cluster takes the id of the old cluster it overlaps most (Jaccard ≥
`MATCH_MIN`, greedily, best overlap first), so a user's "cluster 12" is still about the same things tomorrow.
Between rebuilds a new memory joins the cluster its edges vote for, else the one whose centroid is nearest.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from slm.storage.graph import GraphRepository, NewCluster

OBJECTIVE = "cpm"
RESOLUTION = 0.1  # CPM: a cluster's edges must weigh more than 0.1 x its pairs of members
SPLIT_RESOLUTION = 0.3  # a large cluster splits into denser parts
SEED = 20_240_605
MIN_SIZE = 3
SPLIT_SIZE = 150
MATCH_MIN = 0.3
JOIN_MIN = 0.45  # centroid cosine a memory without clustered neighbours needs to join a cluster
KIND_WEIGHTS = {"session": 1.0, "similar": 1.0, "entity": 1.0}
LABEL_PARTS = 3
LABEL_SAMPLE = 60  # member texts read for a label when entities do not make one

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOP = frozenset(
    """about above after again against also been before being below between both could does doing down during each
    from further have having here into just more most other over same should some such than that their theirs them
    then there these they this those through under until very what when where which while will with would your
    yours ours shall might must like make made want need know think thing things really well going getting sure
    help here's it's that's there's what's i'm you're don't can't won't didn't doesn't isn't let's great good also
    many much lot lots able maybe okay yes""".split()  # noqa: SIM905 - a word list reads best as words
)


@dataclass(frozen=True)
class BuildReport:
    memories: int
    edges: int
    clusters: int
    subclusters: int
    unclustered: int
    kept_ids: int  # clusters that kept an id from the previous build
    modularity: float
    seconds: float

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def partition(
    n: int, edges: list[tuple[int, int]], weights: list[float], objective: str = "", resolution: float = 0.0
) -> list[list[int]]:
    """Leiden communities of a weighted undirected graph on nodes 0..n-1, largest first.

    `objective` is "cpm" (constant Potts: the resolution is a density) or "modularity" (configuration null
    model); empty and 0 mean `OBJECTIVE` and `RESOLUTION`. `benchmarks/graph.py` measures both.
    """
    import igraph
    import leidenalg

    kinds = {"modularity": leidenalg.RBConfigurationVertexPartition, "cpm": leidenalg.CPMVertexPartition}
    g = igraph.Graph(n=n, edges=edges)
    found = leidenalg.find_partition(
        g,
        kinds[objective or OBJECTIVE],
        weights=weights or None,
        resolution_parameter=resolution or RESOLUTION,
        seed=SEED,
        n_iterations=-1,  # until stable
    )
    return sorted((list(c) for c in found), key=len, reverse=True)


def build(
    graph: GraphRepository,
    texts: Callable[[list[int]], dict[int, str]],
    vectors: Callable[[np.ndarray], np.ndarray],
    built_at: str,
) -> tuple[list[NewCluster], BuildReport]:
    """Cluster every current memory; `texts` fetches contents (for labels), `vectors` unit mean vectors by id.

    Returns the clusters to store (with ids matched to the previous build) and a report; the caller writes
    them in one transaction.
    """
    began = time.perf_counter()
    ids = graph.current_ids()
    pairs, weights = _weighted_edges(graph, ids)
    communities = partition(len(ids), pairs, weights)
    top = [c for c in communities if len(c) >= MIN_SIZE]
    found: list[tuple[int | None, list[int]]] = [(None, [int(ids[i]) for i in c]) for c in top]
    adjacency = _adjacency(len(ids), pairs, weights) if any(len(c) > SPLIT_SIZE for c in top) else None
    for parent, members in enumerate(top):
        if len(members) > SPLIT_SIZE:
            found += [(parent, [int(ids[i]) for i in sub]) for sub in _split(members, adjacency)]
    matched = _match_ids(graph, found)
    all_vectors = vectors(ids)
    clusters = [
        NewCluster(
            id=cluster_id,
            parent_index=parent,
            label=label,
            members=members,
            centroid=_centroid(all_vectors[np.searchsorted(ids, members)]),
        )
        for (parent, members), cluster_id, label in zip(found, matched, _labels(graph, found, texts), strict=True)
    ]
    report = BuildReport(
        memories=len(ids),
        edges=len(pairs),
        clusters=len(top),
        subclusters=len(found) - len(top),
        unclustered=len(ids) - sum(len(c) for c in top),
        kept_ids=sum(1 for i in matched if i is not None),
        modularity=round(_modularity(len(ids), pairs, weights, communities), 4),
        seconds=round(time.perf_counter() - began, 3),
    )
    return clusters, report


def _weighted_edges(graph: GraphRepository, ids: np.ndarray) -> tuple[list[tuple[int, int]], list[float]]:
    """Edges as node positions, parallel edges of different kinds summed into one weight."""
    summed: dict[tuple[int, int], float] = {}
    for edge in graph.all_edges():
        key = (edge.source, edge.target)
        summed[key] = summed.get(key, 0.0) + KIND_WEIGHTS.get(edge.kind, 1.0) * edge.weight
    if not summed:
        return [], []
    ends = np.array(list(summed), np.int64)
    positions = np.searchsorted(ids, ends)
    return list(map(tuple, positions.tolist())), list(summed.values())


def _adjacency(n: int, pairs: list[tuple[int, int]], weights: list[float]) -> list[list[tuple[int, float]]]:
    adjacency: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for (a, b), w in zip(pairs, weights, strict=True):
        adjacency[a].append((b, w))
        adjacency[b].append((a, w))
    return adjacency


def _split(members: list[int], adjacency: list[list[tuple[int, float]]]) -> list[list[int]]:
    """A large cluster's own communities (node positions), when it has more than one worth keeping."""
    local = {node: i for i, node in enumerate(members)}
    pairs, weights = [], []
    for node in members:
        for other, w in adjacency[node]:
            if node < other and other in local:
                pairs.append((local[node], local[other]))
                weights.append(w)
    subs = [c for c in partition(len(members), pairs, weights, resolution=SPLIT_RESOLUTION) if len(c) >= MIN_SIZE]
    return [[members[i] for i in sub] for sub in subs] if len(subs) > 1 else []


def _match_ids(graph: GraphRepository, found: list[tuple[int | None, list[int]]]) -> list[int | None]:
    """Give each new cluster the id of the old cluster of the same level it overlaps most (greedy, Jaccard)."""
    old_members: dict[int, set[int]] = {}
    for memory_id, (cluster, sub) in graph.memberships().items():
        old_members.setdefault(cluster, set()).add(memory_id)
        if sub is not None:
            old_members.setdefault(sub, set()).add(memory_id)
    old_level = {c.id: c.parent is None for c in graph.clusters(all_levels=True)}
    candidates = []
    for position, (parent, members) in enumerate(found):
        new = set(members)
        for old_id, old in old_members.items():
            if old_level.get(old_id) != (parent is None):
                continue
            shared = len(new & old)
            if shared and (jaccard := shared / len(new | old)) >= MATCH_MIN:
                candidates.append((jaccard, shared, position, old_id))
    matched: list[int | None] = [None] * len(found)
    taken: set[int] = set()
    for _, _, position, old_id in sorted(candidates, reverse=True):
        if matched[position] is None and old_id not in taken:
            matched[position] = old_id
            taken.add(old_id)
    return matched


def _labels(graph: GraphRepository, found: list[tuple[int | None, list[int]]], texts) -> list[str]:
    """Each cluster's most distinctive entities (count in the cluster × rarity), else its distinctive words."""
    total = max(1, sum(len(m) for p, m in found if p is None))
    named = graph.entities_of([m for p, members in found if p is None for m in members])
    labels = []
    for _, members in found:
        counts: Counter = Counter()
        rows = {}
        for memory_id in members:
            for entity in named.get(memory_id, ()):
                counts[entity.id] += 1
                rows[entity.id] = entity
        scored = sorted(
            ((n * math.log(1 + total / rows[e].memories), rows[e].name) for e, n in counts.items() if n >= 2),
            reverse=True,
        )
        parts = [name for _, name in scored[:LABEL_PARTS]]
        if len(parts) < 2:
            parts += [w for w in _top_words(texts(members[:LABEL_SAMPLE])) if w.lower() not in map(str.lower, parts)]
        labels.append(" · ".join(parts[:LABEL_PARTS]) or f"{len(members)} memories")
    return labels


def _top_words(texts: dict[int, str]) -> list[str]:
    """Words that many of the texts use (document frequency), skipping function words."""
    counts: Counter = Counter()
    for text in texts.values():
        counts.update({w.lower() for w in _WORD.findall(text)} - _STOP)
    return [w for w, n in counts.most_common(LABEL_PARTS) if n >= 2]


def _centroid(matrix: np.ndarray) -> np.ndarray | None:
    if not len(matrix):
        return None
    vector = matrix.mean(axis=0)
    norm = np.linalg.norm(vector)
    return (vector / norm).astype(np.float32) if norm else None


def _modularity(n: int, pairs, weights, communities: list[list[int]]) -> float:
    if not pairs:
        return 0.0
    import igraph

    membership = np.empty(n, np.int64)
    for label, members in enumerate(communities):
        membership[members] = label
    return igraph.Graph(n=n, edges=pairs).modularity(membership.tolist(), weights=weights)


def join(graph: GraphRepository, memory_id: int, vector: np.ndarray, centroids) -> tuple[int, int | None] | None:
    """The cluster (and sub-cluster) a new memory joins: its neighbours' vote, else the nearest centroid."""
    votes = graph.neighbour_votes(memory_id)
    if votes:
        cluster, sub, _ = votes[0]
        return cluster, sub
    ids, matrix = centroids
    if matrix is None or not len(ids):
        return None
    scores = matrix @ vector.astype(np.float32)
    tops = [i for i, (_, parent) in enumerate(ids) if parent is None]
    if not tops:
        return None
    best = max(tops, key=lambda i: scores[i])
    if scores[best] < JOIN_MIN:
        return None
    cluster = ids[best][0]
    children = [i for i, (_, parent) in enumerate(ids) if parent == cluster]
    sub = ids[max(children, key=lambda i: scores[i])][0] if children else None
    return cluster, sub
