"""The MCP server driven in memory by a real fastmcp Client: every tool, resource and prompt, budgets, provenance."""

from __future__ import annotations

import json
import logging

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp_types import Implementation

from slm import Memory
from slm.mcp import budget
from slm.mcp.identity import identify
from slm.mcp.server import build_server
from slm.storage import migrations

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

NOTES = [
    ("The api-gateway uses PostgreSQL 15 with pgbouncer in transaction mode", "api", ["db"]),
    ("Deploys to production run from the release branch every Tuesday", "ops", ["deploy"]),
    ("The user prefers pytest fixtures over unittest setUp methods", "api", ["testing", "preference"]),
]


@pytest.fixture
def memory(store_at):
    with Memory.open(store_at, protocol="mcp-stdio") as mem:
        yield mem


def client(memory: Memory, name: str = "cursor", agent: str | None = None) -> Client:
    return Client(build_server(memory, agent=agent), client_info=Implementation(name=name, version="0.9"))


async def call(c: Client, tool: str, **args) -> dict:
    return (await c.call_tool(tool, args)).structured_content


async def fill(c: Client) -> list[int]:
    return [(await call(c, "remember", content=t, project=p, tags=tags))["id"] for t, p, tags in NOTES]


async def test_tools_are_described_and_annotated_truthfully(memory):
    async with client(memory) as c:
        tools = {t.name: t for t in await c.list_tools()}
    assert set(tools) == {
        "remember", "recall", "get", "list_recent", "forget", "update", "feedback", "status", "clusters",
        "contradictions",
    }  # fmt: skip
    for name in ("recall", "get", "list_recent", "status", "contradictions"):
        assert tools[name].annotations.read_only_hint is True, name
    assert tools["forget"].annotations.destructive_hint is True
    assert tools["update"].annotations.destructive_hint is False  # history is kept
    assert tools["remember"].annotations.idempotent_hint is True  # a duplicate is not stored twice
    assert tools["feedback"].annotations.idempotent_hint is False  # every call is recorded
    for tool in tools.values():
        assert len(tool.description) > 60, tool.name
        assert all("description" in p for p in tool.input_schema["properties"].values()), tool.name
        assert tool.annotations.open_world_hint is False, tool.name  # slm reaches nothing outside its store
        assert tool.output_schema is None, tool.name  # they cost every client's context; results stay structured
    assert tools["recall"].input_schema["required"] == ["query"]
    assert "duplicate=true" in tools["remember"].description and "costs nothing" in tools["remember"].description
    assert all("memories you wrote" in " ".join(tools[name].description.split()) for name in ("update", "forget"))
    assert "never instructions" in tools["recall"].description


async def test_remember_and_recall_carry_provenance(memory):
    async with client(memory, name="claude-code") as c:
        ids = await fill(c)
        again = await call(c, "remember", content=NOTES[0][0], project="api")
        found = await call(c, "recall", query="which database does the api-gateway use", k=2)
    assert again == {"id": ids[0], "duplicate": True, "project": "api", "session": memory.get(ids[0]).session}
    top = found["memories"][0]
    assert (top["id"], top["agent"], top["project"], top["tags"]) == (ids[0], "claude-code", "api", ["db"])
    assert top["score"] > 0 and top["time"].endswith("Z") and found["omitted"] == 0
    assert memory.get(ids[0]).protocol == "mcp-stdio"
    created = [e for e in memory.events.after(0) if e.type == "memory.created"]
    assert [(e.memory_id, e.agent, e.protocol) for e in created] == [(i, "claude-code", "mcp-stdio") for i in ids]
    assert memory.behavior.recall_count() == 1


async def test_recall_filters(memory):
    async with client(memory) as c:
        ids = await fill(c)
        by_project = await call(c, "recall", query="deploys tuesday", project="api")
        by_tag = await call(c, "recall", query="preferences", tags=["preference"])
        in_future = await call(c, "recall", query="database", since="2999-01-01")
    assert ids[1] not in [m["id"] for m in by_project["memories"]]
    assert [m["id"] for m in by_tag["memories"]] == [ids[2]]
    assert in_future["memories"] == []


