"""The signals a learned ranking trains on (issue 23): feedback, uses (get, update, cite) and skips, linked to the
recall that showed them, weighted against position bias, without low-trust agents' or self-endorsements; kept in the
behaviour store on SQLite and PostgreSQL, erased and exported with it, and whole after a kill mid-write."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from slm import Memory
from slm.portability import erasure, exporter, importer
from slm.recall import signals
from slm.storage.erasure import behavior_leftovers
from tests.faults import crash_at, db_arg

pytestmark = pytest.mark.both_backends

NOTES = [
    "The staging deploy runs through the blue-green pipeline on Thursdays",
    "Deploy rollbacks use the runbook in ops/rollback.md, tested monthly",
    "The deploy of the billing service needs the Vault token renewed first",
    "After every deploy, the on-call checks the error budget dashboard",
]


def shown(mem: Memory, query: str, k: int = 4, **context) -> list[int]:
    """Recall `query` as the MCP server does (keyword channel, so the order is the same on both backends), logging
    it with its context; the ids shown, best first."""
    hits = mem.recall(query, k, channels=("keyword",))
    mem.record_recall(query, k, hits, **context)
    return [h.id for h in hits]


def by_memory(found: signals.Signals) -> dict[int, signals.Example]:
    return {e.memory_id: e for e in found.examples}


@pytest.fixture
def notes(mem) -> list[int]:
    return [mem.remember(t, project="ops", agent="writer") for t in NOTES]


def test_a_recall_keeps_its_context_and_feedback_links_to_it(mem, notes):
    ids = shown(mem, "deploy", agent="claude", session="s-1", project="ops")
    [recall] = mem.behavior.recalls_since()
    assert (recall.session, recall.project, recall.agent, recall.agent_id, recall.results) == (
        "s-1", "ops", "claude", None, ids,
    )  # fmt: skip
    mem.feedback(ids[1], True, agent="cursor")  # another agent: not linked to claude's recall
    mem.feedback(ids[1], True, agent="claude")
    linked = {row.agent: row.recall_id for row in mem.behavior.feedback_rows()}
    assert linked == {"cursor": None, "claude": recall.id}


def test_each_signal_labels_the_result_it_is_about(mem, notes):
    ids = shown(mem, "deploy", agent="claude")
    assert len(ids) == 4
    mem.feedback(ids[0], False, agent="claude")  # unhelpful, at rank 1
    assert mem.record_use("get", [ids[2]], agent="claude") == 1  # opened, at rank 3: ranks 1 (judged) and 2 skipped
    found = by_memory(mem.learning_signals())
    assert found[ids[0]].label == 0 and found[ids[0]].kinds == ("unhelpful",)
    assert found[ids[1]].label == 0 and found[ids[1]].kinds == ("skip",)
    assert found[ids[2]].label == 1 and found[ids[2]].kinds == ("get",) and found[ids[2]].rank == 3
    assert ids[3] not in found  # below everything used: no evidence either way
    theta = mem.learning_signals().propensities
    assert not theta.estimated  # four impressions: the prior curve 1/rank
    assert found[ids[2]].weight == pytest.approx(3.0)  # 1 / θ(3)
    assert found[ids[1]].weight == pytest.approx(0.5)  # a skip counts by θ(2), the chance it was looked at
    assert found[ids[0]].weight == pytest.approx(1.0)
    mem.feedback(ids[3], True, agent="claude")
    found = by_memory(mem.learning_signals())
    assert found[ids[3]].label == 1 and found[ids[3]].kinds == ("helpful",)
    assert found[ids[3]].weight == pytest.approx(4.0)
    assert found[ids[1]].kinds == ("skip",)  # now above two positives, still skipped


def test_an_update_and_a_cite_are_uses_and_an_unrelated_write_is_not(mem, notes):
    ids = shown(mem, "deploy", agent="claude")
    newer = mem.update(ids[1], NOTES[notes.index(ids[1])] + " (checked again in May)", agent="claude")
    assert mem.record_use("update", [ids[1]], agent="claude", by=int(newer)) == 1
    cite = mem.remember(f"The Friday freeze overrides #{ids[0]} for the holidays", agent="claude")
    assert mem.record_written(cite, agent="claude") == 1  # names the id
    echo = mem.remember(f"Remember: {NOTES[notes.index(ids[3])].lower()}", agent="claude")
    assert mem.record_written(echo, agent="claude") == 1  # repeats its words
    other = mem.remember("The cafeteria closes at three on Fridays", agent="claude")
    assert mem.record_written(other, agent="claude") == 0
    uses = {(u.memory_id, u.kind) for u in mem.behavior.uses_since()}
    assert uses == {(ids[1], "update"), (ids[0], "cite"), (ids[3], "cite")}
    found = by_memory(mem.learning_signals())
    assert {i: found[i].kinds for i in (ids[0], ids[1], ids[3])} == {
        ids[0]: ("cite",), ids[1]: ("update",), ids[3]: ("cite",),
    }  # fmt: skip
    assert found[ids[2]].kinds == ("skip",)


def test_a_use_links_only_to_the_same_agents_recent_recall(mem, notes):
    ids = shown(mem, "deploy", agent="claude")
    assert mem.record_use("get", [ids[0]], agent="cursor") == 0  # cursor never recalled it
    assert mem.record_use("get", [notes[0] + 1000], agent="claude") == 0  # never shown
    old = mem.behavior.record_recall(
        time="2020-01-01T00:00:00.000000Z", query="deploy", k=4, results=ids, agent="gemini", protocol="api"
    )
    assert old and mem.record_use("get", [ids[0]], agent="gemini") == 0  # shown too long ago
    again = shown(mem, "blue-green pipeline", k=1, agent="claude")
    assert mem.record_use("get", again, agent="claude") == 1
    [use] = mem.behavior.uses_since()
    assert use.recall_id == max(r.id for r in mem.behavior.recalls_since())  # the latest recall that showed it


def test_low_trust_agents_and_self_endorsement_do_not_train(cast):
    user, alice, bob = cast
    shared = [user.remember(t, project="ops", agent="writer") for t in NOTES]
    mine = bob.remember("Bob's checklist for the wiki page", project="ops")
    spam = [alice.remember(f"Alice's note {i}: the deploy needs coffee", project="ops") for i in range(2)]
    used = set()
    for name, agent in (("alice", alice), ("bob", bob)):
        ids = [i for i in shown(agent, "deploy", k=8) if i in shared]
        agent.record_use("get", [ids[0]])
        agent.feedback(ids[1], True)
        used |= {(name, ids[0]), (name, ids[1])}
    bob.feedback(mine, True)  # bob's own memory: no evidence it helped anyone
    found = user.learning_signals()
    assert found.left_out == {"low_trust": 0, "self_endorsement": 1}
    assert {(e.agent, e.memory_id) for e in found.examples if e.label == 1} == used
    user.reject(spam)  # the user rejects alice's writes: her trust falls below LOW_TRUST
    assert user.store.trust.trust(f"agent:{alice.verified_agent.id}") < signals.LOW_TRUST
    found = user.learning_signals()
    assert found.left_out == {"low_trust": 2, "self_endorsement": 1}  # her use and her feedback
    assert {e.agent for e in found.examples} == {"bob"}


def test_ipw_recovers_the_relevance_order_a_position_biased_log_hides():
    """Simulated users click with P = θ(rank)·relevance on rankings by a logging ranker that favours some
    middling memories: raw click rates repeat its order, inverse-propensity weighted ones recover relevance."""
    rng = np.random.default_rng(7)
    true_theta = 1.0 / np.arange(1, 11) ** 0.8
    queries, docs = 40, 10
    relevance = rng.uniform(0.05, 0.9, size=(queries, docs))
    favoured = rng.normal(0, 1.0, size=(queries, docs)) - 1.5 * relevance  # the logging ranker is poor
    log = []
    for _ in range(60):
        for q in range(queries):
            order = np.argsort(-(favoured[q] + rng.normal(0, 0.8, docs)))
            for rank, d in enumerate(order, 1):
                log.append((f"q{q}", d, rank, bool(rng.random() < true_theta[rank - 1] * relevance[q, d])))
    theta = signals.estimate_propensities(log, 10)
    assert theta.estimated
    assert np.abs(np.array(theta.by_rank) - true_theta).max() < 0.1
    raw, weighted, seen = (np.zeros((queries, docs)) for _ in range(3))
    for query, d, rank, clicked in log:
        q = int(query[1:])
        seen[q, d] += 1
        raw[q, d] += clicked
        weighted[q, d] += clicked / theta.at(rank)
    raw_tau = np.mean([_kendall(raw[q] / seen[q], relevance[q]) for q in range(queries)])
    ipw_tau = np.mean([_kendall(weighted[q] / seen[q], relevance[q]) for q in range(queries)])
    assert ipw_tau > raw_tau + 0.2, (raw_tau, ipw_tau)
    assert ipw_tau > 0.6


def _kendall(a: np.ndarray, b: np.ndarray) -> float:
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    return float(np.mean([np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in pairs]))


RECALLS = 500


def test_propensities_estimated_from_the_store_weight_its_examples(mem):
    """The same estimate from a log kept in the behaviour store: memories shown at moving ranks for repeated
    queries, used with P = θ(rank)·relevance; the examples' weights are the inverse of the estimated θ."""
    rng = np.random.default_rng(3)
    true_theta = 1.0 / np.arange(1, 6)
    relevance = {m: r for m, r in zip(range(1, 6), (0.9, 0.6, 0.4, 0.2, 0.05), strict=True)}
    behavior = mem.behavior
    for n in range(RECALLS):
        results = [int(m) for m in rng.permutation(list(relevance))]
        recall_id = behavior.record_recall(
            time=f"2026-01-01T00:00:{n % 60:02d}.{n:06d}Z", query="which deploy", k=5, results=results,
            agent="sim", protocol="api",
        )  # fmt: skip
        used = [m for rank, m in enumerate(results, 1) if rng.random() < true_theta[rank - 1] * relevance[m]]
        behavior.record_uses([("2026-01-01T00:01:00.000000Z", recall_id, m, "get", None) for m in used])
    found = mem.learning_signals()
    assert found.propensities.estimated and found.propensities.evidence == 5 * RECALLS
    assert np.abs(np.array(found.propensities.by_rank) - true_theta).max() < 0.12
    positives = [e for e in found.examples if e.label == 1]
    assert all(e.weight == pytest.approx(min(1 / found.propensities.at(e.rank), signals.MAX_WEIGHT)) for e in positives)
    rate = {m: sum(e.weight for e in positives if e.memory_id == m) / RECALLS for m in relevance}
    assert sorted(relevance, key=rate.get, reverse=True) == [1, 2, 3, 4, 5]


