"""`slm graph …` and the MCP `clusters` tool and `slm://clusters` resource, over a real store."""

from __future__ import annotations

import json

import pytest

from slm import Memory
from slm.mcp.server import build_server
from tests.test_cli import check_refused, run, run_json
from tests.test_graph import fill

pytestmark = pytest.mark.both_backends


@pytest.fixture
def store(store_at):
    with Memory.open(store_at) as mem:
        ids = fill(mem)
    return store_at, ids


def test_graph_build_clusters_show_and_neighbors(store, db_arg):
    db, (_, ids) = db_arg, store
    report = run_json("graph", "build", "--db", db)
    assert report["memories"] == 18 and report["clusters"] >= 3 and report["seconds"] >= 0
    listed = run_json("graph", "clusters", "--db", db)
    assert sum(c["size"] for c in listed) >= 17 and all(c["label"] for c in listed)
    lisbon = next(c for c in listed if "Lisbon" in c["label"])
    shown = run_json("graph", "show", str(lisbon["id"]), "--limit", "2", "--db", db)
    assert shown["id"] == lisbon["id"] and len(shown["memories"]) == 2 and shown["memories"][0]["content"]
    near = run_json("graph", "neighbors", str(ids["travel"][1]), "--db", db)
    assert ids["travel"][0] in [n["memory"]["id"] for n in near["neighbors"]]
    assert {"name": "Lisbon", "kind": "place"} in near["entities"]
    human = run("graph", "clusters", "--db", db).stdout
    assert "Lisbon" in human and "PostgreSQL" in human
    assert "session" in run("graph", "neighbors", str(ids["travel"][1]), "--db", db).stdout
    assert "Lisbon" in run("graph", "show", str(lisbon["id"]), "--db", db).stdout


def test_graph_commands_refuse_bad_input(store, db_arg):
    db = db_arg
    check_refused(["graph", "show", "999"], db, 2, "no cluster with id 999")
    check_refused(["graph", "neighbors", "999"], db, 2, "no memory with id 999")
    assert "Invalid value" in run("graph", "show", "x", "--db", db, code=2).stderr
    assert run_json("graph", "show", "x", "--db", db, code=2)["error"]
    check_refused(["graph", "clusters", "--project", ""], db, 2, "project")


@pytest.mark.anyio
async def test_clusters_tool_and_resource(store):
    from fastmcp import Client

    db, _ = store
    with Memory.open(db) as memory:
        async with Client(build_server(memory)) as c:
            tool = await c.list_tools()
            (clusters,) = [t for t in tool if t.name == "clusters"]
            assert clusters.annotations.destructive_hint is False and clusters.annotations.idempotent_hint is True
            found = (await c.call_tool("clusters", {})).structured_content
            assert found["omitted"] == 0 and any("Lisbon" in x["label"] for x in found["clusters"])
            small = (await c.call_tool("clusters", {"max_tokens": 100})).structured_content
            assert len(json.dumps(small)) <= 400 and len(small["clusters"]) + small["omitted"] == len(found["clusters"])
            resource = json.loads((await c.read_resource("slm://clusters"))[0].text)
            assert resource["clusters"] == found["clusters"]
            none = (await c.call_tool("clusters", {"project": "nowhere"})).structured_content
            assert none["clusters"] == []