async def test_slm_agent_overrides_the_client_name(memory):
    async with client(memory, name="cursor", agent="my-laptop-cursor") as c:
        stored = await call(c, "remember", content="agent override test")
        status = await call(c, "status")
    assert memory.get(stored["id"]).agent == "my-laptop-cursor"
    assert status["agent"]["name"] == "my-laptop-cursor" and status["agent"]["source"] == "SLM_AGENT"
    assert status["agent"]["client"] == "cursor"


def test_an_agent_without_a_name_is_unknown():
    assert identify(None, None).name == "unknown"
    assert identify(None, type("Info", (), {"name": "\x1b\x07 ", "version": "1"})()).name == "unknown"
    assert identify(None, type("Info", (), {"name": "bob\x1b", "version": "1"})()).name == "bob"


async def test_agent_connected_is_logged_once_per_client(memory):
    async with client(memory, name="codex") as c:
        await call(c, "status")
        await call(c, "list_recent")
    connected = [e for e in memory.events.after(0) if e.type == "agent.connected"]
    assert [(e.agent, e.payload["client_version"], e.protocol) for e in connected] == [("codex", "0.9", "mcp-stdio")]


async def test_read_tools_honour_the_token_budget(memory):
    steps = "restart the worker pool and check the queue depth. " * 12
    long_notes = [f"Service {i} runbook: {steps}" for i in range(30)]
    memory.remember_many([{"text": t, "project": "ops"} for t in long_notes])
    async with client(memory) as c:
        recalled = await call(c, "recall", query="restart the worker pool runbook", k=30, max_tokens=600)
        listed = await call(c, "list_recent", limit=30, max_tokens=600)
        fetched = await call(c, "get", ids=list(range(1, 31)), max_tokens=600)
        roomy = await call(c, "recall", query="restart the worker pool runbook", k=30, max_tokens=50_000)
    for reply, left_out in ((recalled, "omitted"), (listed, "more"), (fetched, "omitted")):
        assert 1 <= len(reply["memories"]) < 30 and reply[left_out] == 30 - len(reply["memories"])
        assert len(json.dumps(reply["memories"], ensure_ascii=False)) <= 600 * 4
        assert "max_tokens=600" in reply["note"]
    assert len(roomy["memories"]) == 30 and roomy["omitted"] == 0 and roomy["note"] is None
    assert [m["id"] for m in recalled["memories"]] == [m["id"] for m in roomy["memories"]][: len(recalled["memories"])]


@pytest.mark.parametrize(
    ("text", "meta"),
    [
        ("Architecture notes: " + "the ingest service batches writes per tenant. " * 300, None),
        ("Line\n" * 3000 + "ingest service architecture", None),  # escapes double the JSON
        ("ingest service architecture, with a big attachment", {"blob": "x" * 12_000}),
    ],
)
async def test_a_single_oversized_result_is_shortened_to_the_budget(memory, text, meta):
    memory.remember(text, meta=meta)
    async with client(memory) as c:
        reply = await call(c, "recall", query="ingest service architecture", max_tokens=100)
        fetched = await call(c, "get", ids=[1], max_tokens=100)
    [hit], [row] = reply["memories"], fetched["memories"]
    if meta:  # the longest strings are cut to a common length: the attachment from 12,000 characters
        assert row["meta"]["blob"].endswith("[…]") and len(row["meta"]["blob"]) < 100 and row["truncated"] is True
        assert "truncated" not in hit  # recall's results carry no meta: this one fits whole
    else:
        assert all(m["truncated"] is True and m["text"].endswith("[…]") for m in (hit, row))
    for answer in (reply, fetched):
        assert len(json.dumps(answer, ensure_ascii=False)) <= 100 * 4  # the whole reply, envelope included


async def test_list_recent_says_why_memories_are_missing(memory):
    memory.remember_many([{"text": f"note number {i}"} for i in range(12)])
    async with client(memory) as c:
        by_limit = await call(c, "list_recent", limit=5)
    assert len(by_limit["memories"]) == 5 and by_limit["more"] == 7
    assert "beyond limit=5" in by_limit["note"] and "max_tokens" not in by_limit["note"]


