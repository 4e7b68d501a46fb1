"""Memories as Gaussians in a real store: made from chunks, sharpened by corroboration, ranked by the Fisher metric."""

from __future__ import annotations

import numpy as np
import pytest

from slm import Memory
from slm.errors import InvalidInput
from slm.recall import fisher, gaussians
from tests.test_cli import check_refused, run_json
from tests.test_contradictions import undo_claims_migration
from tests.test_trust import FACT

pytestmark = pytest.mark.both_backends

LONG = " ".join(
    f"Step {i}: the release pipeline builds the {part}, signs it and uploads it to the artifact store."
    for i, part in enumerate(["backend image", "frontend bundle", "CLI wheels", "docs site", "Helm chart"] * 8)
)


def chunks_of(mem: Memory, memory_id: int) -> np.ndarray:
    return mem.gaussians.chunk_vectors([memory_id])[memory_id]


def test_a_long_memory_is_a_gaussian_of_its_chunks_and_a_short_one_needs_no_row(mem):
    long_id = mem.remember(LONG)
    short_id = mem.remember("The staging database is PostgreSQL 15.")
    chunks = chunks_of(mem, long_id)
    assert len(chunks) > 1
    n, mean, m2 = mem.gaussians.get_many([long_id])[long_id]
    expected = fisher.Observations.of(chunks)
    assert n == len(chunks)
    np.testing.assert_allclose(mean, expected.mean, atol=2e-3)  # stored as float16
    np.testing.assert_allclose(m2, expected.m2, rtol=2e-2, atol=1e-4)
    assert short_id not in mem.gaussians.get_many([short_id])
    seen = gaussians.observations(mem.gaussians, short_id)
    assert seen.n == 1 and np.allclose(seen.variance(), fisher.PRIOR_SPREAD / len(seen.mean))
    mirrored = mem.store.synced_index().first_vectors([short_id, long_id])  # what the Fisher channel reads
    assert np.array_equal(mirrored[short_id], seen.mean) and np.array_equal(mirrored[long_id], chunks[0])


def test_corroboration_by_another_agent_observes_the_memory_again(cast):
    user, alice, bob = cast
    first = alice.remember(FACT, agent="alice", project="billing")
    before = gaussians.observations(user.gaussians, first)
    paraphrase = bob.remember(
        "Failed webhooks are retried 3 times by the billing service before on-call is paged.",
        agent="bob",
        project="billing",
    )
    assert user.trust.repo.memory(first).endorsers == ("agent:2",)  # bob corroborated alice's memory
    after = gaussians.observations(user.gaussians, first)
    expected = before.add(fisher.Observations.of(chunks_of(user, paraphrase)).mean)  # Welford, one more vector
    assert after.n == 2
    np.testing.assert_allclose(after.mean, expected.mean, atol=2e-3)
    np.testing.assert_allclose(after.m2, expected.m2, rtol=2e-2, atol=1e-5)
    bob.remember(FACT, agent="bob", project="billing")  # bob again, with alice's exact text: he counts once
    alice.remember(FACT, agent="alice", project="billing")  # her own restatement is no independent evidence
    assert gaussians.observations(user.gaussians, first).n == 2


def test_an_exact_restatement_by_another_agent_narrows_the_gaussian(cast):
    user, alice, bob = cast
    first = alice.remember(FACT, agent="alice", project="billing")
    before = gaussians.observations(user.gaussians, first)
    bob.remember(FACT, agent="bob", project="billing")  # the same text: bob gets alice's id back
    restated = gaussians.observations(user.gaussians, first)
    assert restated.n == 2 and np.allclose(restated.mean, before.mean, atol=2e-3)
    assert (restated.variance() < before.variance()).all()  # one more agreeing observation: less spread


def test_deleting_a_memory_deletes_its_gaussian(mem):
    long_id = mem.remember(LONG)
    mem.forget(long_id)
    assert mem.gaussians.count() == 0


def test_the_fisher_channel_ranks_candidates_by_fisher_rao_distance(mem):
    ids = mem.remember_many(
        [
            {"text": "The staging database is PostgreSQL 15 on port 5432."},
            {"text": "Our CI runs on GitHub Actions with a self-hosted runner."},
            {"text": LONG},
            {"text": "Production Postgres is version 14; the upgrade to 15 is planned."},
        ]
    )
    hits = mem.recall("which postgres version does staging run", 4, channels=["fisher"])
    assert hits[0].id == ids[0]
    distances = [h.channels["fisher"].score for h in hits]
    assert distances == sorted(distances) and all(d > 0 for d in distances)
    query = fisher.Observations.of(mem.store.query_chunks("which postgres version does staging run"))
    _, (n, mean, m2) = gaussians.of_candidates(
        mem.gaussians, [h.id for h in hits], mem.store.synced_index().first_vectors
    )
    expected = fisher.fisher_rao(query.mean, np.sqrt(query.variance()), mean, np.sqrt(fisher.posterior_variance(n, m2)))
    assert np.allclose([h.channels["fisher"].score for h in hits], expected)
    fused = mem.recall("which postgres version does staging run", 4, channels=["keyword", "vector", "fisher"])
    assert {"keyword", "vector", "fisher"} <= set(fused[0].channels)
    assert "fisher" not in mem.recall("postgres staging", 4)[0].channels  # not a default channel (by ablation)


def test_channels_are_checked(mem):
    mem.remember("The staging database is PostgreSQL 15.")
    with pytest.raises(InvalidInput, match="start from what another channel found"):
        mem.recall("postgres", channels=["graph", "temporal"])
    with pytest.raises(InvalidInput, match="unknown or no recall channels"):
        mem.recall("postgres", channels=["cosine"])
    assert mem.recall("postgres", channels=["fisher"])[0].channels.keys() == {"fisher"}


def test_the_cli_checks_channels(db_path):  # SQLite: the CLI takes no server URL yet (issue 24, a later step)
    run_json("remember", "The staging database is PostgreSQL 15.", "--db", db_path)
    assert run_json("recall", "postgres", "-c", "fisher", "--db", db_path)[0]["channels"].keys() == {"fisher"}
    check_refused(["recall", "postgres", "-c", "bm42"], db_path, 2, "unknown or no recall channels")


def test_a_schema_5_store_gets_gaussians_and_lifecycle_rows(tmp_path, slm_home):
    """Stores from before migration 0006: Gaussians are backfilled from chunks on open, lifecycle rows by SQL."""
    from slm.storage import migrations
    from slm.storage.connection import open_connection

    path = tmp_path / "old" / "memory.db"
    with Memory.open(path) as mem:
        long_id = mem.remember(LONG, meta={"importance": 0.9})
        short_id = mem.remember("The staging database is PostgreSQL 15.")
    undo_claims_migration(path)
    conn = open_connection(path)  # take it back to schema 5, as an older slm would have left it
    conn.execute("DROP TABLE memory_gaussians")
    conn.execute("DROP TABLE memory_lifecycle")
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    with Memory.open(path) as mem:
        assert migrations.schema_version(mem.conn) == len(migrations.load_migrations())
        assert set(mem.gaussians.get_many([long_id, short_id])) == {long_id}
        assert mem.gaussians.get_many([long_id])[long_id][0] == len(chunks_of(mem, long_id))
        assert not mem.gaussians.backfill_pending()
        life = mem.memory_lifecycle(long_id)
        assert life["zone"] == "active" and life["importance"] == 0.9 and life["uses"] == 1
        assert mem.memory_lifecycle(short_id)["importance"] == 0.5
