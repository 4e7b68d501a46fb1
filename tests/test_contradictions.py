"""Claims in time and the contradiction check, end to end on real stores: updates close older claims (history, not
deletion), disagreements between sources are flagged once and settled by the user, recall prefers what holds and
answers `as_of`, and a failing check never costs a write."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fastmcp import Client

from benchmarks.upgrade import to_schema_6 as undo_claims_migration
from slm import Memory
from slm.errors import InvalidInput, NotFound
from slm.facts import validity
from slm.mcp.server import build_server
from slm.storage import migrations
from slm.storage.trust import TrustRepository
from slm.trust import contradictions
from tests.test_cli import run, run_json

pytestmark = pytest.mark.both_backends
JAN, MAR, JUN = "2026-01-10T09:00:00Z", "2026-03-10T09:00:00Z", "2026-06-10T09:00:00Z"


def open_ones(mem: Memory) -> list[dict]:
    return mem.contradictions(status="open")


def test_two_sources_disagreeing_at_once_are_flagged_with_an_event(mem):
    first = mem.remember("api-gateway uses PostgreSQL 15", agent="claude-code", project="api", time=JAN)
    second = mem.remember("api-gateway stores its data in MySQL 8", agent="cursor", project="api", time=JAN)
    [found] = open_ones(mem)
    assert (found["subject"], found["attribute"], found["project"]) == ("api gateway", "database", "api")
    assert {c["memory_id"] for c in found["claims"]} == {first, second}
    assert {c["value"] for c in found["claims"]} == {"postgresql", "mysql"}
    assert found["severity"] == pytest.approx(1.0)  # two equally trusted sources, two values
    [event] = [e for e in mem.events.latest(limit=10) if e.type == "contradiction.found"]
    assert event.memory_id == second and event.payload["contradiction"] == found["id"]
    assert "PostgreSQL" not in str(event.payload)  # events carry ids, never memory text
    # the versions disagree too: one contradiction per subject and attribute
    assert [c["attribute"] for c in mem.contradictions(status=None)].count("database") == 1


def test_updates_in_time_close_the_old_claim_and_are_not_contradictions(mem):
    old = mem.remember("api-gateway uses PostgreSQL 15", agent="claude-code", project="api", time=JAN)
    new = mem.remember("We migrated api-gateway from Postgres to MySQL in March 2026.", agent="cursor", project="api")
    assert open_ones(mem) == []
    old_claims = mem.memory_claims(old)
    assert not old_claims["current"] and old_claims["valid_to"].startswith("2026-03-01")
    database = next(c for c in old_claims["claims"] if c["attribute"] == "database")
    assert database["superseded_by_memory"] == new and database["valid_to"].startswith("2026-03")
    assert mem.memory_claims(new)["current"]
    assert mem.get(old).content  # history is kept, not deleted

    hits = mem.recall("which database does api-gateway use", k=5)
    order = [h.id for h in hits]
    assert order.index(new) < order.index(old)
    assert {h.id: h.current for h in hits}[old] is False
    then = [h.id for h in mem.recall("which database does api-gateway use", as_of=JUN.replace("06", "02"))]
    assert old in then and new not in then  # in February, PostgreSQL held and the move had not happened
    now = [h.id for h in mem.recall("which database does api-gateway use", as_of=JUN)]
    assert new in now and old not in now


@pytest.mark.parametrize(
    ("first", "second", "agents"),
    [
        ("The worker uses Celery.", "The worker no longer uses Celery.", ("codex", "cursor")),  # "no longer"
        ("Priya owns the auth service.", "The auth service was handed over to Omar.", ("codex", "cursor")),
        ("billing runs on Python 3.11", "billing runs on Python 3.12", ("codex", "codex")),  # its author corrects it
        ("Since 2026-01-01 docs are hosted on Netlify", "Since 2026-05-01 docs are hosted on Vercel", ("a", "b")),
    ],
)
def test_changes_supersede(mem, first, second, agents):
    old = mem.remember(first, agent=agents[0], time=JAN)
    mem.remember(second, agent=agents[1], time=MAR)
    assert open_ones(mem) == []
    assert not mem.memory_claims(old)["current"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "payments-api uses Postgres 15.",
            "PostgreSQL 15 is the database of payments-api? No: payments-api runs on PostgreSQL 15.",
        ),
        ("Alice owns billing.", "billing is owned by Alice."),
        ("I prefer tabs over spaces.", "I prefer tabs to spaces"),
        ("api-gateway uses Redis for caching", "api-gateway uses Kafka for events"),  # different attributes
        ("search-api depends on elasticsearch", "search-api depends on requests"),  # many values at once
    ],
)
def test_paraphrases_and_compatible_facts_are_not_contradictions(mem, first, second):
    a = mem.remember(first, agent="claude-code", time=JAN)
    b = mem.remember(second, agent="cursor", time=JAN)
    assert open_ones(mem) == []
    assert mem.memory_claims(a)["current"] and mem.memory_claims(b)["current"]


def test_other_projects_are_other_contexts(mem):
    mem.remember("The API client uses axios.", agent="claude-code", project="web", time=JAN)
    mem.remember("The API client uses fetch, not axios.", agent="cursor", project="mobile", time=JAN)
    mem.remember("The api client's database is SQLite.", agent="claude-code", project="web", time=JAN)
    mem.remember("The api client's database is Realm.", agent="cursor", project="mobile", time=JAN)
    assert open_ones(mem) == []


def test_an_earlier_dated_fact_is_history_from_the_start(mem):
    current = mem.remember("ledger-service uses PostgreSQL", agent="codex", time=MAR)
    history = mem.remember("In 2024 ledger-service ran on MySQL.", agent="cursor")
    assert open_ones(mem) == []
    assert mem.memory_claims(current)["current"] and not mem.memory_claims(history)["current"]


def test_the_trust_signal_goes_against_the_outvoted_source_not_the_newer_one(mem):
    mem.remember("The notification-service port is 8080.", agent="claude-code", time=JAN)
    mem.remember("notification-service listens on port 8080", agent="codex", time=JAN)
    odd = mem.remember("notification-service port is 9090", agent="cursor", time=JAN)
    [found] = open_ones(mem)
    assert found["claims"][0]["memory_id"] == odd  # it carries the largest share
    assert mem.contradictions(memory_id=odd) == [found] and mem.contradictions(memory_id=odd + 99) == []
    signals = TrustRepository(mem.conn).signals_of("name:cursor", 100)
    assert [s.signal for s in signals if s.signal == "contradicted"] == ["contradicted"]
    assert all(s.signal != "contradicted" for s in TrustRepository(mem.conn).signals_of("name:codex", 100))


def test_a_tie_between_verified_agents_blames_nobody(cast):
    user, alice, bob = cast
    alice.remember("the orders service is written in Go", agent="alice", time=JAN)
    bob.remember("the orders service is written in Rust", agent="bob", time=JAN)
    [found] = open_ones(user)
    assert found["severity"] == pytest.approx(1.0)
    repo = TrustRepository(user.conn)
    assert not [
        s for s in repo.signals_of("agent:1", 100) + repo.signals_of("agent:2", 100) if s.signal == "contradicted"
    ]


def test_resolving_keeps_one_and_supersedes_the_others(mem):
    right = mem.remember("The mobile app's minimum iOS version is 16.", agent="claude-code", time=JAN)
    wrong = mem.remember("The mobile app's minimum iOS version is 15.", agent="cursor", time=JAN)
    [found] = open_ones(mem)
    resolved = mem.resolve_contradiction(found["id"], keep=right)
    assert resolved["status"] == "resolved" and str(right) in resolved["resolution"]
    assert open_ones(mem) == []
    assert not mem.memory_claims(wrong)["current"] and mem.memory_claims(right)["current"]
    assert any(s.signal == "superseded" for s in TrustRepository(mem.conn).signals_of("name:cursor", 100))
    with pytest.raises(InvalidInput, match="already resolved"):
        mem.resolve_contradiction(found["id"])


def test_a_dismissed_contradiction_is_not_raised_again(mem):
    mem.remember("The design system's package name is acme-ui.", agent="claude-code", time=JAN)
    mem.remember("The design system's package name is acme-design.", agent="cursor", time=JAN)
    [found] = open_ones(mem)
    mem.resolve_contradiction(found["id"])
    assert mem.contradiction(found["id"])["status"] == "dismissed"
    mem.remember("the design system's package name is acme-ui", agent="codex", time=JAN)  # re-checks the component
    assert len(open_ones(mem)) <= 1
    assert all(set(c["claims"][0]) for c in open_ones(mem))
    third = mem.remember("The design system's package name is acme-kit.", agent="copilot", time=JAN)
    [again] = open_ones(mem)  # a new value is a new disagreement
    assert third in {c["memory_id"] for c in again["claims"]}


def test_resolve_rejects_bad_input(mem):
    a = mem.remember("checkout-service is written in Kotlin", agent="claude-code", time=JAN)
    mem.remember("checkout-service is written in Java", agent="cursor", time=JAN)
    other = mem.remember("unrelated note about lunch", agent="cursor")
    [found] = open_ones(mem)
    with pytest.raises(NotFound, match="no contradiction with id 999"):
        mem.resolve_contradiction(999, keep=a)
    with pytest.raises(InvalidInput, match=f"memory {other} is not part of contradiction"):
        mem.resolve_contradiction(found["id"], keep=other)
    with pytest.raises(InvalidInput, match="contradiction id"):
        mem.contradiction("7")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="unknown status"):
        mem.contradictions(status="closed")
    assert open_ones(mem)[0]["id"] == found["id"]  # nothing changed


def test_deleting_a_side_settles_it_and_deleting_an_update_reopens_the_old_fact(mem):
    mem.remember("reports-service runs on Node 18", agent="claude-code", time=JAN)
    loud = mem.remember("reports-service runs on Node 20", agent="cursor", time=JAN)
    assert open_ones(mem)
    mem.forget(loud)
    assert open_ones(mem) == []
    assert mem.contradictions(status="resolved")
    old = mem.remember("search-api uses Elasticsearch", agent="codex", time=JAN)
    move = mem.remember("We moved search-api from Elasticsearch to OpenSearch in March 2026", agent="codex")
    assert not mem.memory_claims(old)["current"]
    mem.forget(move)
    assert mem.memory_claims(old)["current"]  # what superseded it is gone: it holds again


def test_update_closes_the_old_versions_claims(mem):
    old = mem.remember("The auth service port is 8080", agent="codex", time=JAN)
    new = mem.update(old, "The auth service port is 8443")
    claims = mem.memory_claims(old)
    assert not claims["current"] and claims["claims"][0]["superseded_by_memory"] == new
    assert open_ones(mem) == []


def test_a_failing_check_never_blocks_a_write(mem, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(contradictions, "check", broken)
    mem.remember("api-gateway uses PostgreSQL", agent="claude-code")
    stored = mem.remember("api-gateway uses MySQL", agent="cursor")
    assert mem.get(stored).content == "api-gateway uses MySQL"
    assert "contradiction check" in caplog.text
    monkeypatch.setattr(validity.claims, "extract", broken)
    assert mem.get(mem.remember("the cron runs at 02:00", agent="cursor")).id


def test_unparseable_text_makes_no_claims(mem):
    memory_id = mem.remember("¯\\_(ツ)_/¯ ```\nfor i in range(3): print(i)\n``` ok?? 🙂")
    assert mem.memory_claims(memory_id)["claims"] == []
    assert mem.memory_claims(memory_id)["current"]


def test_memories_that_claim_nothing_get_their_validity_between_and_after_the_others(mem):
    """They are written together (before a memory that aligns with neighbours, and at the end), not one by one."""
    texts = ["Thanks, that works!", "api-gateway uses PostgreSQL", "Sounds good to me.", "Great, merged.",
             "the search indexer is written in Rust", "See you tomorrow then."]  # fmt: skip
    ids = [mem.remember(text, agent="cursor", time=JAN) for text in texts]
    mem.conn.execute("UPDATE memories SET valid_from = NULL, valid_to = '2000-01-01T00:00:00Z'")
    statements = [validity.Statement(i, text, "default", "cursor", MAR) for i, text in zip(ids, texts, strict=True)]
    with mem.conn.transaction():
        mem.claims.place(statements, datetime.now(UTC))
    assert [mem.claims.repo.validity(i) for i in ids] == [(MAR, None)] * len(ids)


def test_huge_components_are_bounded(mem):
    items = [{"text": f"the flaky-test owner is person{i}", "agent": f"agent-{i}", "time": JAN} for i in range(120)]
    started = time.perf_counter()
    mem.remember_many(items)
    assert time.perf_counter() - started < 120  # not a timing target: a guard against a quadratic blow-up
    [found] = open_ones(mem)
    assert len(found["claims"]) <= contradictions.MAX_CLAIMS


@pytest.mark.sqlite_only(reason="a SQLite file taken back to schema 6: no PostgreSQL store predates claims")
def test_migration_from_schema_6_extracts_claims_of_older_memories(db_path):
    with Memory.open(db_path) as mem:
        a = mem.remember("api-gateway uses PostgreSQL", agent="claude-code", time=JAN)
        b = mem.remember("api-gateway uses MySQL", agent="cursor", time=JAN)
    undo_claims_migration(db_path)
    with Memory.open(db_path) as mem:
        assert migrations.schema_version(mem.conn) == len(migrations.load_migrations())
        assert not mem.claims.repo.backfill_pending()
        assert {c["value"] for c in mem.memory_claims(a)["claims"]} == {"postgresql"}
        [found] = open_ones(mem)
        assert {c["memory_id"] for c in found["claims"]} == {a, b}


def test_cli_lists_shows_and_resolves(db_arg):
    first = run_json("remember", "billing-service uses MongoDB", "--agent", "codex", "--db", db_arg)["id"]
    told = run("remember", "billing-service uses CockroachDB", "--agent", "cursor", "--db", db_arg)
    assert f"it disagrees with #{first} on billing · database: slm contradictions show 1" in told.output
    [found] = run_json("contradictions", "--db", db_arg)
    assert found["attribute"] == "database" and len(found["claims"]) == 2
    table = run("contradictions", "list", "--db", db_arg)
    assert table.exit_code == 0 and "billing" in table.stdout and "mongodb" in table.stdout
    detail = run("contradictions", "show", str(found["id"]), "--db", db_arg)
    assert "settle it: slm contradictions resolve" in detail.output
    neither = run("contradictions", "resolve", str(found["id"]), "--db", db_arg, code=2)
    assert "either --keep MEMORY_ID or --dismiss" in neither.output
    unknown = run_json("contradictions", "show", "999", "--db", db_arg, code=2)
    assert "no contradiction with id 999" in unknown["error"]
    kept = run_json("contradictions", "resolve", str(found["id"]), "--keep", str(first), "--db", db_arg)
    assert kept["status"] == "resolved"
    assert run_json("contradictions", "--db", db_arg) == []
    assert len(run_json("contradictions", "list", "--status", "all", "--db", db_arg)) == 1
    shown = run("show", str(first), "--db", db_arg)
    assert "billing · database = mongodb" in shown.stdout


def test_cli_recall_as_of(db_arg):
    old = run_json("remember", "The docs site is hosted on Netlify", "--time", JAN, "--db", db_arg)["id"]
    run_json("remember", "Since March 2026 the docs site is hosted on Vercel", "--db", db_arg)
    hits = run_json("recall", "where is the docs site hosted", "--as-of", "2026-02-01", "--db", db_arg)
    assert [h["id"] for h in hits] == [old]
    bad = run_json("recall", "docs", "--as-of", "last tuesday-ish", "--db", db_arg, code=2)
    assert "as_of" in bad["error"]


@pytest.mark.anyio
async def test_mcp_contradictions_tool_and_recall_as_of(store_at):
    with Memory.open(store_at) as mem:
        mem.remember("The ETL jobs are orchestrated by Airflow.", agent="codex", project="data", time=JAN)
        mem.remember("The ETL jobs are orchestrated by Dagster.", agent="cursor", project="data", time=JAN)
        async with Client(build_server(mem)) as client:
            found = (await client.call_tool("contradictions", {"project": "data"})).structured_content
            [item] = found["contradictions"]
            assert {c["value"] for c in item["claims"]} == {"apache airflow", "dagster"}
            assert sum(c["share"] for c in item["claims"]) == pytest.approx(1.0, abs=0.01)
            none = (await client.call_tool("contradictions", {"project": "web"})).structured_content
            assert none["contradictions"] == []
            recalled = await client.call_tool("recall", {"query": "ETL orchestration", "as_of": "2020-01-01"})
            assert recalled.structured_content["memories"] == []
            bad = await client.call_tool("contradictions", {"status": "closed"}, raise_on_error=False)
            assert bad.is_error


def test_before_successors_moves_replaced_facts_below_their_successors():
    from slm.recall.weighing import before_successors

    fused = [(1, 0.9, {}), (2, 0.8, {}), (3, 0.7, {}), (4, 0.6, {})]
    assert [i for i, _, _ in before_successors(fused, {1: {3}})] == [2, 3, 1, 4]
    assert before_successors(fused, {1: {3}})[2][1] == 0.7  # its score capped at its successor's
    assert [i for i, _, _ in before_successors(fused, {1: {3}, 3: {4}})] == [2, 4, 3, 1]
    assert before_successors(fused, {4: {1}}) == fused  # already below: nothing moves
    assert before_successors(fused, {1: {9}}) == fused  # a successor not in the results: nothing moves
    assert len(before_successors(fused, {1: {2}, 2: {1}})) == 4  # a cycle (never made by slm) still ends