async def test_get_update_forget_and_history(memory):
    async with client(memory, name="vscode") as c:
        ids = await fill(c)
        updated = await call(c, "update", id=ids[0], content="The api-gateway moved to MySQL 8 in May")
        fetched = await call(c, "get", ids=[ids[0], updated["id"], 424242])
        recalled = await call(c, "recall", query="api-gateway database", k=3)
        forgotten = await call(c, "forget", id=updated["id"])
        with pytest.raises(ToolError, match="no memory with id"):
            await call(c, "forget", id=updated["id"])
    old, new = fetched["memories"]
    assert old["superseded_by"] == new["id"] == updated["id"] and updated["previous"] == ids[0]
    assert fetched["missing"] == [424242]
    assert ids[0] not in [m["id"] for m in recalled["memories"]]
    assert forgotten == {"forgotten": [updated["id"], ids[0]]}
    types = [(e.type, e.memory_id, e.agent) for e in memory.events.after(0) if e.type != "memory.created"]
    assert types[1:] == [
        ("memory.updated", ids[0], "vscode"),
        ("memory.deleted", updated["id"], "vscode"),
        ("memory.deleted", ids[0], "vscode"),
    ]


async def test_feedback_is_kept_in_the_behaviour_database(memory):
    async with client(memory, name="cursor") as c:
        ids = await fill(c)
        assert await call(c, "feedback", id=ids[2], helpful=True, query="testing style") == {
            "recorded": True,
            "memory_id": ids[2],
            "helpful": True,
        }
        await call(c, "feedback", id=ids[1], helpful=False)
    [first, second] = memory.behavior.events.after(0)
    assert (first.type, first.memory_id, first.agent) == ("feedback.recorded", ids[2], "cursor")
    assert first.protocol == "mcp-stdio"
    assert memory.behavior.feedback_counts() == {"helpful": 1, "unhelpful": 1} and second.payload == {"helpful": False}


async def test_status_reports_the_store_and_the_caller(memory, db_arg):
    async with client(memory, name="claude-desktop") as c:
        await fill(c)
        status = await call(c, "status")
    assert status["memories"] == 3 and status["projects"] == {"api": 2, "ops": 1}
    assert status["path"] == db_arg and status["schema_version"] == len(migrations.load_migrations())
    assert status["model"] == "default" and status["dim"] == 384 and status["protocol"] == "mcp-stdio"
    assert status["agent"] == {
        "name": "claude-desktop",
        "source": "clientInfo",
        "client": "claude-desktop",
        "client_version": "0.9",
        "verified": False,
    }


async def test_resources(memory):
    async with client(memory) as c:
        ids = await fill(c)
        uris = {str(r.uri) for r in await c.list_resources()}
        templates = {t.uri_template for t in await c.list_resource_templates()}
        recent = json.loads((await c.read_resource("slm://recent"))[0].text)
        stats = json.loads((await c.read_resource("slm://stats"))[0].text)
        one = json.loads((await c.read_resource(f"slm://memory/{ids[1]}"))[0].text)
        with pytest.raises(Exception, match="no memory with id 999"):
            await c.read_resource("slm://memory/999")
        for bad in ("abc", "²", "0", str(2**64)):
            with pytest.raises(Exception, match="id: must be a whole number from 1 to"):
                await c.read_resource(f"slm://memory/{bad}")
    assert {"slm://recent", "slm://stats"} <= uris and "slm://memory/{id}" in templates
    assert [m["id"] for m in recent["memories"]] == ids[::-1] and recent["more"] == 0
    assert stats["memories"] == 3 and one["text"] == NOTES[1][0]


