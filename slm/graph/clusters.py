"""Leiden clusters of the memory graph: two levels, labelled, with ids that survive rebuilds.

The top level maximises modularity; a top-level cluster larger than `SPLIT_SIZE` is split by the constant Potts
model at density `SPLIT_RESOLUTION`; clusters under `MIN_SIZE` are not kept. Leiden runs `ITERATIONS` pass with
the fixed `SEED`, so the same graph always gives the same clusters. Each new cluster takes the id of the old one
it overlaps most (Jaccard ≥ `MATCH_MIN`), so "cluster 12" is still about the same things tomorrow; between
rebuilds a new memory joins the cluster its edges vote for, else the nearest centroid. Why these objectives and
settings, as measured: docs/ARCHITECTURE.md, "Engine", clusters.py.
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

RESOLUTION = 1.0  # modularity, top level
SPLIT_RESOLUTION = 0.1  # CPM, inside a large cluster: its parts' edges must weigh more than 0.1 x their pairs
ITERATIONS = 1
SEED = 20_240_605
MIN_SIZE = 3
SPLIT_SIZE = 100
MATCH_MIN = 0.3
JOIN_MIN = 0.45  # centroid cosine to join without clustered neighbours: 71 % right at 100k (docs/benchmarks.md)
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


def weighted_graph(n: int, pairs: np.ndarray, weights: np.ndarray):
    """An igraph graph on nodes 0..n-1 with a "weight" per edge."""
    import igraph

    g = igraph.Graph(n=n, edges=pairs.tolist())
    g.es["weight"] = weights.tolist()
    return g


def partition(g, objective: str = "modularity", resolution: float = 0.0) -> list[list[int]]:
    """Leiden communities of a weighted graph, largest first: "modularity" (configuration null model) or "cpm"
    (constant Potts, the resolution a density); resolution 0 means this module's setting for that objective."""
    import leidenalg

    kinds = {"modularity": leidenalg.RBConfigurationVertexPartition, "cpm": leidenalg.CPMVertexPartition}
    found = leidenalg.find_partition(
        g,
        kinds[objective],
        weights="weight" if g.ecount() else None,
        resolution_parameter=resolution or (RESOLUTION if objective == "modularity" else SPLIT_RESOLUTION),
        seed=SEED,
        n_iterations=ITERATIONS,
    )
    return sorted((list(c) for c in found), key=len, reverse=True)


def build(
    graph: GraphRepository,
    texts: Callable[[list[int]], dict[int, str]],
    vectors: Callable[[np.ndarray], np.ndarray],
    private: Callable[[list[int]], set[int]],
) -> tuple[list[NewCluster], BuildReport]:
    """Cluster every current memory; `texts` fetches contents (for labels), `vectors` unit mean vectors by id,
    `private` which memories are private to one member (labels, which every agent sees, never draw on them).

    Returns the clusters to store (with ids matched to the previous build) and a report; the caller writes
    them in one transaction.
    """
    began = time.perf_counter()
    ids = graph.current_ids()
    ends, weights = graph.summed_edges()
    g = weighted_graph(len(ids), np.searchsorted(ids, ends), weights)
    communities = partition(g)
    top = [c for c in communities if len(c) >= MIN_SIZE]
    found: list[tuple[int | None, list[int]]] = [(None, ids[c].tolist()) for c in top]
    for parent, members in enumerate(top):
        if len(members) > SPLIT_SIZE:
            found += [(parent, ids[sub].tolist()) for sub in _split(g, members)]
    matched = _match_ids(graph, found)
    all_vectors = vectors(ids)
    labels = _labels(graph, found, texts, private(ids.tolist()))
    clusters = [
        NewCluster(
            id=cluster_id,
            parent_index=parent,
            label=label,
            members=members,
            centroid=_centroid(all_vectors[np.searchsorted(ids, members)]),
        )
        for (parent, members), cluster_id, label in zip(found, matched, labels, strict=True)
    ]
    report = BuildReport(
        memories=len(ids),
        edges=g.ecount(),
        clusters=len(top),
        subclusters=len(found) - len(top),
        unclustered=len(ids) - sum(len(c) for c in top),
        kept_ids=sum(1 for i in matched if i is not None),
        modularity=round(_modularity(g, communities), 4),
        seconds=round(time.perf_counter() - began, 3),
    )
    return clusters, report