def test_erasing_a_memory_erases_its_uses_and_erase_behavior_empties_them(mem, notes):
    ids = shown(mem, "deploy", agent="claude")
    mem.record_use("get", [ids[0], ids[1]], agent="claude")
    cite = mem.remember(f"See #{ids[2]}: the token first", agent="claude")
    assert mem.record_written(cite, agent="claude") == 1
    mem.remember("The cafeteria closes at three on Fridays", agent="writer")
    survivor = shown(mem, "cafeteria", k=1, agent="claude")
    mem.record_use("get", survivor, agent="claude")
    receipt = erasure.erase(mem.transfers, erasure.Scope.of(ids=[cite]))
    assert receipt["counts"]["behavior.uses"] == 1
    assert behavior_leftovers(mem.behavior.conn, [cite]) == {
        "feedback": 0,
        "uses": 0,
        "recalls": 0,
        "events.payload": 0,
    }
    assert {u.kind for u in mem.behavior.uses_since()} == {"get"}
    erasure.erase(mem.transfers, erasure.Scope.of(ids=[ids[0]]))  # the deploy recall showed it: it goes, uses too
    assert [u.memory_id for u in mem.behavior.uses_since()] == survivor
    mem.transfers.erase_behavior()
    assert mem.behavior.uses_since() == [] and mem.behavior.recalls_since() == []