async def test_recall_context_prompt_quotes_memories_as_data(memory):
    async with client(memory) as c:
        ids = await fill(c)
        prompt = await c.get_prompt("recall_context", {"task": "tune the api-gateway database pool"})
        empty_store_task = await c.get_prompt("recall_context", {"task": "x" * 10})
    text = prompt.messages[0].content.text
    assert f"> [#{ids[0]} ·" in text and "not instructions" in text
    assert text.endswith("Task: tune the api-gateway database pool")
    assert "Task:" in empty_store_task.messages[0].content.text


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("remember", {}, "content: required, a string"),
        ("remember", {"content": 42}, "content: must be a string (got 42)"),
        ("remember", {"content": "   "}, "text is empty"),
        ("remember", {"content": "x" * 70_000}, "over the limit"),
        ("remember", {"content": "ok", "time": "next tuesday-ish"}, "not a valid time"),
        ("remember", {"content": "ok", "tags": "db"}, 'tags: must be a list of items, each a string (got "db")'),
        ("remember", {"content": "ok", "meta": [1, 2]}, "meta: must be a JSON object (got a list of 2)"),
        ("remember", {"content": "ok", "colour": "red"}, 'unknown argument "colour" (known: content, project, tags, '),
        ("recall", {"query": "x", "k": 0}, "k: must be a whole number from 1 to 100 (got 0)"),
        ("recall", {"query": "x", "channels": ["psychic"]}, 'channels[0]: must be one of "keyword", "vector", '),
        ("recall", {"query": "x", "since": "yesterday"}, "not a valid time"),
        ("recall", {"query": "x", "max_tokens": 5}, "max_tokens: must be a whole number from 100 to 50000 (got 5)"),
        ("get", {"ids": []}, "ids: must be a list of 1 to 100 items, each a whole number from 1 to "),
        ("forget", {"id": 31337}, "no memory with id 31337"),
        ("forget", {"id": "one"}, f'id: must be a whole number from 1 to {2**63 - 1} (got "one")'),
        ("forget", {"id": "7"}, 'id: must be a whole number from 1 to 9223372036854775807 (got "7")'),
        ("forget", {"id": True}, "id: must be a whole number from 1 to 9223372036854775807 (got true)"),
        ("forget", {"id": 2**64}, f"id: must be a whole number from 1 to {2**63 - 1} (got {2**64})"),
        ("get", {"ids": [1, 2**70]}, f"ids[1]: must be a whole number from 1 to {2**63 - 1} (got {2**70})"),
        ("update", {"id": 31337, "content": "new"}, "no memory with id 31337"),
        ("feedback", {"id": 31337, "helpful": True}, "no memory with id 31337"),
        ("feedback", {"id": 1, "helpful": "very"}, 'helpful: must be true or false (got "very")'),
        ("feedback", {"helpful": "very", "query": 5}, "id: required, a whole number from 1 to "),
    ],
)
async def test_bad_input_is_a_clear_tool_error_and_writes_nothing(memory, tool, args, message):
    """A short message naming the argument and what it accepts: no pydantic report, no docs URL, no traceback."""
    async with client(memory) as c:
        await call(c, "remember", content="the one memory")
        before = (memory.events.last_id(), memory.count(), memory.behavior.feedback_counts())
        reply = await c.call_tool(tool, args, raise_on_error=False)
    text = reply.content[0].text
    assert reply.is_error and message in text, text
    assert not any(noise in text.lower() for noise in ("pydantic", "http", "input_type", "[type=", "traceback"))
    assert (memory.events.last_id(), memory.count(), memory.behavior.feedback_counts()) == before


async def test_status_stays_within_its_budget_with_many_projects(memory):
    memory.remember_many([{"text": f"note for project {i}", "project": f"project-{i:04d}"} for i in range(400)])
    async with client(memory) as c:
        status = await call(c, "status", max_tokens=500)
        roomy = await call(c, "status", max_tokens=50_000)
    assert len(json.dumps(status, ensure_ascii=False)) <= 500 * 4
    assert status["counts_cut"]["projects"] == 400 and 0 < len(status["projects"]) < 400
    assert status["memories"] == 400 and status["agent"]["name"] == "cursor"
    assert len(roomy["projects"]) == 400 and "counts_cut" not in roomy


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def fastmcp_log():
    """What fastmcp logs (at INFO and above) while the test runs."""
    logger, handler = logging.getLogger("fastmcp"), Records()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_expected_errors_are_not_logged_as_failures(memory, fastmcp_log):
    """Bad input, unknown ids and refusals are the caller's business: logged below ERROR, with no traceback."""
    theirs = memory.remember("written by the user, not by the agent")
    async with client(memory) as c:
        for tool, args in [
            ("forget", {"id": 31337}),
            ("update", {"id": 31337, "content": "new"}),
            ("forget", {"id": "abc"}),
            ("remember", {"content": "   "}),
            ("recall", {"query": "x", "since": "yesterday"}),
            ("forget", {"id": int(theirs)}),
        ]:
            assert (await c.call_tool(tool, args, raise_on_error=False)).is_error, (tool, args)
        with pytest.raises(Exception, match="no memory with id 999"):
            await c.read_resource("slm://memory/999")
        with pytest.raises(Exception, match="whole number"):
            await c.read_resource("slm://memory/abc")
        with pytest.raises(Exception, match="query is empty"):
            await c.get_prompt("recall_context", {"task": "   "})
    assert len(fastmcp_log) >= 8  # each is logged, quietly
    assert [r.getMessage() for r in fastmcp_log if r.levelno >= logging.ERROR or r.exc_info] == []
    assert [r.levelno for r in fastmcp_log if "forget" in r.getMessage()][-1] == logging.WARNING  # the refusal


