"""A team's store (issue 24): members' agents share projects, and a member's private memories reach no one else —
not through recall, listings, counts, reads by id, events or contradictions — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from slm import Memory
from slm.errors import Forbidden, NotFound
from slm.portability import erasure

pytestmark = pytest.mark.both_backends

PLAN = "Alice's interview notes: the candidate from Oslo asked for a remote contract"
SHARED = "The team deploys the billing service with Helm every Thursday"


@pytest.fixture
def team(store_at):
    """The owner, and agents of two members: alice (two machines) and bob; plus an agent with no token."""
    with ExitStack() as stack:
        owner = stack.enter_context(Memory.open(store_at))
        agents = {}
        for name, member in (("alice-laptop", "alice"), ("alice-desk", "alice"), ("bob-laptop", "bob")):
            _, token = owner.add_agent(name, member=member)
            agent = stack.enter_context(Memory.open(store_at, protocol="mcp-http"))
            agent.authenticate(token)
            agents[name] = agent
        agents["anonymous"] = stack.enter_context(Memory.open(store_at, protocol="mcp-http"))
        yield owner, agents


def test_a_private_memory_reaches_only_its_members_agents_and_the_owner(team):
    owner, agents = team
    shared = agents["bob-laptop"].remember(SHARED, project="ops")
    private = agents["alice-laptop"].remember(PLAN, project="ops", private=True)
    assert owner.get(private).private_to == "member:alice"
    for name in ("alice-laptop", "alice-desk"):
        assert private in [h.id for h in agents[name].recall("candidate from Oslo remote contract", 5)]
        assert agents[name].get(private).content == PLAN
    assert private in [h.id for h in owner.recall("candidate from Oslo remote contract", 5)]
    for name in ("bob-laptop", "anonymous"):
        reader = agents[name]
        assert private not in [h.id for h in reader.recall("candidate from Oslo remote contract", 5)]
        assert [h.id for h in reader.recall("candidate from Oslo remote contract", 5)] == [shared]
        assert [m.id for m in reader.list(project="ops")] == [shared]
        assert reader.count(project="ops") == 1
        assert reader.browse(project="ops") == [shared]
        assert [m.id for m in reader.get_many([private, shared])] == [shared]
        assert private not in {e.memory_id for e in reader.events_after(0)}
        with pytest.raises(NotFound, match=f"no memory with id {private}"):
            reader.get(private)
        assert reader.visible_to_agents([private]) == []
    assert owner.count(project="ops") == 2


def test_an_update_keeps_it_private_and_others_cannot_change_it(team):
    owner, agents = team
    private = agents["alice-laptop"].remember(PLAN, project="ops", private=True)
    newer = agents["alice-laptop"].update(private, PLAN + ", starting in May")
    assert owner.get(newer).private_to == "member:alice"
    assert [m.id for m in agents["bob-laptop"].list(project="ops")] == []
    with pytest.raises(NotFound):
        agents["bob-laptop"].update(newer, "Bob's rewrite")
    with pytest.raises(NotFound):
        agents["bob-laptop"].forget(newer)
    assert owner.get(newer).content == PLAN + ", starting in May"


def test_the_same_text_as_someones_private_memory_is_refused_and_nothing_is_written(team):
    owner, agents = team
    agents["alice-laptop"].remember(PLAN, project="ops", private=True)
    before = owner.count()
    with pytest.raises(Forbidden, match="someone's private memory"):
        agents["bob-laptop"].remember(PLAN, project="ops")
    assert owner.count() == before


def test_only_an_authenticated_agent_or_the_owner_can_keep_a_memory_private(team):
    owner, agents = team
    with pytest.raises(Forbidden, match="only an authenticated agent"):
        agents["anonymous"].remember(PLAN, project="ops", private=True)
    assert owner.count() == 0
    mine = owner.remember("The owner's own reminder: renew the TLS certificate", project="ops", private=True)
    assert owner.get(mine).private_to == "user"
    assert agents["alice-laptop"].list(project="ops") == []
    with pytest.raises(Exception, match="private must be true or false"):
        owner.remember("flag check", private="yes")


def test_a_contradiction_does_not_show_a_private_claim_to_others(team):
    owner, agents = team
    agents["bob-laptop"].remember("api-gateway uses PostgreSQL 15", project="ops", time="2026-01-05T10:00:00Z")
    agents["alice-laptop"].remember(
        "api-gateway stores its data in MySQL 8", project="ops", time="2026-01-05T10:00:00Z", private=True
    )
    assert owner.contradictions(project="ops"), "the two claims disagree: the owner sees the contradiction"
    assert agents["bob-laptop"].contradictions(project="ops") == []
    assert agents["alice-desk"].contradictions(project="ops")


def test_members_show_in_the_agent_list(team):
    owner, _ = team
    members = {agent.name: agent.member for agent in owner.list_agents()}
    assert members == {"alice-laptop": "alice", "alice-desk": "alice", "bob-laptop": "bob"}


def test_trust_and_provenance_name_each_agents_member(team, db_arg):
    from tests.test_cli import run, run_json

    owner, agents = team
    written = agents["alice-desk"].remember(SHARED, project="ops")
    report = {row["name"]: row["member"] for row in owner.trust_report() if row["kind"] == "verified"}
    assert report == {"alice-laptop": "alice", "alice-desk": "alice", "bob-laptop": "bob"}
    author = owner.memory_trust(written)["author"]
    assert (author["name"], author["member"]) == ("alice-desk", "alice")
    assert {row["name"]: row["member"] for row in run_json("trust", "list", "--db", db_arg)}["bob-laptop"] == "bob"
    assert "member" in run("trust", "list", "--db", db_arg).stdout


def test_an_export_keeps_private_memories_private_in_the_store_it_is_imported_into(team, tmp_path, slm_home):
    owner, agents = team
    agents["bob-laptop"].remember(SHARED, project="ops")
    agents["alice-laptop"].remember(PLAN, project="ops", private=True)
    mine = owner.remember("The owner's own reminder: renew the TLS certificate", project="ops", private=True)
    export = tmp_path / "team.jsonl"
    with export.open("w") as out:
        owner.transfers.export(out)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert lines[0]["version"] == 4
    assert {r["content"]: r.get("private_to") for r in lines if r["type"] == "memory"} == {
        SHARED: None,
        PLAN: "member:alice",
        "The owner's own reminder: renew the TLS certificate": "user",
    }
    assert owner.get(mine).private_to == "user"
    with Memory.open(tmp_path / "moved" / "memory.db") as moved:
        moved.transfers.import_file(export)
        _, token = moved.add_agent("bob-at-home", member="bob")
        with Memory.open(tmp_path / "moved" / "memory.db", protocol="mcp-http") as bob:
            bob.authenticate(token)
            assert [m.content for m in bob.list(project="ops")] == [SHARED]
        assert {m.content: m.private_to for m in moved.list(project="ops")}[PLAN] == "member:alice"


# -- a project kept to one member -------------------------------------------------------------------------------------
ROADMAP = "Alice's hiring roadmap: two backend engineers in Oslo by March"
ROADMAP_QUERY = "hiring roadmap backend engineers Oslo"


def test_a_project_kept_to_a_member_reaches_only_their_agents_and_the_owner(team):
    owner, agents = team
    plan = agents["alice-laptop"].remember(ROADMAP, project="hiring", tags=["roadmap"])
    shared = agents["bob-laptop"].remember(SHARED, project="ops")
    assert owner.keep_project_private("hiring", member="alice") == {"project": "hiring", "private_to": "member:alice"}
    assert owner.get(plan).private_to is None, "the memory itself is unchanged: its project keeps it"
    for name in ("alice-laptop", "alice-desk"):
        assert plan in [h.id for h in agents[name].recall(ROADMAP_QUERY, 5)]
        assert agents[name].get(plan).content == ROADMAP
    for name in ("bob-laptop", "anonymous"):
        reader = agents[name]
        assert plan not in [h.id for h in reader.recall(ROADMAP_QUERY, 5)]
        assert [m.id for m in reader.list()] == [shared]
        assert reader.count() == 1 and reader.count(project="hiring") == 0
        assert [m.id for m in reader.get_many([plan, shared])] == [shared]
        with pytest.raises(NotFound, match=f"no memory with id {plan}"):
            reader.get(plan)
        assert "hiring" not in reader.stats()["projects"] and reader.stats()["memories"] == 1
        assert "roadmap" not in reader.tags() and "hiring" not in reader.counts("project")
        assert plan not in {e.memory_id for e in reader.events_after(0)}
        assert not [e.type for e in reader.events_after(0) if "hiring" in e.payload.values()]
    assert "project.kept_private" in [e.type for e in agents["alice-desk"].events_after(0)]
    assert owner.count() == 2 and owner.stats()["projects"] == {"hiring": 1, "ops": 1}
    assert [p["private_to"] for p in owner.projects() if p["name"] == "hiring"] == ["member:alice"]

    owner.share_project("hiring")
    assert plan in [h.id for h in agents["bob-laptop"].recall(ROADMAP_QUERY, 5)]
    assert owner.project("hiring")["private_to"] is None


def test_others_may_not_write_into_a_kept_project_and_nothing_is_written(team):
    owner, agents = team
    agents["alice-laptop"].remember(ROADMAP, project="hiring")
    owner.keep_project_private("hiring", member="alice")
    for name in ("bob-laptop", "anonymous"):
        with pytest.raises(Forbidden, match="'hiring' is kept private to another member"):
            agents[name].remember("Bob's note about hiring", project="hiring")
        with pytest.raises(Forbidden, match="kept private"):
            agents[name].remember_many([{"text": "fine", "project": "ops"}, {"text": "not", "project": "hiring"}])
    assert owner.count() == 1
    newer = agents["alice-desk"].remember("Alice's second note: offers go out in April", project="hiring")
    assert newer in [m.id for m in agents["alice-laptop"].list(project="hiring")]
    assert owner.remember("The owner writes there too", project="hiring") in [m.id for m in owner.list()]


def test_a_memory_private_to_someone_stays_theirs_inside_a_kept_project(team):
    owner, agents = team
    agents["alice-laptop"].remember(ROADMAP, project="hiring")
    mine = owner.remember("The owner's salary bands for the Oslo roles", project="hiring", private=True)
    owner.keep_project_private("hiring", member="alice")
    assert mine not in [m.id for m in agents["alice-laptop"].list(project="hiring")]
    owner.share_project("hiring")
    assert mine not in [m.id for m in agents["bob-laptop"].list(project="hiring")]


def test_kept_to_the_owner_no_agent_sees_it(team):
    owner, agents = team
    plan = agents["alice-laptop"].remember(ROADMAP, project="hiring")
    assert owner.keep_project_private("hiring")["private_to"] == "user"
    for reader in agents.values():
        assert reader.list(project="hiring") == [] and plan not in [h.id for h in reader.recall(ROADMAP_QUERY, 5)]


def test_only_the_owner_keeps_or_shares_a_project_and_only_one_that_exists(team):
    owner, agents = team
    agents["alice-laptop"].remember(ROADMAP, project="hiring")
    with pytest.raises(Forbidden, match="only the user may keep projects private"):
        agents["alice-laptop"].keep_project_private("hiring", member="alice")
    with pytest.raises(Forbidden, match="only the user may share projects"):
        agents["alice-laptop"].share_project("hiring")
    with pytest.raises(NotFound, match="no project named 'nowhere'"):
        owner.keep_project_private("nowhere", member="alice")
    with pytest.raises(Exception, match="member"):
        owner.keep_project_private("hiring", member="")
    assert owner.project("hiring")["private_to"] is None


def test_rename_carries_the_visibility_and_merge_refuses_to_mix_them(team):
    owner, agents = team
    plan = agents["alice-laptop"].remember(ROADMAP, project="hiring")
    agents["bob-laptop"].remember(SHARED, project="ops")
    owner.keep_project_private("hiring", member="alice")
    owner.rename_project("hiring", "recruiting")
    assert owner.project("recruiting")["private_to"] == "member:alice"
    assert plan not in [m.id for m in agents["bob-laptop"].list()]
    with pytest.raises(Exception, match="not kept to the same member"):
        owner.merge_projects("recruiting", "ops")
    assert owner.project("recruiting")["memories"] == 1
    owner.remember("Alice's older notes on recruiting agencies", project="agencies")
    owner.keep_project_private("agencies", member="alice")
    owner.merge_projects("agencies", "recruiting")
    assert owner.project("recruiting")["private_to"] == "member:alice" and owner.project("recruiting")["memories"] == 2


def test_an_export_of_a_kept_project_keeps_its_memories_private(team, tmp_path):
    owner, agents = team
    agents["alice-laptop"].remember(ROADMAP, project="hiring")
    owner.keep_project_private("hiring", member="alice")
    export = tmp_path / "team.jsonl"
    with export.open("w") as out:
        owner.transfers.export(out)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert lines[0]["version"] == 4
    assert [r.get("private_to") for r in lines if r["type"] == "memory"] == ["member:alice"]


def test_erasing_a_kept_projects_memories_forgets_whose_it_was(team):
    owner, agents = team
    plan = agents["alice-laptop"].remember(ROADMAP, project="hiring")
    owner.keep_project_private("hiring", member="alice")
    receipt = erasure.erase(owner.transfers, erasure.Scope.of(ids=[plan]))
    assert receipt["counts"]["orphaned project visibility"] == 1
    assert all(p["name"] != "hiring" for p in owner.projects())


def test_cluster_labels_do_not_draw_on_private_memories(team):
    owner, agents = team
    words = ["kubernetes", "helm", "chart", "rollout", "canary"]
    for i in range(12):
        agents["bob-laptop"].remember(f"Deploy note {i}: the {words[i % 5]} step of the billing release", project="ops")
    for i in range(12):
        agents["alice-laptop"].remember(f"Zanzibar offsite {i}: the secret acquisition of Quokka Labs", project="ops")
    owner.graph_build()
    owner.keep_project_private("ops", member="alice")
    labels = " ".join(c["label"] for c in owner.clusters(refresh=False)).lower()
    assert "zanzibar" not in labels and "quokka" not in labels
    assert agents["bob-laptop"].clusters(project="ops", refresh=False) == []
    assert agents["alice-desk"].clusters(project="ops", refresh=False)
    owner.share_project("ops")
    labels = " ".join(c["label"] for c in owner.clusters(refresh=False)).lower()
    assert "zanzibar" in labels or "quokka" in labels, "shared again, the labels may draw on them again"
