"""The knowledge graph as callers use it: linking what was stored before the graph existed, building and
relabelling Leiden clusters, and reading clusters and a memory's neighbourhood."""

from __future__ import annotations

import numpy as np

from slm import faults, validation
from slm.core.callers import Caller
from slm.core.writer import CLUSTERS_BUILT, EMBED_BATCH, Progress
from slm.embedding import choice as model_choice
from slm.errors import NotFound
from slm.graph import clusters, links
from slm.storage import erasure as erasure_sql
from slm.storage import portable as portable_sql
from slm.storage.settings import delete_setting, get_setting, set_settings

UNLINKED = "graph.unlinked_through"  # memories stored before the graph existed, linked by the next build


class KnowledgeGraph:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.store = caller.store
        self.repo = caller.store.graph

    def build(self, progress: Progress | None) -> clusters.BuildReport:
        """Link memories stored before the graph existed, then rebuild the Leiden clusters (ids kept by overlap)."""
        self._link_unlinked(progress)
        built_at = validation.event_time()
        found, report = clusters.build(self.repo, self._texts, self.store.synced_index().mean_vectors, self._private)
        faults.step("graph.clustered")
        with self.store.conn.write_transaction():
            self.repo.replace_clusters(found, built_at)
            set_settings(self.store.conn, {CLUSTERS_BUILT: built_at})
            faults.step("graph.replaced")
        return report

    def relabel(self, cluster_ids: set[int]) -> None:
        with self.store.conn.write_transaction():
            clusters.relabel(self.repo, cluster_ids, self._texts, self._stored_mean_vectors, self._private)

    def _stored_mean_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Unit mean chunk vectors of a few memories, read from the store: loading the whole mirror for them would
        cost more (1.1 s at 100k)."""
        conn = self.store.conn
        dim = model_choice.recorded_dim(conn) or 0
        found: dict = {}
        for part in erasure_sql.chunks(ids.tolist()):
            found |= portable_sql.embeddings(conn, part, dim)
        return np.vstack([links.memory_vector(found[i][1]) if i in found else np.zeros(dim, np.float32) for i in ids])

    def _link_unlinked(self, progress: Progress | None) -> None:
        conn, repo = self.store.conn, self.store.repo
        through = get_setting(conn, UNLINKED)
        if through is None:
            return
        index, after = self.store.synced_index(), 0
        while ids := self.repo.unlinked_ids(after, int(through), EMBED_BATCH):
            rows = [row for row in repo.get_many(ids) if row.superseded_by is None]
            vectors = index.mean_vectors(np.array([row.id for row in rows], np.int64))
            plans = links.plan_similar(index, vectors)
            total = repo.row_count()
            with conn.write_transaction():
                for row, plan in zip(rows, plans, strict=True):
                    links.link(self.repo, row.id, row, plan.stored, total)
            after = ids[-1]
            faults.step("graph.linked")
            if progress:
                progress(len(ids))
        with conn.write_transaction():
            delete_setting(conn, UNLINKED)

    def _private(self, ids: list[int]) -> set[int]:
        repo = self.store.repo
        return set(repo.private_to(ids)) if repo.has_private() else set()

    def _texts(self, ids: list[int]) -> dict[int, str]:
        return {row.id: row.content for row in self.store.repo.get_many(ids)}

    def is_stale(self) -> bool:
        """Whether clusters should be rebuilt: never built, memories not yet linked, or a quarter unclustered."""
        conn = self.store.conn
        if get_setting(conn, UNLINKED) is not None:
            return True
        memories = self.store.repo.count()
        if get_setting(conn, CLUSTERS_BUILT) is None:
            return memories >= clusters.MIN_SIZE
        return memories - self.repo.clustered_count() > max(20, memories // 4)

    def top_clusters(self, project: str | None, refresh: bool) -> list[dict]:
        if project is not None:
            project = validation.clean_name(project, "project", "")
            if project in self.caller.projects_kept_from():
                return []  # as for a project that does not exist
        if refresh and self.is_stale():
            self.build(None)
        sizes = self.repo.sizes(project)
        rows = [row for row in self.repo.clusters() if sizes.get(row.id)]
        subs: dict[int, list[dict]] = {}
        for row in rows:
            if row.parent is not None:
                subs.setdefault(row.parent, []).append({"id": row.id, "label": row.label, "size": sizes[row.id]})
        summary = [
            {
                "id": row.id,
                "label": row.label,
                "size": sizes[row.id],
                "subclusters": _largest_first(subs.get(row.id, [])),
            }
            for row in rows
            if row.parent is None
        ]
        return _largest_first(summary)

    def cluster(self, cluster_id: int, limit: int) -> dict:
        cluster_id = validation.clean_id(cluster_id, "cluster id")
        limit = validation.clean_limit(limit, "limit", 10_000)
        row = self.repo.cluster(cluster_id)
        if row is None:
            raise NotFound(f"no cluster with id {cluster_id}", "list the clusters to see their ids", what="cluster")
        members = self.repo.members(cluster_id)
        sizes = self.repo.sizes()
        counts: dict[str, int] = {}
        for found in self.repo.entities_of(members).values():
            for entity in found:
                counts[entity.name] = counts.get(entity.name, 0) + 1
        subclusters = [
            {"id": c.id, "label": c.label, "size": sizes.get(c.id, 0)}
            for c in self.repo.clusters()
            if c.parent == row.id
        ]
        return {
            "id": row.id,
            "label": row.label,
            "size": len(members),
            "parent": row.parent,
            "built_at": row.built_at,
            "subclusters": _largest_first(subclusters),
            "entities": sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:10],
            "memories": self.store.repo.get_many(members[:limit]),
        }

    def neighbors(self, memory_id: int, limit: int) -> dict:
        row = self.caller.get(memory_id)
        limit = validation.clean_limit(limit, "limit", 10_000)
        strength: dict[int, dict[str, float]] = {}
        for edge in self.repo.edges_of([row.id]):
            other = edge.target if edge.source == row.id else edge.source
            strength.setdefault(other, {})[edge.kind] = edge.weight
        best = sorted(strength, key=lambda i: (-sum(strength[i].values()), i))[:limit]
        cluster, sub = self.repo.membership_of([row.id]).get(row.id, (None, None))
        return {
            "memory": row,
            "cluster": cluster,
            "subcluster": sub,
            "entities": [{"name": e.name, "kind": e.kind} for e in self.repo.entities_of([row.id]).get(row.id, [])],
            "neighbors": [{"memory": other, "edges": strength[other.id]} for other in self.store.repo.get_many(best)],
        }

    def stats(self) -> dict:
        """Counts of the graph's parts, for `benchmarks/graph.py`'s reports."""
        conn = self.store.conn
        every = self.repo.clusters()
        tops = sum(1 for c in every if c.parent is None)
        return {
            "entities": self.repo.entity_count(),
            "edges": self.repo.edge_counts(),
            "clusters": tops,
            "subclusters": len(every) - tops,
            "clustered": self.repo.clustered_count(),
            "clusters_built_at": get_setting(conn, CLUSTERS_BUILT),
            "unlinked_memories": get_setting(conn, UNLINKED) is not None,
        }


def _largest_first(found: list[dict]) -> list[dict]:
    return sorted(found, key=lambda c: (-c["size"], c["id"]))