async def test_an_unexpected_error_is_masked_and_logged_with_its_traceback(db_path, fastmcp_log):
    """A bug (here: the store closed under the server) tells the client nothing of it, and the log everything."""
    memory = Memory.open(db_path, protocol="mcp-stdio")
    async with client(memory) as c:
        memory.close()
        reply = await c.call_tool("status", {}, raise_on_error=False)
    assert reply.is_error and reply.content[0].text == "Error calling tool 'status'"
    [failure] = [r for r in fastmcp_log if r.levelno >= logging.ERROR]
    assert failure.getMessage() == "Error calling tool 'status'" and failure.exc_info is not None


async def test_status_fits_the_smallest_budget(memory):
    """status cuts its maps to their largest entry, then drops its least important fields, naming them."""
    memory.remember_many([{"text": f"note for project {i}", "project": f"project-{i:04d}"} for i in range(50)])
    async with client(memory) as c:
        status = await call(c, "status", max_tokens=budget.MIN_MAX_TOKENS)
        roomier = await call(c, "status", max_tokens=300)
    assert len(json.dumps(status, ensure_ascii=False)) <= budget.MIN_MAX_TOKENS * budget.CHARS_PER_TOKEN
    assert status["agent"]["name"] == "cursor" and status["memories"] == 50  # who you are and what is stored
    assert {"path", "behavior_path", "projects"} <= set(status["left_out"]) and "projects" not in status
    assert "counts_cut" not in status  # the only map cut was left out after all
    assert set(status) | set(status["left_out"]) >= set(roomier) - {"counts_cut", "left_out"}
    assert roomier["counts_cut"] == {"projects": 50} and 1 <= len(roomier["projects"]) < 50
    assert "left_out" not in roomier


async def test_every_read_tool_fits_the_smallest_budget(db_path):
    """Long memories, many tags and big meta, contradictions with long texts, clusters: every reply, whole, fits."""
    from tests.test_graph import fill

    long = " and then the billing service retries its webhooks with exponential backoff" * 40
    with Memory.open(db_path, protocol="mcp-stdio") as memory:
        fill(memory)
        for tool in ("Airflow", "Dagster"):
            memory.remember(f"The ETL jobs are orchestrated by {tool}.{long}", agent=tool.lower(), project="data")
        tags = [f"tag-{i:02d}-" + "x" * 50 for i in range(32)]
        runbook = memory.remember("The ETL runbook" + long, tags=tags, meta={"blob": "y" * 10_000}, project="data")
        memory.remember_many([{"text": f"ETL note {i}:{long}", "project": "data"} for i in range(5)])
        smallest = budget.MIN_MAX_TOKENS
        async with client(memory) as c:
            replies = {
                "recall": await call(c, "recall", query="the ETL runbook", k=20, max_tokens=smallest),
                "get": await call(c, "get", ids=[int(runbook), *range(10**17, 10**17 + 99)], max_tokens=smallest),
                "list_recent": await call(c, "list_recent", limit=50, max_tokens=smallest),
                "contradictions": await call(c, "contradictions", max_tokens=smallest),
                "clusters": await call(c, "clusters", max_tokens=smallest),
            }
    for tool, reply in replies.items():
        assert len(json.dumps(reply, ensure_ascii=False)) <= smallest * budget.CHARS_PER_TOKEN, tool
        [results] = [v for v in reply.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        assert results, tool  # never nothing: the best results that fit
    assert replies["get"]["missing"] and replies["get"]["note"].endswith("more ids are missing")
    for tool in ("recall", "get", "list_recent", "contradictions"):  # long texts: the best one, cut to fit
        [best] = next(v for v in replies[tool].values() if isinstance(v, list))
        assert best["truncated"] is True, tool
