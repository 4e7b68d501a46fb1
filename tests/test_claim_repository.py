"""The reads placing a claim relies on: a new claim's rivals, chosen from the newest current claims of its key as
migration 0012's index holds them."""

from __future__ import annotations

import random

import pytest

from slm.storage import migrations
from slm.storage.claims import WINDOW, ClaimRepository, ClaimRow
from slm.storage.db import open_db

pytestmark = pytest.mark.both_backends

MEMORIES = 12
# The rivals as one plain statement: the newest `limit` current claims of the key, then those that may disagree
PLAIN = (
    "SELECT id FROM (SELECT * FROM claims WHERE subject = ? AND attribute = ? AND project = ? AND valid_to IS NULL "
    "ORDER BY valid_from DESC, id DESC LIMIT ?) AS w WHERE memory_id != ? AND ((value = ? AND polarity != ?) "
    "OR (? = 1 AND single = 1 AND polarity > 0)) ORDER BY valid_from, id"
)


@pytest.fixture
def repo(store_at):
    conn = open_db(store_at)
    migrations.migrate(conn)
    conn.executemany(
        "INSERT INTO memories (id, content, content_hash, created_at, agent, project) VALUES (?, ?, ?, ?, 'a', 'p')",
        [(i, f"note {i}", f"hash {i}", "2026-01-01T00:00:00Z") for i in range(1, MEMORIES + 1)],
    )
    yield ClaimRepository(conn)
    conn.close()


def _claim(rng: random.Random) -> ClaimRow:
    """A claim of one of a few keys, values and days: many ties in time, so the order by id matters too."""
    return ClaimRow(
        0, rng.randint(1, MEMORIES), rng.choice(["api", "web"]), "database", rng.choice(["mysql", "postgresql"]),
        rng.choice([1, 1, -1]), rng.random() < 0.7, False, "uses", "p", f"agent:{rng.choice('ab')}",
        f"2026-01-{rng.randint(1, 9):02d}T00:00:00Z",
    )  # fmt: skip


def test_a_claims_rivals_are_those_one_plain_statement_finds(repo):
    rng = random.Random(20)
    stored = [repo.add(_claim(rng)) for _ in range(300)]
    assert [c.id for c in stored] == list(range(1, 301)) and stored[0] == repo.get_many([1])[0]
    for claim in rng.sample(stored, 60):
        repo.close(claim.id, "2026-02-01T00:00:00Z", None)
    sizes = []
    for _ in range(400):
        new, limit = _claim(rng), rng.choice([1, 4, 16, 128])
        narrow = int(new.single and new.polarity > 0)
        plain = repo.conn.execute(PLAIN, (*new.key, limit, new.memory_id, new.value, new.polarity, narrow))
        expected = [claim_id for (claim_id,) in plain]
        found = repo.rivals(new, limit)
        assert [c.id for c in found] == expected
        assert found == sorted(repo.get_many(expected), key=lambda c: (c.valid_from, c.id))  # read in full
        sizes.append((len(expected), limit))
    assert any(n == 0 for n, _ in sizes) and any(n >= 8 for n, _ in sizes) and any(n == limit for n, limit in sizes)


@pytest.mark.sqlite_only(reason="SQLite's plan: PostgreSQL plans a table this small by statistics, not by the index")
def test_the_window_of_a_key_is_read_from_the_index_alone(repo):
    plan = " ".join(row[3] for row in repo.conn.execute("EXPLAIN QUERY PLAN " + WINDOW, ("api", "database", "p", 9)))
    assert "COVERING INDEX claims_key" in plan and "TEMP B-TREE" not in plan
