"""The knowledge graph: entities and edges written with each memory, Leiden clusters, the graph channel."""

from __future__ import annotations

import itertools

import pytest

from slm import Memory
from slm.errors import InvalidInput, NotFound
from slm.graph import clusters
from slm.recall.channels import graph as graph_channel

pytestmark = pytest.mark.both_backends

TOPICS = {
    "databases": [
        "The billing service stores invoices in PostgreSQL 15 on the db-main host.",
        "Postgres autovacuum was too slow on the invoices table; we tuned it with pg_repack.",
        "We added a partial index on invoices(status) in PostgreSQL to speed up the dunning job.",
        "Alembic runs the PostgreSQL schema migrations for the billing service before each deploy.",
        "PgBouncer sits in front of Postgres for the billing service to pool connections.",
        "Backups of the billing PostgreSQL database go to S3 every night with pgBackRest.",
    ],
    "frontend": [
        "The dashboard is a React app written in TypeScript and bundled with Vite.",
        "We use Tailwind CSS in the React dashboard instead of styled-components.",
        "Vite's dev server proxies /api to the backend when working on the React dashboard.",
        "The React dashboard tests run with Vitest and Testing Library in TypeScript.",
        "Storybook documents the React components of the dashboard.",
        "ESLint and Prettier format the TypeScript code of the dashboard on commit.",
    ],
    "travel": [
        "Sarah and I are planning a trip to Lisbon in May to see the old town.",
        "We booked a hotel in Lisbon near Alfama for the May trip with Sarah.",
        "From Lisbon we will take the train to Porto for two days.",
        "Sarah wants to try pastel de nata at a bakery in Belém while we are in Lisbon.",
        "The flight to Lisbon leaves from Berlin on May 12th.",
        "In Porto we plan to visit the Livraria Lello bookshop and the Douro river.",
    ],
}


def fill(mem: Memory) -> dict[str, list[int]]:
    ids = {}
    for topic, texts in TOPICS.items():
        items = [{"text": t, "meta": {"session": topic}} for t in texts]
        ids[topic] = [int(i) for i in mem.remember_many(items)]
    return ids


@pytest.fixture
def filled(mem):
    return mem, fill(mem)


# -- written with each memory ----------------------------------------------------------------------------------
def test_entities_are_stored_with_the_memory_and_aliases_meet(mem):
    first = mem.remember("We moved the api-gateway to Postgres last week.")
    second = mem.remember("PostgreSQL 16 adds logical replication from standbys.")
    named = mem.graph.entities_of([first, second])
    keys = {m: {e.key for e in found} for m, found in named.items()}
    assert "postgresql" in keys[first] and "postgresql" in keys[second]
    (postgres,) = [e for e in named[first] if e.key == "postgresql"]
    assert postgres.name == "PostgreSQL" and postgres.memories == 2


def test_shared_entity_and_session_edges(filled):
    mem, ids = filled
    edges = mem.graph.edges_of(ids["databases"])
    kinds = {(e.source, e.target): e.kind for e in edges if e.kind == "session"}
    chain = ids["databases"]
    assert all((a, b) in kinds for a, b in itertools.pairwise(chain))  # each turn to the one before
    assert any(e.kind == "entity" for e in edges)
    travel = set(ids["travel"])
    assert not any(e.kind == "session" and (e.source in travel) != (e.target in travel) for e in edges)


def test_similar_memories_are_linked_above_the_threshold(mem):
    a = mem.remember("The nightly backup job failed because the disk was full.")
    b = mem.remember("Last night's backup job failed: the disk ran out of space.")
    c = mem.remember("My favourite dessert is lemon tart.")
    similar = {(e.source, e.target) for e in mem.graph.edges_of([a, b, c]) if e.kind == "similar"}
    assert (a, b) in similar
    assert not {(a, c), (b, c)} & similar


def test_forgetting_removes_links_edges_and_counts(filled):
    mem, ids = filled
    gone = ids["databases"][0]
    postgres = mem.graph.entities_by_key(["postgresql"])[0]
    mem.forget(gone)
    assert mem.graph.entities_of([gone]) == {}
    assert all(gone not in (e.source, e.target) for e in mem.graph.edges_of(ids["databases"]))
    assert mem.graph.entities_by_key(["postgresql"])[0].memories == postgres.memories - 1


