"""The lifecycle in a real store: uses folded in from the behaviour database, steps, zones, recall order, faces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastmcp import Client

from slm import Memory
from slm.errors import InvalidInput
from slm.lifecycle import langevin
from slm.lifecycle import steps as lifecycle
from slm.mcp.server import build_server
from tests.test_cli import run, run_json

pytestmark = pytest.mark.both_backends

STAGING = "The staging database is PostgreSQL 15, reached through the bastion host."
STAGING_TOO = "Staging runs a PostgreSQL 15 database behind the bastion host."
CI = "Our CI runs on GitHub Actions with a self-hosted runner in the office."


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def positions(mem: Memory) -> dict[int, float]:
    states = mem.lifecycle.states()
    return dict(zip(states.ids.tolist(), states.position.tolist(), strict=True))


def test_a_new_memory_starts_active_at_the_centre(mem):
    noted = mem.remember(STAGING)
    vital = mem.remember(CI, meta={"importance": 1})
    life = mem.memory_lifecycle(noted)
    assert life["zone"] == "active" and life["position"] == 0 and life["uses"] == 1 and life["rank_weight"] == 1
    assert life["importance"] == 0.5 and mem.memory_lifecycle(vital)["importance"] == 1
    assert mem.lifecycle_status()["zones"] == {"active": 2, "warm": 0, "cold": 0, "archived": 0}


def test_unused_memories_drift_out_and_are_archived_but_never_deleted(mem):
    kept = mem.remember(STAGING)
    important = mem.remember(CI, meta={"importance": 1})
    report = mem.lifecycle_step(now=later(3 * 365))
    assert report.step == 1 and report.memories == 2 and report.days > 3 * 364
    assert mem.memory_lifecycle(kept)["zone"] == "archived"
    assert abs(positions(mem)[important]) < abs(positions(mem)[kept])  # importance keeps it in reach longer
    assert kept not in [h.id for h in mem.recall("staging postgres database")]
    found = mem.recall("staging postgres database", archived=True)
    assert found[0].id == kept and found[0].zone == "archived"
    assert mem.recall("staging postgres database", lifecycle=False)[0].id == kept  # the baseline ignores zones
    assert mem.get(kept).content == STAGING and mem.count() == 2  # forgetting is not erasure


def test_the_memories_nearest_the_archive_come_farthest_first_without_the_archived(mem):
    ordinary = mem.remember(STAGING)
    important = mem.remember(CI, meta={"importance": 1})
    assert [n["memory"].id for n in mem.nearest_archive()] == [ordinary, important]  # both at the centre: by id
    mem.lifecycle_step(now=later(60))
    near = mem.nearest_archive(limit=5)
    assert [n["memory"].id for n in near] == [ordinary, important]  # importance keeps it nearer the centre
    assert (
        abs(near[0]["position"]) > abs(near[1]["position"])
        and near[0]["zone"] == mem.memory_lifecycle(ordinary)["zone"]
    )
    mem.lifecycle_step(now=later(3 * 365))
    assert ordinary not in [n["memory"].id for n in mem.nearest_archive()]  # archived: no longer near it
    with pytest.raises(InvalidInput):
        mem.nearest_archive(limit=0)


def test_use_pulls_a_memory_back_and_reorders_recall(mem, monkeypatch):
    staging = mem.remember(STAGING)
    twin = mem.remember(STAGING_TOO)
    before = [h.id for h in mem.recall("staging database bastion", 2)]
    unused = next(i for i in before if i in (staging, twin))
    used = twin if unused == staging else staging
    hits = mem.recall("which database does staging use", 2)
    mem.record_recall("which database does staging use", 2, hits, agent="claude-code")
    mem.feedback(used, True, agent="claude-code")
    report = mem.lifecycle_step(now=later(30))
    assert report.uses_folded == 2
    assert mem.memory_lifecycle(used)["uses"] > mem.memory_lifecycle(unused)["uses"] > 1
    assert abs(positions(mem)[used]) < abs(positions(mem)[unused])
    plain = {h.id: h.score for h in mem.recall("staging database bastion", 2, lifecycle=False)}
    weighed = mem.recall("staging database bastion", 2)
    for hit in weighed:  # the fused score times the lifecycle weight, nothing else
        assert hit.score == pytest.approx(plain[hit.id] * langevin.rank_weight(positions(mem)[hit.id]))
    monkeypatch.setattr(langevin, "RANK_FALLOFF", 0.1)  # the calibrated 0.01 only breaks near-ties: show the order
    after = mem.recall("staging database bastion", 2)
    assert after[0].id == used and after[0].score > after[1].score  # the lifecycle changed the order after fusion
    assert mem.lifecycle_step(now=later(30)).uses_folded == 0  # folded once


def test_steps_are_deterministic_given_the_seed(tmp_path, slm_home):
    born = datetime(2026, 1, 5, tzinfo=UTC)

    def history(name: str, seed: int) -> list[float]:
        with Memory.open(tmp_path / name / "memory.db") as mem:
            mem.remember_many([{"text": f"note {i} about service {i % 7} and its deploy window"} for i in range(12)])
            with mem.conn.transaction():  # the same history to the second: stored at one moment in both stores
                mem.conn.execute("UPDATE memory_lifecycle SET born = ?, last_used = ?", [lifecycle.days(born)] * 2)
            for days in (1, 2.5, 40):
                mem.lifecycle_step(now=born + timedelta(days=days), seed=seed)
            return [p for _, p in sorted(positions(mem).items())]

    first, again, other = history("a", 7), history("b", 7), history("c", 8)
    assert first == again
    assert first != other and np.allclose(first, other, atol=1.0)  # other noise, the same pull


def test_a_step_covers_each_memory_from_its_birth_or_the_last_step(mem):
    mem.remember(STAGING)
    assert mem.lifecycle_step(now=later(0)).days < 0.01
    assert not mem.lifecycle_status()["due"]
    assert mem.step_lifecycle_if_due() is None  # the faces' after-write check: the last step is fresh
    report = mem.lifecycle_step(now=later(10))
    assert 9.99 < report.days < 10.01 and report.changed  # ten days without use: out of the active zone
    assert mem.lifecycle_step(now=later(5)).days == 0  # a clock moved back moves nothing
    assert mem.lifecycle_status()["due"]  # the last step lies ahead (a replay): the faces step again from now on


def erase_behaviour_database(mem: Memory) -> None:
    """What `slm erase --behavior` will do: behavior.db deleted, or a server store's `behavior` schema dropped. The
    next use makes a new one, whose ids start again from 1."""
    if mem.store.location.on_server:
        mem.behavior.conn.execute("DROP SCHEMA behavior CASCADE")
    mem.behavior.close()
    mem.store._behavior = None
    if not mem.store.location.on_server:
        mem.path.with_name("behavior.db").unlink()


def test_uses_are_still_folded_after_the_behaviour_database_is_erased(mem):
    memory_id = mem.remember(STAGING)
    for _ in range(3):
        mem.feedback(memory_id, True)
    mem.lifecycle_step()
    erase_behaviour_database(mem)
    mem.feedback(memory_id, True)
    assert mem.behavior.last_ids() == (0, 1)  # a new database: the lifecycle's watermark (3) lies beyond it
    assert mem.lifecycle_step().uses_folded == 1
    assert mem.memory_lifecycle(memory_id)["uses"] == 1 + 4 * langevin.HELPFUL_USES


def test_bad_lifecycle_input_is_refused(mem):
    with pytest.raises(InvalidInput, match="seed"):
        mem.lifecycle_step(seed=-1)
    with pytest.raises(InvalidInput):
        mem.lifecycle_step(now="next tuesday-ish")
    assert lifecycle.importance_of({"importance": 7}) == lifecycle.importance_of({"importance": True}) == 0.5


def test_cli_lifecycle_status_run_show_and_recall(db_path):
    memory_id = run_json("remember", STAGING, "--db", db_path)["id"]
    status = run_json("lifecycle", "status", "--db", db_path)
    assert status["zones"]["active"] == 1 and status["steps"] <= 1
    assert "active" in run("lifecycle", "status", "--db", db_path).stdout
    assert run_json("lifecycle", "run", "--now", later(-1), "--seed", "3", "--db", db_path)["memories"] == 1
    future = run("lifecycle", "run", "--now", later(4 * 365), "--db", db_path, code=2)  # a replay, not a forecast
    assert "in the future" in future.stderr and "hint:" in future.stderr
    with Memory.open(db_path) as mem:  # four unused years, as a simulation would step them
        report = mem.lifecycle_step(now=later(4 * 365))
    assert report.zones == {"archived": 1} and report.changed == {"active->archived": 1}
    assert "archived" in run("lifecycle", "run", "--db", db_path).stdout  # due again: its last step lies ahead
    assert run_json("recall", "staging database", "--db", db_path) == []
    hits = run_json("recall", "staging database", "--include-archived", "--db", db_path)
    assert hits[0]["id"] == memory_id and hits[0]["zone"] == "archived"
    assert run_json("show", memory_id, "--db", db_path)["lifecycle"]["zone"] == "archived"
    assert "archived (distance" in run("show", memory_id, "--db", db_path).stdout
    refused = run("lifecycle", "run", "--now", "yesterday-ish", "--db", db_path, code=2)
    assert "error:" in refused.stderr and "hint:" in refused.stderr


@pytest.mark.anyio
async def test_mcp_steps_after_writes_and_recall_reports_zones(store_at):
    with Memory.open(store_at, protocol="mcp-stdio") as mem:
        async with Client(build_server(mem)) as client:
            stored = await client.call_tool("remember", {"content": STAGING})
            memory_id = stored.structured_content["id"]
            assert mem.lifecycle_status()["steps"] == 1  # a write, and no step yet: the server ran one
            await client.call_tool("remember", {"content": CI})
            assert mem.lifecycle_status()["steps"] == 1  # not due again for an hour
            mem.lifecycle_step(now=later(4 * 365))
            default = (await client.call_tool("recall", {"query": "staging database"})).structured_content
            assert memory_id not in [m["id"] for m in default["memories"]]
            found = await client.call_tool("recall", {"query": "staging database", "include_archived": True})
            hit = found.structured_content["memories"][0]
            assert hit["id"] == memory_id and hit["zone"] == "archived"
            fisher = await client.call_tool(
                "recall", {"query": "staging database", "include_archived": True, "channels": ["fisher"]}
            )
            assert fisher.structured_content["memories"][0]["id"] == memory_id
            refused = await client.call_tool("recall", {"query": "x", "channels": ["cosine"]}, raise_on_error=False)
            assert refused.is_error


@pytest.mark.sqlite_only  # SQLite's query plan
def test_leaving_archived_memories_out_reads_indexes_not_the_whole_table(mem):
    """Every unfiltered recall runs this: a UNION (not UNION ALL) made SQLite scan all memories (145 ms at 100k)."""
    from slm.storage.memories import _hidden_query

    plan = " ".join(str(row[-1]) for row in mem.conn.execute("EXPLAIN QUERY PLAN " + _hidden_query(True)))
    assert "SCAN memories" not in plan and "memory_lifecycle_zone" in plan


def test_only_a_whole_use_moves_the_last_use(mem):
    """A recall's other hits were returned, not used: they add a fraction of a use but keep their last use."""
    first, second = mem.remember(STAGING), mem.remember(STAGING_TOO)
    stored = {i: mem.memory_lifecycle(i)["last_used"] for i in (first, second)}
    hits = mem.recall("staging database bastion", 2)
    mem.record_recall("staging database bastion", 2, hits)
    mem.lifecycle_step(now=later(1))
    top, other = (mem.memory_lifecycle(h.id) for h in hits)
    assert top["uses"] == 2 and other["uses"] == 1.5
    assert other["last_used"] == stored[hits[1].id]  # unchanged: its half use counts, but not as recent
    assert top["last_used"] >= stored[hits[0].id]


def test_hits_report_trust_and_zone_even_when_they_do_not_weigh(mem):
    memory_id = mem.remember(STAGING)
    mem.lifecycle_step(now=later(20))
    zone = mem.memory_lifecycle(memory_id)["zone"]
    assert zone == "cold"
    for options in ({}, {"lifecycle": False}, {"trust": False, "lifecycle": False}):
        assert mem.recall("staging database", **options)[0].zone == zone
    plain, weighed = mem.recall("staging database", lifecycle=False)[0], mem.recall("staging database")[0]
    assert plain.score > weighed.score  # the same memory, weighed down by its distance only when asked
