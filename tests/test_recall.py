"""Hybrid recall end to end on the real model: fusion, filters, time, explain, and the vector mirror, on both
backends (the keyword channel is FTS5 on SQLite, keyword_pg's BM25 on PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest

from slm import Memory
from slm.errors import InvalidInput
from slm.recall import explained, fusion
from slm.recall.channels import temporal
from slm.recall.hits import ChannelRank
from slm.storage import vectors

pytestmark = pytest.mark.both_backends

NOTES = [
    ("We chose PostgreSQL 16 for the billing service because of logical replication.", "billing", ["db"], "2023-03-01"),
    (
        "The billing service retries Stripe webhooks three times with exponential backoff.",
        "billing",
        ["payments"],
        "2023-04-10",
    ),
    ("Run the integration tests with `make itest`; they need Docker running.", "infra", ["testing"], "2023-05-02"),
    ("Alice prefers pytest fixtures over unittest setUp methods.", "infra", ["testing", "style"], "2023-06-15"),
    ("The frontend build uses Vite 5 and deploys to Cloudflare Pages.", "web", ["frontend"], "2023-07-20"),
    (
        "Error ECONNRESET from the Redis client was fixed by raising the pool timeout to 30s.",
        "web",
        ["redis"],
        "2023-08-30",
    ),
    ("Our API rate limit is 600 requests per minute per token.", "web", ["api"], "2023-09-05"),
    ("Kubernetes liveness probes hit /healthz every 10 seconds.", "infra", ["k8s"], "2023-10-12"),
]


@pytest.fixture
def filled(mem):
    items = [
        {"text": t, "project": p, "tags": g, "time": d, "agent": "claude-code" if i % 2 else "cursor"}
        for i, (t, p, g, d) in enumerate(NOTES)
    ]
    ids = mem.remember_many(items)
    return mem, ids


def test_paraphrased_question_finds_the_memory(filled):
    mem, ids = filled
    hits = mem.recall("which database did we pick for invoices and payments?", k=3)
    assert hits[0].id == ids[0]
    assert hits[0].text == NOTES[0][0]
    assert hits[0].project == "billing" and hits[0].tags == ("db",)


def test_keyword_only_match_is_found_via_bm25(filled):
    mem, ids = filled
    hits = mem.recall("ECONNRESET", k=3)
    assert hits[0].id == ids[5]
    assert "keyword" in hits[0].channels


def test_learned_ranking_is_explained_by_its_features(filled):
    mem, ids = filled
    hits = mem.recall("integration tests docker", k=5)
    assert hits[0].id == ids[2] and hits[0].score == pytest.approx(1 / (fusion.RRF_K + 1))
    assert {"keyword", "vector"} <= set(hits[0].channels) <= set(explained.GROUPS)  # groups that add something
    assert hits[0].channels["keyword"].rank == 1 and hits[0].channels["keyword"].score > 0  # BM25
    for hit in hits:
        for group in hit.channels.values():
            assert group.contribution == pytest.approx(sum(group.parts.values()), abs=1e-3)
    total = [sum(c.contribution for c in hit.channels.values()) for hit in hits]
    assert total == sorted(total, reverse=True)  # ranked by the sum of the contributions
    assert [hit.score for hit in hits] == pytest.approx([1 / (fusion.RRF_K + r) for r in range(1, 6)])


def test_memory_found_by_both_channels_ranks_first_and_is_explained(filled):
    mem, ids = filled
    hit = mem.recall("integration tests docker", k=5, ranker="rrf")[0]
    assert hit.id == ids[2]
    assert {"keyword", "vector"} <= set(hit.channels)
    assert hit.channels["keyword"].rank == 1 and hit.channels["vector"].rank >= 1
    weights = fusion.WEIGHTS
    expected = sum(weights[name] / (fusion.RRF_K + c.rank) for name, c in hit.channels.items())
    assert hit.score == pytest.approx(expected)
    assert all(c.contribution == pytest.approx(weights[n] / (fusion.RRF_K + c.rank)) for n, c in hit.channels.items())


def test_fusion_rewards_agreement_and_breaks_ties_by_id():
    fused = fusion.fuse({"keyword": [(5, 9.0), (7, 3.0)], "vector": [(7, 0.9), (9, 0.8)]}, 3)
    assert [i for i, _, _ in fused] == [7, 5, 9]
    assert fused[0][2] == {"keyword": ChannelRank(2, 3.0, 1 / 62), "vector": ChannelRank(1, 0.9, 1 / 61)}


def test_filters_restrict_both_channels(filled):
    mem, ids = filled
    assert {h.project for h in mem.recall("tests", k=10, project="infra")} == {"infra"}
    assert {h.agent for h in mem.recall("service", k=10, agent="cursor")} == {"cursor"}
    assert all("testing" in h.tags for h in mem.recall("pytest", k=10, tags=["testing"]))
    window = mem.recall("anything about the project", k=10, since="2023-05-01", until="2023-08-01")
    assert {h.id for h in window} == {ids[2], ids[3], ids[4]}
    assert mem.recall("database", k=10, project="no-such-project") == []


def test_now_hides_memories_from_after_the_question(filled):
    mem, ids = filled
    hits = mem.recall("redis timeout error", k=10, now="2023-08-01T00:00:00")
    assert ids[5] not in {h.id for h in hits}
    assert all(h.time <= "2023-08-01T00:00:00Z" for h in hits)
    assert mem.recall("redis timeout error", k=1, now="2023-09-01")[0].id == ids[5]


def test_forgotten_memory_is_never_recalled(filled):
    mem, ids = filled
    assert mem.recall("Stripe webhooks retries", k=1)[0].id == ids[1]
    mem.forget(ids[1])
    assert ids[1] not in {h.id for h in mem.recall("Stripe webhooks retries", k=10)}


def test_k_limits_and_order_is_by_score(filled):
    mem, _ = filled
    hits = mem.recall("service", k=4)
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_query_with_only_symbols_still_uses_vectors(filled):
    mem, _ = filled
    hits = mem.recall("🚀 ??? !!!", k=3)
    assert len(hits) == 3 and all(h.channels["vector"].rank and "keyword" not in h.channels for h in hits)


def test_long_memory_is_chunked_and_its_tail_is_findable(mem):
    filler = " ".join(f"Paragraph {i} talks about routine sprint planning and standup notes." for i in range(120))
    tail = "Finally: the production database password rotates every 90 days via Vault."
    memory_id = mem.remember(filler + " " + tail)
    assert mem.stats()["chunks"] > 3
    assert mem.recall("how often does the database password rotate in Vault?", k=1)[0].id == memory_id


def test_other_process_writes_and_deletes_reach_the_mirror(filled, store_at):
    mem, ids = filled
    mem.recall("warm the mirror", k=1)
    with Memory.open(store_at) as other:
        new_id = other.remember("Grafana dashboards live in the observability repo under dashboards/.")
        other.forget(ids[6])
    hits = mem.recall("where are the grafana dashboards?", k=10)
    assert hits[0].id == new_id
    assert ids[6] not in {h.id for h in mem.recall("API rate limit per token", k=10)}


def test_vector_channel_matches_the_databases_exact_knn(filled):
    """The mirror's top 5 is the database's own exact nearest-neighbour search: sqlite-vec's, or pgvector's
    (unit vectors: cosine and L2 order alike)."""
    mem, _ = filled
    query = mem.embedder.embed_one("testing conventions")
    ours = [i for i, _ in mem.store.synced_index().search(query, 5)]
    if mem.conn.backend == "postgres":
        sql = (
            f"SELECT c.memory_id FROM {vectors.TABLE} v JOIN chunks c ON c.id = v.chunk_id "
            "ORDER BY v.embedding <=> CAST(? AS vector), c.memory_id LIMIT 5"
        )
        rows = mem.conn.execute(sql, ("[" + ",".join(map(repr, np.asarray(query, np.float32).tolist())) + "]",))
    else:
        rows = mem.conn.execute(
            f"SELECT c.memory_id FROM {vectors.TABLE} v JOIN chunks c ON c.id = v.rowid "
            "WHERE v.embedding MATCH ? AND k = 5 ORDER BY v.distance",
            (np.asarray(query, np.float32).tobytes(),),
        )
    assert ours == [r[0] for r in rows.fetchall()]


def test_recall_can_run_one_channel(mem):
    keyword_only = mem.remember("zebra crossing near the office")
    mem.remember("a striped animal of the savanna")
    hits = mem.recall("zebra", k=5, channels=["keyword"])
    assert [h.id for h in hits] == [keyword_only] and set(hits[0].channels) == {"keyword"}
    assert all(set(h.channels) == {"vector"} for h in mem.recall("zebra", k=5, channels=("vector",)))
    with pytest.raises(InvalidInput, match="unknown or no recall channels"):
        mem.recall("zebra", channels=["zebra"])
    with pytest.raises(InvalidInput, match="start from what another channel found"):
        mem.recall("zebra", channels=["graph"])
    with pytest.raises(InvalidInput, match="unknown or no recall channels"):
        mem.recall("zebra", channels=[])


def test_temporal_channel_keeps_the_window_and_orders_by_time():
    from datetime import datetime

    from slm.time_expressions import TimeIntent

    times = {1: "2023-05-02T10:00:00Z", 2: "2023-04-20T10:00:00Z", 3: "2023-05-06T09:00:00Z", 4: "2022-01-01T00:00:00Z"}
    window = TimeIntent(datetime(2023, 5, 1), datetime(2023, 5, 7, 23, 59, 59))
    assert [i for i, _ in temporal.ranked(window, [2, 3, 1, 4], times)] == [3, 1]
    latest = TimeIntent(order="latest")
    assert [i for i, _ in temporal.ranked(latest, [2, 4, 1, 3], times)] == [3, 1, 2, 4]
    earliest_in_window = TimeIntent(datetime(2023, 5, 1), datetime(2023, 5, 7, 23, 59, 59), order="earliest")
    assert [i for i, _ in temporal.ranked(earliest_in_window, [3, 1, 2], times)] == [1, 3]
    assert temporal.ranked(TimeIntent(), [1, 2], times) == []


def test_fusion_weights_scale_each_channel():
    channels = {"keyword": [(1, 9.0), (2, 8.0)], "vector": [(2, 0.9), (1, 0.8)]}
    assert [i for i, _, _ in fusion.fuse(channels, 2, {"keyword": 1.0, "vector": 1.0})] == [1, 2]  # tie: by id
    assert [i for i, _, _ in fusion.fuse(channels, 2, {"keyword": 1.0, "vector": 2.0})] == [2, 1]
    assert [i for i, _, _ in fusion.fuse(channels, 2, {"keyword": 0.0, "vector": 1.0})] == [2, 1]


def test_recall_prefers_memories_from_the_time_the_question_names(mem):
    mem.remember_many(
        [
            {"text": "Went hiking in the Alps with Sam", "time": "2023-04-02"},
            {"text": "Went hiking on Mount Tam with Sam", "time": "2023-05-06"},
            {"text": "Went hiking in the Dolomites with Sam", "time": "2023-02-11"},
        ]
    )
    hits = mem.recall("where did I go hiking last week?", k=3, now="2023-05-10T12:00:00")
    assert hits[0].text == "Went hiking on Mount Tam with Sam" and _in_window(hits[0])
    assert not any(_in_window(h) for h in hits[1:])
    asked = {"k": 3, "now": "2023-05-10T12:00:00", "ranker": "rrf"}
    assert "temporal" in mem.recall("where did I go hiking last week?", **asked)[0].channels
    plain = mem.recall("where did I go hiking last week?", **asked, channels=["keyword", "vector"])
    assert all("temporal" not in h.channels for h in plain)
    latest = mem.recall("where did I go hiking most recently?", **asked)
    assert [h.channels["temporal"].rank for h in latest] == [2, 1, 3]  # the newest first in the temporal channel
    leaning_on_time = mem.recall("where did I go hiking most recently?", **asked, weights={"temporal": 5.0})
    assert leaning_on_time[0].text == "Went hiking on Mount Tam with Sam"
    with pytest.raises(InvalidInput, match="start from what another channel found"):
        mem.recall("hiking", channels=["temporal"])
    with pytest.raises(InvalidInput, match="weight of temporal"):
        mem.recall("hiking", weights={"temporal": -1})


def _in_window(hit) -> bool:
    """The learned ranking counted the hit as inside the window the question names."""
    return "time" in hit.channels and hit.channels["time"].parts["in_window"] > 0  # a group that adds 0 is left out


def test_time_windows_do_not_depend_on_the_machine_time_zone(mem, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        mem.remember_many([{"text": "deployed the api", "time": "2023-05-09T01:00:00Z"}])  # late on the 8th in LA
        hits = mem.recall("what did I deploy yesterday?", k=1, now="2023-05-10T12:00:00Z")
        assert _in_window(hits[0])  # the 9th in UTC, the day before now
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_time_relative_to_an_event_is_placed_by_finding_the_event(mem):
    mem.remember_many(
        [
            {"text": "Flew to Lisbon for our trip with Sam", "time": "2023-04-20"},
            {"text": "I bought a new raincoat and walking shoes", "time": "2023-04-18"},
            {"text": "I bought a standing desk for the office", "time": "2023-03-02"},
            {"text": "I bought tickets for the opera", "time": "2023-05-06"},
        ]
    )
    hits = mem.recall("what did I buy two days before the trip?", k=4, now="2023-05-10T12:00:00")
    assert hits[0].text == "I bought a new raincoat and walking shoes"
    assert [_in_window(h) for h in hits] == [True, False, False, False]
    nothing = mem.recall("what did I buy two days before the hackathon?", k=4, project="elsewhere")
    assert nothing == []  # no event found (and nothing in that project): no window, no error
