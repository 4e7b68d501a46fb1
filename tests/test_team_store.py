"""A team's store (issue 24): members' agents share projects, and a member's private memories reach no one else —
not through recall, listings, counts, reads by id, events or contradictions — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from slm import Memory
from slm.errors import Forbidden, NotFound

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
