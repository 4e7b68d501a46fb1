"""The knowledge graph's tables: entities and their memories, memory-memory edges, clusters and membership.

Reads see current memories only (an updated memory's old version keeps its rows as history until it is
forgotten, when the cascades remove them). Writes are called inside the caller's write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

_CURRENT = "superseded_by IS NULL"


@dataclass(frozen=True)
class EntityRow:
    id: int
    key: str
    name: str
    kind: str
    memories: int  # how many memories name it


@dataclass(frozen=True)
class Edge:
    source: int
    target: int
    kind: str  # entity, similar, session
    weight: float


@dataclass(frozen=True)
class ClusterRow:
    id: int
    parent: int | None  # None for a top-level cluster
    label: str
    built_at: str


@dataclass(frozen=True)
class NewCluster:
    """A cluster as a rebuild found it; `id` is an old cluster's when it matched one, else None (a new id)."""

    id: int | None
    parent_index: int | None  # position of the parent among the rebuild's top-level clusters
    label: str
    members: list[int]
    centroid: np.ndarray | None


class GraphRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    # -- entities -------------------------------------------------------------------------------------------
    def link_entities(self, memory_id: int, entities: Iterable) -> None:
        """Record that a memory names these entities (objects with key, name, kind); new entities are created."""
        if self.conn.backend == "postgres":
            self._link_entities_pg(memory_id, list(entities))
            return
        for entity in entities:
            entity_id = self.conn.execute(
                "INSERT INTO entities (key, name, kind) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET key = entities.key RETURNING id",
                (entity.key, entity.name, entity.kind),
            ).fetchone()[0]
            self.conn.execute(
                "INSERT INTO memory_entities (memory_id, entity_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (memory_id, entity_id),
            )

    def _link_entities_pg(self, memory_id: int, entities: list) -> None:
        """Two statements whatever the number of entities, neither read: in a pipelined write transaction they
        cost no round trip (a RETURNING per entity cost one each, 4.5 a remember). The first row of a key names
        it, as the loop's first insert does."""
        if not entities:
            return
        self.conn.execute(
            "INSERT INTO entities (key, name, kind) SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), "
            "CAST(? AS text[])) ON CONFLICT (key) DO NOTHING",
            ([e.key for e in entities], [e.name for e in entities], [e.kind for e in entities]),
        )
        self.conn.execute(
            "INSERT INTO memory_entities (memory_id, entity_id) SELECT ?, id FROM entities "
            "WHERE key = ANY(CAST(? AS text[])) ON CONFLICT DO NOTHING",
            (memory_id, [e.key for e in entities]),
        )

    def entities_by_key(self, keys: Iterable[str]) -> list[EntityRow]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.conn.execute(
            f"SELECT id, key, name, kind, memories FROM entities WHERE key IN ({marks}) AND memories > 0", keys
        ).fetchall()
        return [EntityRow(*r) for r in rows]

    def entities_of(self, memory_ids: list[int]) -> dict[int, list[EntityRow]]:
        found: dict[int, list[EntityRow]] = {}
        for chunk in _chunks(memory_ids):
            marks = ",".join("?" * len(chunk))
            for memory_id, *entity in self.conn.execute(
                "SELECT me.memory_id, e.id, e.key, e.name, e.kind, e.memories FROM memory_entities me "
                f"JOIN entities e ON e.id = me.entity_id WHERE me.memory_id IN ({marks}) ORDER BY e.memories, e.id",
                chunk,
            ):
                found.setdefault(memory_id, []).append(EntityRow(*entity))
        return found

    def memories_naming(self, entity_ids: list[int], limit: int) -> list[tuple[int, int]]:
        """(entity id, memory id) for current memories that name each entity, at most `limit` per entity."""
        pairs: list[tuple[int, int]] = []
        for entity_id in entity_ids:
            pairs += [
                (entity_id, r[0])
                for r in self.conn.execute(
                    "SELECT me.memory_id FROM memory_entities me JOIN memories m ON m.id = me.memory_id "
                    f"WHERE me.entity_id = ? AND m.{_CURRENT} ORDER BY me.memory_id DESC LIMIT ?",
                    (entity_id, limit),
                )
            ]
        return pairs

    def shared_entity_neighbours(self, memory_id: int, max_memories: int, limit: int) -> list[tuple[int, float]]:
        """Current memories that share entities with `memory_id`, weighted by the entities' rarity (sum of
        1 / ln(1 + n) over shared entities named by n memories); entities named by more than `max_memories`
        say too little to link by."""
        return self.conn.execute(
            "SELECT other.memory_id, sum(1.0 / ln(1.0 + e.memories)) AS w "
            "FROM memory_entities mine JOIN entities e ON e.id = mine.entity_id "
            "JOIN memory_entities other ON other.entity_id = mine.entity_id AND other.memory_id != mine.memory_id "
            f"JOIN memories m ON m.id = other.memory_id AND m.{_CURRENT} "
            "WHERE mine.memory_id = ? AND e.memories BETWEEN 2 AND ? "
            "GROUP BY other.memory_id ORDER BY w DESC, other.memory_id DESC LIMIT ?",
            (memory_id, max_memories, limit),
        ).fetchall()

    def entity_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM entities WHERE memories > 0").fetchone()[0]

    # -- conversation neighbours ----------------------------------------------------------------------------
    def previous_in_session(self, memory_id: int, session: str, project: str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM memories WHERE project = ? AND session = ? AND id < ? "
            f"AND {_CURRENT} ORDER BY id DESC LIMIT 1",
            (project, session, memory_id),
        ).fetchone()
        return row[0] if row else None

    def previous_in_window(self, memory_id: int, agent: str, project: str, start: str, end: str) -> int | None:
        """The latest earlier memory by the same agent in the same project whose time falls in [start, end].

        `+agent` keeps SQLite on the time index: on the agent index, a store whose memories are nearly all the
        user's scanned 100k rows (~0.3 s) for every `slm remember` with no earlier memory in the window."""
        row = self.conn.execute(
            "SELECT id FROM memories WHERE coalesce(event_time, created_at) BETWEEN ? AND ? AND id < ? "
            f"AND {self.conn.dialect.unindexed('agent')} = ? AND project = ? AND {_CURRENT} ORDER BY id DESC LIMIT 1",
            (start, end, memory_id, agent, project),
        ).fetchone()
        return row[0] if row else None

    # -- edges ----------------------------------------------------------------------------------------------
    def add_edges(self, edges: Iterable[Edge]) -> None:
        """Store undirected edges (once, as source < target); an edge to a memory deleted meanwhile is skipped."""
        rows = [
            (min(e.source, e.target), max(e.source, e.target), e.kind, float(e.weight))
            for e in edges
            if e.source != e.target and e.weight > 0
        ]
        self.conn.executemany(
            "INSERT INTO memory_edges (source, target, kind, weight) SELECT ?1, ?2, ?3, ?4 "
            "WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?1) AND EXISTS (SELECT 1 FROM memories WHERE id = ?2) "
            "ON CONFLICT (source, target, kind) "
            f"DO UPDATE SET weight = {self.conn.dialect.greatest('memory_edges.weight', 'excluded.weight')}",
            rows,
        )

    def edges_of(self, memory_ids: list[int], kinds: list[str] | None = None) -> list[Edge]:
        """Every edge (of `kinds`, default all) touching these memories whose both ends are current.

        Two index lookups per id (as source, as target) and the few superseded ids filtered in Python: joining
        both ends to `memories` cost more than the rest of the graph channel at 100k memories.
        """
        kind_filter = f"AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        superseded = {r[0] for r in self.conn.execute("SELECT id FROM memories WHERE superseded_by IS NOT NULL")}
        edges: list[Edge] = []
        for chunk in _chunks(memory_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT source, target, kind, weight FROM memory_edges WHERE source IN ({marks}) {kind_filter} "
                f"UNION ALL SELECT source, target, kind, weight FROM memory_edges WHERE target IN ({marks}) "
                f"{kind_filter}",
                [*chunk, *(kinds or []), *chunk, *(kinds or [])],
            )
            edges += [Edge(*r) for r in rows if r[0] not in superseded and r[1] not in superseded]
        return list(dict.fromkeys(edges))  # an edge between two of the ids came twice

    def summed_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of current memories that an edge links, as an (m, 2) id array, and the summed weight of the
        pair's edges of all kinds (for a rebuild)."""
        rows = self.conn.execute(
            "SELECT e.source, e.target, sum(e.weight) FROM memory_edges e "
            f"JOIN memories a ON a.id = e.source AND a.{_CURRENT} JOIN memories b ON b.id = e.target AND b.{_CURRENT} "
            "GROUP BY e.source, e.target"
        ).fetchall()
        if not rows:
            return np.empty((0, 2), np.int64), np.empty(0)
        table = np.array(rows)
        return table[:, :2].astype(np.int64), table[:, 2]

    def edge_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT kind, count(*) FROM memory_edges GROUP BY kind ORDER BY kind"))

    def current_ids(self) -> np.ndarray:
        rows = self.conn.execute(f"SELECT id FROM memories WHERE {_CURRENT} ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, len(rows))

    def unlinked_ids(self, after: int, through: int, limit: int) -> list[int]:
        """Memories stored before the graph existed, a page at a time, for `graph build` to link. Those that name an
        entity already are skipped: a build killed after linking them must not link them again, with the edges to
        memories linked after them that an uninterrupted build never makes (one without entities links the same
        way twice)."""
        rows = self.conn.execute(
            "SELECT id FROM memories WHERE id > ? AND id <= ? "
            "AND NOT EXISTS (SELECT 1 FROM memory_entities WHERE memory_id = memories.id) ORDER BY id LIMIT ?",
            (after, through, limit),
        )
        return [r[0] for r in rows]

    # -- clusters -------------------------------------------------------------------------------------------
    def clusters(self) -> list[ClusterRow]:
        """Every cluster, both levels, by id (sizes come from `sizes`: one pass over the memberships)."""
        return [
            ClusterRow(*r) for r in self.conn.execute("SELECT id, parent, label, built_at FROM clusters ORDER BY id")
        ]

    def cluster(self, cluster_id: int) -> ClusterRow | None:
        row = self.conn.execute(
            "SELECT id, parent, label, built_at FROM clusters WHERE id = ?", (cluster_id,)
        ).fetchone()
        return ClusterRow(*row) if row else None

    def clustered_count(self) -> int:
        """Current memories that belong to a cluster."""
        return self.conn.execute(
            f"SELECT count(*) FROM memory_clusters mc JOIN memories m ON m.id = mc.memory_id WHERE m.{_CURRENT}"
        ).fetchone()[0]

    def sizes(self, project: str | None = None) -> dict[int, int]:
        """Current members per cluster id (top level and sub), counting only `project`'s memories if given."""
        where, params = ("AND m.project = ?", [project]) if project is not None else ("", [])
        sizes: dict[int, int] = {}
        for column in ("cluster_id", "sub_id"):
            for cluster_id, n in self.conn.execute(
                f"SELECT mc.{column}, count(*) FROM memory_clusters mc JOIN memories m ON m.id = mc.memory_id "
                f"WHERE m.{_CURRENT} AND mc.{column} IS NOT NULL {where} GROUP BY 1",
                params,
            ):
                sizes[cluster_id] = n
        return sizes

    def members(self, cluster_id: int) -> list[int]:
        """Current member memories of a cluster (top level or sub), newest first."""
        rows = self.conn.execute(
            "SELECT mc.memory_id FROM memory_clusters mc JOIN memories m ON m.id = mc.memory_id "
            f"WHERE mc.cluster_id = ?1 AND m.{_CURRENT} UNION "
            "SELECT mc.memory_id FROM memory_clusters mc JOIN memories m ON m.id = mc.memory_id "
            f"WHERE mc.sub_id = ?1 AND m.{_CURRENT} ORDER BY 1 DESC",
            (cluster_id,),
        )
        return [r[0] for r in rows]

    def memberships(self) -> dict[int, tuple[int, int | None]]:
        """memory id -> (top-level cluster, sub-cluster or None)."""
        return {m: (c, s) for m, c, s in self.conn.execute("SELECT memory_id, cluster_id, sub_id FROM memory_clusters")}

    def membership_of(self, memory_ids: list[int]) -> dict[int, tuple[int, int | None]]:
        found: dict[int, tuple[int, int | None]] = {}
        for chunk in _chunks(memory_ids):
            marks = ",".join("?" * len(chunk))
            found |= {
                m: (c, s)
                for m, c, s in self.conn.execute(
                    f"SELECT memory_id, cluster_id, sub_id FROM memory_clusters WHERE memory_id IN ({marks})", chunk
                )
            }
        return found

    def centroids(self) -> tuple[list[tuple[int, int | None]], np.ndarray | None]:
        """[(cluster id, parent)] and their centroid matrix (rows aligned), for joining a cluster on write."""
        rows = self.conn.execute("SELECT id, parent, centroid FROM clusters WHERE centroid IS NOT NULL").fetchall()
        if not rows:
            return [], None
        return [(r[0], r[1]) for r in rows], np.vstack([np.frombuffer(r[2], np.float32) for r in rows])

    def neighbour_votes(self, memory_id: int) -> list[tuple[int, int | None, float]]:
        """(cluster, sub-cluster, summed edge weight) over the clustered neighbours of a memory, best first."""
        return self.conn.execute(
            "SELECT mc.cluster_id, mc.sub_id, sum(e.weight) AS w FROM memory_edges e "
            "JOIN memory_clusters mc ON mc.memory_id = CASE WHEN e.source = ?1 THEN e.target ELSE e.source END "
            "WHERE e.source = ?1 OR e.target = ?1 GROUP BY mc.cluster_id, mc.sub_id ORDER BY w DESC",
            (memory_id,),
        ).fetchall()

    def assign(self, memory_id: int, cluster_id: int, sub_id: int | None) -> None:
        self.conn.execute(
            "INSERT INTO memory_clusters (memory_id, cluster_id, sub_id) "
            "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM clusters WHERE id = ?2) "
            "ON CONFLICT (memory_id) DO UPDATE SET cluster_id = excluded.cluster_id, sub_id = excluded.sub_id",
            (memory_id, cluster_id, sub_id),
        )

    def update_cluster(self, cluster_id: int, label: str, centroid: np.ndarray | None) -> None:
        self.conn.execute(
            "UPDATE clusters SET label = ?, centroid = ? WHERE id = ?", (label, _blob(centroid), cluster_id)
        )

    def delete_cluster(self, cluster_id: int) -> None:
        self.conn.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))

    def replace_clusters(self, found: list[NewCluster], built_at: str) -> None:
        """Swap the whole clustering for a rebuild's: matched clusters keep their ids, others get new ones,
        vanished ones are deleted."""
        kept = [c.id for c in found if c.id is not None]  # ~92k at 1M memories: past SQLite's 32,766 variables
        self.conn.execute("DELETE FROM memory_clusters")
        sql = self.conn.dialect
        self.conn.execute(f"DELETE FROM clusters WHERE {sql.not_in_list('id')}", [sql.list_param(kept)])
        upsert = (
            "INSERT INTO clusters (id, parent, label, centroid, built_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, label = excluded.label, "
            "centroid = excluded.centroid, built_at = excluded.built_at"
        )
        if self.conn.backend == "postgres":
            ids = self._postgres_upsert(found, built_at, upsert)
        else:
            ids = []
            for cluster in found:  # a NULL id is the table's next one
                parent = None if cluster.parent_index is None else ids[cluster.parent_index]
                row = (cluster.id, parent, cluster.label, _blob(cluster.centroid), built_at)
                ids.append(self.conn.execute(upsert + " RETURNING id", row).fetchone()[0])
        rows: dict[int, list] = {}
        for cluster, cluster_id in zip(found, ids, strict=True):
            for memory_id in cluster.members:
                row = rows.setdefault(memory_id, [memory_id, None, None])
                row[1 if cluster.parent_index is None else 2] = cluster_id
        self.conn.executemany(  # a member deleted while the rebuild ran is skipped
            "INSERT INTO memory_clusters (memory_id, cluster_id, sub_id) SELECT ?1, ?2, ?3 "
            "WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?1)",
            [tuple(r) for r in rows.values() if r[1] is not None],
        )

    def _postgres_upsert(self, found: list[NewCluster], built_at: str, upsert: str) -> list[int]:
        """The clusters' ids, and their rows written, on PostgreSQL: the new ids drawn from the identity in one
        statement (it refuses the NULL SQLite numbers), then every row in one pipelined batch. A statement and a
        round trip a cluster took 38 s for twice 33k clusters (SQLite: 5 s)."""
        new = sum(cluster.id is None for cluster in found)
        drawn = iter(
            self.conn.execute(
                "SELECT nextval(pg_get_serial_sequence('clusters', 'id')) FROM generate_series(1, ?)", (new,)
            ).fetchall()
        )
        ids = [cluster.id if cluster.id is not None else next(drawn)[0] for cluster in found]
        self.conn.executemany(  # in order: a parent (top level) comes before its subclusters
            upsert,
            [
                (cluster_id, None if c.parent_index is None else ids[c.parent_index], c.label, _blob(c.centroid),
                 built_at)
                for c, cluster_id in zip(found, ids, strict=True)
            ],
        )  # fmt: skip
        return ids


def _blob(centroid: np.ndarray | None) -> bytes | None:
    return None if centroid is None else centroid.astype(np.float32).tobytes()


def _chunks(ids: list[int], size: int = 400) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