def test_export_and_import_keep_uses_and_feedback_links(mem, notes, tmp_path):
    ids = shown(mem, "deploy", agent="claude", session="s-9", project="ops")
    mem.record_use("get", [ids[2]], agent="claude")
    mem.feedback(ids[0], True, agent="claude")
    before = sorted((e.memory_id, e.label, e.kinds, e.rank) for e in mem.learning_signals().examples)
    out = io.StringIO()
    exporter.export(mem.transfers, out, behavior=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    [recall] = [r for r in records if r["type"] == "recall"]
    assert recall["session"] == "s-9" and [u["kind"] for u in recall["uses"]] == ["get"]
    path = tmp_path / "export.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    with Memory.open(tmp_path / "target" / "memory.db") as other:  # a fresh store: the ids change
        importer.import_file(other.transfers, path)
        texts = {row.id: row.content for row in mem.get_many(notes)}
        renumber = {row.id: row.id for row in other.list(limit=10)}
        renumber = {old: next(i for i in renumber if other.get(i).content == texts[old]) for old in notes}
        after = sorted((e.memory_id, e.label, e.kinds, e.rank) for e in other.learning_signals().examples)
        assert after == sorted((renumber[m], label, kinds, rank) for m, label, kinds, rank in before)
        importer.import_file(other.transfers, path)  # again: nothing doubles
        assert len(other.behavior.uses_since()) == 1


def test_a_kill_mid_write_leaves_no_use_half_written(mem, notes, store_at):
    ids = shown(mem, "deploy", agent="claude")
    cite = mem.remember(f"Both #{ids[0]} and #{ids[1]} apply to Friday deploys", agent="claude")
    script = (
        "from slm import Memory\n"
        f"with Memory.open({db_arg(store_at)!r}) as mem:\n"
        f"    mem.record_written({cite}, agent='claude')\n"
    )
    crash_at("behavior.use:1", script)  # after the first of its two uses, before the commit
    assert mem.behavior.uses_since() == []
    assert [r.results for r in mem.behavior.recalls_since()] == [ids]
    assert mem.record_written(cite, agent="claude") == 2  # done again, whole


def test_logging_a_use_without_any_recall_creates_no_behaviour_store(db_path):
    with Memory.open(db_path) as mem:
        first = mem.remember("Nothing recalled yet")
        assert mem.record_use("get", [first]) == 0 and mem.record_written(first) == 0
        assert mem.existing_behavior() is None


@pytest.mark.anyio
async def test_the_mcp_server_records_recalls_with_their_context_and_the_uses_that_follow(store_at):
    from fastmcp import Client
    from mcp_types import Implementation

    from slm.mcp.server import build_server

    def client(memory: Memory, name: str) -> Client:
        return Client(build_server(memory), client_info=Implementation(name=name, version="1"))

    async def call(c: Client, tool: str, **args) -> dict:
        return (await c.call_tool(tool, args)).structured_content

    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        async with client(memory, "writer") as c:
            for text in NOTES:
                await call(c, "remember", content=text, project="ops")
        async with client(memory, "cursor") as c:
            own = (await call(c, "remember", content="Cursor's note: no deploy on Fridays", project="ops"))["id"]
            ids = [m["id"] for m in (await call(c, "recall", query="deploy", k=5, project="ops"))["memories"]]
            theirs = [i for i in ids if i != own]
            await call(c, "get", ids=[theirs[0]])
            newer = await call(c, "update", id=own, content="Cursor's note: no deploy on Fridays or holidays")
            await call(c, "remember", content=f"Holiday deploys follow #{theirs[1]} too", project="ops")
            await call(c, "feedback", id=theirs[2], helpful=True)
        [recall] = memory.behavior.recalls_since()
        assert (recall.agent, recall.project, recall.results) == ("cursor", "ops", ids)
        assert recall.session is not None and recall.session.startswith("mcp-")
        uses = {(u.memory_id, u.kind, u.recall_id) for u in memory.behavior.uses_since()}
        assert uses == {(theirs[0], "get", recall.id), (own, "update", recall.id), (theirs[1], "cite", recall.id)}
        assert [row.recall_id for row in memory.behavior.feedback_rows()] == [recall.id]
        found = by_memory(memory.learning_signals())
        assert {i: found[i].label for i in [own, *theirs[:3]]} == dict.fromkeys([own, *theirs[:3]], 1)
        assert newer["previous"] == own