def test_updated_memory_leaves_the_graph_to_its_new_version(filled):
    mem, ids = filled
    old = ids["frontend"][0]
    new = mem.update(old, "The dashboard is a Svelte app written in TypeScript and bundled with Vite.")
    touching = {m for e in mem.graph.edges_of(ids["frontend"] + [new]) for m in (e.source, e.target)}
    assert old not in touching
    assert new in touching


def test_memories_stored_before_the_graph_are_linked_by_build(filled):
    mem, ids = filled
    with mem.conn.transaction():  # a store migrated from schema 2: no links yet, and the marker the migration leaves
        mem.conn.execute("DELETE FROM memory_entities")
        mem.conn.execute("DELETE FROM memory_edges")
        mem.conn.execute("INSERT INTO settings VALUES ('graph.unlinked_through', ?)", (str(max(ids["travel"])),))
    assert mem.graph_stale()
    mem.graph_build()
    assert mem.graph.entities_of(ids["travel"])
    assert mem.graph.edge_counts().get("entity", 0) > 0
    assert mem.graph_stats()["unlinked_memories"] is False


# -- clusters ----------------------------------------------------------------------------------------------------
def _topic_of_cluster(mem: Memory, ids: dict[str, list[int]]) -> dict[str, int]:
    membership = mem.graph.memberships()
    found = {}
    for topic, members in ids.items():
        clustered = [membership[m][0] for m in members if m in membership]
        assert len(clustered) >= len(members) - 1, f"{topic} is mostly unclustered"
        found[topic] = max(set(clustered), key=clustered.count)
    return found


def test_leiden_separates_topics_and_labels_them(filled):
    mem, ids = filled
    report = mem.graph_build()
    assert report.clusters >= 3 and report.memories == 18
    by_topic = _topic_of_cluster(mem, ids)
    assert len(set(by_topic.values())) == 3
    labels = {topic: mem.graph.cluster(cluster_id).label for topic, cluster_id in by_topic.items()}
    assert "PostgreSQL" in labels["databases"]
    assert "React" in labels["frontend"] or "TypeScript" in labels["frontend"]
    assert "Lisbon" in labels["travel"]


def test_cluster_ids_survive_rebuilds_and_growth(filled):
    mem, ids = filled
    mem.graph_build()
    before = _topic_of_cluster(mem, ids)
    mem.graph_build()
    assert _topic_of_cluster(mem, ids) == before  # same graph, same clusters, same ids
    more = mem.remember_many(
        [{"text": "Ruff and mypy check the Python code of the billing service.", "meta": {"session": "python"}}]
    )
    mem.graph_build()
    after = _topic_of_cluster(mem, ids)
    assert after == before
    assert int(more[0]) in mem.graph.memberships() or mem.graph_stats()["clusters"] >= 3


def test_a_new_memory_joins_a_cluster_on_write(filled):
    mem, ids = filled
    mem.graph_build()
    travel_cluster = _topic_of_cluster(mem, ids)["travel"]
    new = mem.remember("Sarah found a tram tour of Lisbon for our May trip.", meta={"session": "travel"})
    assert mem.graph.membership_of([new])[new][0] == travel_cluster


def test_the_centroids_are_read_only_for_a_memory_its_neighbours_do_not_place(filled):
    """Joining on write: neighbours' votes first; the centroids (all of them read from the store) only without."""
    mem, ids = filled
    mem.graph_build()
    graph, reads = mem.store.graph, []

    def centroids():
        reads.append(1)
        return graph.centroids()

    travel = _topic_of_cluster(mem, ids)["travel"]
    vector = mem.store.query_vector("A tram tour of Lisbon's old town for our May trip with Sarah.")
    assert clusters.join(graph, ids["travel"][0], vector, centroids)[0] == travel
    assert reads == []
    assert clusters.join(graph, 10**9, vector, centroids)[0] == travel  # no such memory: nobody votes
    assert reads == [1]