def _split(g, members: list[int]) -> list[list[int]]:
    """A large cluster's own denser communities (node positions), when it has more than one worth keeping."""
    subs = [c for c in partition(g.induced_subgraph(members), "cpm") if len(c) >= MIN_SIZE]
    return [[members[i] for i in sub] for sub in subs] if len(subs) > 1 else []


def _match_ids(graph: GraphRepository, found: list[tuple[int | None, list[int]]]) -> list[int | None]:
    """Give each new cluster the id of the old cluster of the same level it overlaps most (greedy, Jaccard).

    Overlaps are counted through the members' old memberships, so the cost grows with the memories, not with
    the number of old clusters times new ones.
    """
    old = graph.memberships()  # memory id -> (top-level cluster, sub-cluster)
    old_size: Counter = Counter()
    for cluster, sub in old.values():
        old_size[cluster] += 1
        if sub is not None:
            old_size[sub] += 1
    candidates = []
    for position, (parent, members) in enumerate(found):
        level = 0 if parent is None else 1
        shared = Counter(old[m][level] for m in members if m in old and old[m][level] is not None)
        for old_id, n in shared.items():
            jaccard = n / (len(members) + old_size[old_id] - n)
            if jaccard >= MATCH_MIN:
                candidates.append((jaccard, n, position, old_id))
    matched: list[int | None] = [None] * len(found)
    taken: set[int] = set()
    for _, _, position, old_id in sorted(candidates, reverse=True):
        if matched[position] is None and old_id not in taken:
            matched[position] = old_id
            taken.add(old_id)
    return matched


def relabel(
    graph: GraphRepository,
    cluster_ids: set[int],
    texts,
    vectors: Callable[[np.ndarray], np.ndarray],
    private: Callable[[list[int]], set[int]],
) -> None:
    """After members left (an erasure) or became private: each of these clusters' label and centroid from the
    members it has now, or the cluster gone when none are left; memberships and every other cluster stay as they
    are. Inside the caller's write transaction."""
    total = graph.clustered_count()
    for cluster_id in sorted(cluster_ids):
        row = graph.cluster(cluster_id)
        members = graph.members(cluster_id)
        if row is None or not members:
            graph.delete_cluster(cluster_id)
            continue
        [label] = _labels(graph, [(row.parent, members)], texts, private(members), total)
        graph.update_cluster(cluster_id, label, _centroid(vectors(np.array(sorted(members), np.int64))))


def _labels(
    graph: GraphRepository,
    found: list[tuple[int | None, list[int]]],
    texts,
    private: set[int],
    total: int | None = None,
) -> list[str]:
    """Each cluster's most distinctive entities (count in the cluster × rarity among `total` clustered memories,
    by default those of `found`), else its distinctive words; neither from the `private` members."""
    total = max(1, total or sum(len(m) for p, m in found if p is None))
    named = graph.entities_of([m for p, members in found if p is None for m in members if m not in private])
    labels = []
    for _, every in found:
        members = [m for m in every if m not in private]
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
        labels.append(" · ".join(parts[:LABEL_PARTS]) or f"{len(every)} memories")
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


def _modularity(g, communities: list[list[int]]) -> float:
    if not g.ecount():
        return 0.0
    membership = np.empty(g.vcount(), np.int64)
    for label, members in enumerate(communities):
        membership[members] = label
    return g.modularity(membership.tolist(), weights="weight")


def join(
    graph: GraphRepository, memory_id: int, vector: np.ndarray, centroids: Callable[[], tuple]
) -> tuple[int, int | None] | None:
    """The cluster (and sub-cluster) a new memory joins: its neighbours' vote, else the nearest centroid.
    `centroids` is called only then: reading them all costs a one-shot `remember` ~50 ms at 100k memories."""
    votes = graph.neighbour_votes(memory_id)
    if votes:
        cluster, sub, _ = votes[0]
        return cluster, sub
    ids, matrix = centroids()
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
