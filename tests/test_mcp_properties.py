"""Arbitrary arguments for every MCP tool, as raw JSON-RPC, to one real `slm mcp` process.

Whatever a client sends, it gets exactly one reply with its id: a result, or an error in a few clean words (no
traceback, no pydantic report, and never fastmcp's masked "Error calling tool", which stands for an unexpected
exception: a bug). The process serves on, and the store stays consistent: a SQLite file and a PostgreSQL database
alike (issue 24), each behind a server of its own for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slm import Memory
from tests.test_mcp_processes import RawStdioClient, intact, nested

pytestmark = pytest.mark.both_backends

TOOLS = [
    "remember",
    "recall",
    "get",
    "list_recent",
    "forget",
    "update",
    "feedback",
    "status",
    "clusters",
    "contradictions",
]
MASKED = "Error calling tool"
SHORT = 400  # characters: an error message a model reads in passing


EXTREME_INTS = st.sampled_from([0, -1, 1, 2, 99, 100, 101, 200, 201, 50_000, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64])
INTS = st.one_of(st.integers(-5, 250), EXTREME_INTS, st.integers(), EXTREME_INTS.map(lambda n: -n))
ODD_STRINGS = st.sampled_from(
    [
        "", " ", "\x00", "a\x00b", "\u200b", "\u202e\u2066evil\u2069", "\ufeff", "\ud800", "NaN", "-Infinity", "1e309",
        "null", "true", "0x1F", "٣", "²", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-02-30",
        "2026-05-08", "24:00", "yesterday", "last week", "x" * 5000, "é" * 3000, "🙂" * 700, "word " * 2000,
    ]
)  # fmt: skip
STRINGS = st.one_of(st.text(max_size=40), ODD_STRINGS)
OFFSETS = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59))
EDGES = st.sampled_from([datetime.min, datetime.max])  # of the calendar: an offset may move them past it
WIDEST = st.sampled_from([timedelta(hours=23, minutes=59), -timedelta(hours=23, minutes=59)])
TIMES = st.one_of(
    st.builds(lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(), EDGES, WIDEST | OFFSETS),
    st.builds(lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(), st.datetimes(), OFFSETS),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.dates().map(str),
    ODD_STRINGS,
)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, st.floats(allow_nan=False, allow_infinity=False), STRINGS)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ANY = st.one_of(JSON, st.integers(1, 70).map(nested))  # deep, up to past the transport's limit of 64
PLAUSIBLE = {
    "content": STRINGS,
    "query": STRINGS,
    "project": STRINGS,
    "session": STRINGS,
    "tags": st.lists(STRINGS, max_size=40),
    "meta": st.one_of(st.dictionaries(st.text(max_size=20), JSON, max_size=5), st.integers(1, 70).map(nested)),
    "time": TIMES,
    "since": TIMES,
    "until": TIMES,
    "as_of": TIMES,
    "id": st.one_of(*[st.integers(1, 40)] * 3, INTS),  # mostly ids that may exist
    "ids": st.lists(st.one_of(*[st.integers(1, 40)] * 3, INTS), max_size=120),
    "helpful": st.booleans(),
    "include_archived": st.booleans(),
    "private": st.one_of(st.booleans(), STRINGS),  # an unauthenticated caller asking for it is refused, cleanly
    "channels": st.lists(st.sampled_from(["keyword", "vector", "graph", "temporal", "fisher", "psychic"]), max_size=6),
    "status": st.sampled_from(["open", "resolved", "dismissed", "all", "closed", ""]),
}


def plausible(name: str, schema: dict) -> st.SearchStrategy:
    """Values of the argument's own type, most within its bounds, some at and past them."""
    if schema.get("type") == "integer" and name not in PLAUSIBLE:
        return st.one_of(*[st.integers(schema["minimum"], schema["maximum"])] * 3, INTS)
    return PLAUSIBLE[name]


@st.composite
def arguments(draw, schema: dict) -> object:
    """Plausible values for the tool's own arguments (extremes included), or a third of the time any values; now
    and then one required missing, an unknown one added, or not an object at all."""
    if draw(st.integers(0, 19)) == 7:
        return draw(st.one_of(st.lists(JSON, max_size=3), SCALARS))
    names, required = list(schema["properties"]), schema.get("required", [])
    wild = draw(st.integers(0, 2)) == 1
    value = {name: plausible(name, schema["properties"][name]) for name in names}
    if wild:
        value = {name: st.one_of(strategy, ANY) for name, strategy in value.items()}
    args = draw(
        st.fixed_dictionaries(
            {n: value[n] for n in required}, optional={n: value[n] for n in names if n not in required}
        )
    )
    if required and draw(st.integers(0, 9)) == 5:
        del args[draw(st.sampled_from(required))]
    if draw(st.integers(0, 9)) == 5:
        args |= draw(
            st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda n: n not in names), ANY, max_size=2)
        )
    return args


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, tmp_path_factory, slm_home) -> Iterator[str]:
    """The module's store as `--db` names it: a file, or a database of its own on the test server. Its own
    parameter, not the `backend` of conftest: that one is per test, and the server here lives for the module."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("properties") / "memory.db")
        return
    pg_server = request.getfixturevalue("pg_server")
    name = pg_server.new_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(scope="module")
def server(store):
    """One server per store for the whole module (the model loads once), with a few memories for ids to find; at
    the end it must exit cleanly and leave a consistent store."""
    client = RawStdioClient(store)
    client.initialize("hypothesis")
    for i, text in enumerate(["The api-gateway uses PostgreSQL 15", "Deploys run every Tuesday", "Use pytest"]):
        client.call("remember", content=text, project=f"p{i}", tags=["seed"])
    schemas = {t["name"]: t["inputSchema"] for t in client.request("tools/list")["result"]["tools"]}
    assert sorted(schemas) == sorted(TOOLS)
    yield client, schemas
    leftover, stderr = client.close()
    assert leftover == b"" and client.proc.returncode == 0, stderr[-2000:]
    with Memory.open(store, create=False) as memory:
        assert intact(memory)


@pytest.mark.parametrize("tool", TOOLS)
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_arguments_get_one_clean_reply(server, tool, data):
    """One reply per request, with its id (a second one would fail the next example, or the fixture's end)."""
    client, schemas = server
    args = data.draw(arguments(schemas[tool]), label="arguments")
    sent = client.send("tools/call", {"name": tool, "arguments": args})
    reply = client.reply(timeout=60)
    assert reply["id"] == sent and client.proc.poll() is None
    if "error" in reply:  # refused before the tool: arguments that are not an object, or nested too deep
        message = reply["error"]["message"]
    elif reply["result"].get("isError"):
        message = reply["result"]["content"][0]["text"]
    else:
        assert isinstance(reply["result"]["structuredContent"], dict)
        return
    assert len(message) <= SHORT and "Traceback" not in message, message
    assert "pydantic" not in message.lower() and "errors.pydantic.dev" not in message, message
    assert not message.startswith(MASKED), f"an unexpected exception in {tool}: see the server's log"