def test_large_clusters_are_split_again(filled, monkeypatch):
    mem, _ = filled
    monkeypatch.setattr(clusters, "SPLIT_SIZE", 4)
    monkeypatch.setattr(clusters, "MIN_SIZE", 2)
    monkeypatch.setattr(clusters, "SPLIT_RESOLUTION", 0.8)  # denser parts than these small topics have
    report = mem.graph_build()
    assert report.subclusters >= 2
    subs = [c for c in mem.graph.clusters() if c.parent is not None]
    assert all(mem.graph.cluster(s.parent).parent is None for s in subs)
    listed = mem.clusters(refresh=False)
    assert any(c["subclusters"] for c in listed)


def test_clusters_listing_builds_when_stale_and_filters_by_project(mem):
    fill(mem)
    mem.remember_many([{"text": t, "project": "trips"} for t in TOPICS["travel"][:4]])
    assert mem.graph_stale()
    listed = mem.clusters()
    assert listed and not mem.graph_stale()
    trips = mem.clusters(project="trips")
    assert trips and sum(c["size"] for c in trips) <= 4
    assert mem.clusters(project="no-such-project") == []


def test_cluster_detail_and_neighbours(filled):
    mem, ids = filled
    mem.graph_build()
    cluster_id = _topic_of_cluster(mem, ids)["databases"]
    detail = mem.cluster(cluster_id, limit=3)
    assert detail["size"] >= 5 and len(detail["memories"]) == 3
    assert detail["entities"][0][0] in {"PostgreSQL", "billing service", "Billing"} or detail["entities"]
    near = mem.neighbors(ids["databases"][1])
    linked = {n["memory"].id for n in near["neighbors"]}
    assert ids["databases"][0] in linked and near["cluster"] == cluster_id
    with pytest.raises(NotFound):
        mem.cluster(999_999)
    with pytest.raises(InvalidInput):
        mem.cluster(0)
    with pytest.raises(NotFound):
        mem.neighbors(999_999)


# -- the graph channel -------------------------------------------------------------------------------------------
def test_graph_channel_follows_shared_entities_beyond_the_query_words(mem):
    ids = mem.remember_many(
        [
            {"text": "Priya Raman owns the ledger service."},
            {"text": "Priya Raman moved the nightly jobs to Temporal last sprint."},
            {"text": "Tomorrow is the team lunch at noon."},
            {"text": "Remember to water the plants on Friday."},
        ]
    )
    hits = mem.recall("ledger owner", k=4, channels=("keyword", "graph"))
    assert hits[0].id == ids[0]
    reached = next(h for h in hits if h.id == ids[1])  # shares a person with the hit, no word with the query
    assert set(reached.channels) == {"graph"}
    assert all(h.id not in (ids[2], ids[3]) for h in hits)  # nothing links the unrelated memories


def test_graph_walk_follows_only_the_edge_kinds_given_weight(mem, monkeypatch):
    ids = mem.remember_many(
        [
            {"text": "Which database should the ledger service use?", "meta": {"session": "a"}},
            {"text": "Go with CockroachDB: it survives a region outage.", "meta": {"session": "a"}},
        ]
    )
    hits = mem.recall("ledger service database", k=4, channels=("keyword", "graph"))
    assert [h.id for h in hits] == [ids[0]]  # by default the walk does not follow session edges
    monkeypatch.setattr(graph_channel, "SESSION_EDGE", 1.0)
    hits = mem.recall("ledger service database", k=4, channels=("keyword", "graph"))
    assert [h.id for h in hits] == [ids[0], ids[1]] and set(hits[1].channels) == {"graph"}


def test_graph_channel_starts_from_query_entities(filled):
    mem, ids = filled
    hits = mem.recall("Porto", k=10, channels=("keyword", "graph"))
    graph_only = [h for h in hits if set(h.channels) == {"graph"}]
    assert graph_only and all(h.id in ids["travel"] for h in graph_only[:3])


def test_graph_channel_respects_filters(mem):
    mem.remember_many(
        [
            {"text": "Which queue does the mailer use?", "meta": {"session": "q"}, "project": "a"},
            {"text": "RabbitMQ, with a dead-letter exchange.", "meta": {"session": "q"}, "project": "a"},
        ]
    )
    mem.remember("RabbitMQ is also what the other team uses.", project="b")
    hits = mem.recall("mailer queue", k=10, project="a")
    assert hits and {h.project for h in hits} == {"a"}
    early = mem.recall("mailer queue", k=10, now="2001-01-01")
    assert early == []


def test_recall_explains_the_graph_contribution(filled):
    mem, _ = filled
    hits = mem.recall("Where is the PostgreSQL backup stored?", k=5, ranker="rrf")  # the channels, fused
    assert any("graph" in h.channels for h in hits)
    for hit in hits:
        assert hit.score == pytest.approx(sum(c.contribution for c in hit.channels.values()))


def test_graph_channel_alone_is_refused(mem):
    with pytest.raises(InvalidInput, match="start from what another channel found"):
        mem.recall("anything", channels=("graph",))


@pytest.mark.sqlite_only(reason="a SQLite file of schema 2: no PostgreSQL store predates the graph")
def test_a_version_2_store_is_linked_by_its_first_build(tmp_path, slm_home):
    """A store written before the graph existed: migration 0003 marks its memories, `graph_build` links them."""
    import shutil

    import numpy as np

    from slm.storage import migrations, vectors
    from slm.storage.connection import open_connection

    v2 = tmp_path / "v2-migrations"
    v2.mkdir()
    for name in ("0001_memories.sql", "0002_provenance_history_events.sql"):
        shutil.copy(migrations.migrations_dir() / name, v2)
    path = tmp_path / "old" / "memory.db"
    conn = open_connection(path)
    migrations.migrate(conn, v2)
    vectors.create_vector_table(conn, 384)
    conn.execute("INSERT INTO settings VALUES ('embedding.model', 'default'), ('embedding.dim', '384')")
    for i, text in enumerate(
        ["Postgres backups run nightly", "We tuned PostgreSQL autovacuum", "psql is in the image"]
    ):
        conn.execute(
            "INSERT INTO memories (id, content, content_hash, created_at, agent, project) "
            "VALUES (?, ?, ?, '2024-01-01T00:00:00Z', 'cursor', 'p')",
            (i + 1, text, f"h{i}"),
        )
        conn.execute("INSERT INTO chunks (id, memory_id, start, end) VALUES (?, ?, 0, 5)", (i + 1, i + 1))
        vectors.insert_vectors(conn, [i + 1], np.eye(384, dtype=np.float32)[i : i + 1])
    conn.close()
    with Memory.open(path) as mem:
        assert mem.graph_stats()["unlinked_memories"] is True and mem.graph_stale()
        assert mem.graph.entities_of([1, 2, 3]) == {}
        report = mem.graph_build()
        assert report.memories == 3 and mem.graph_stats()["unlinked_memories"] is False
        assert mem.graph.entities_by_key(["postgresql"])[0].memories == 3  # three spellings, one entity
        assert mem.graph.edge_counts()["entity"] == 3  # each pair shares it
        assert mem.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_rebuild_keeps_more_clusters_than_sqlite_has_variables(store_at):
    """At 1M memories a rebuild keeps ~92k clusters and subclusters: swapping them in must not bind a variable per
    cluster (SQLite allows 32,766; `slm graph build` at 1M failed there after 3.4 minutes of work)."""
    from slm.storage.graph import GraphRepository, NewCluster

    many = 33_000
    with Memory.open(store_at) as mem:
        memory_id = mem.remember("The release train leaves every second Tuesday.")
        repo = GraphRepository(mem.store.conn)
        with mem.store.conn.transaction():
            repo.replace_clusters([NewCluster(None, None, f"c{i}", [memory_id], None) for i in range(many)], "t1")
        ids = [r[0] for r in mem.store.conn.execute("SELECT id FROM clusters ORDER BY id")]
        with mem.store.conn.transaction():
            repo.replace_clusters([NewCluster(i, None, "kept", [memory_id], None) for i in ids[1:]], "t2")
        left = [r[0] for r in mem.store.conn.execute("SELECT id FROM clusters ORDER BY id")]
    assert left == ids[1:]
