"""The public Python API: remember / remember_many / get / forget / list / stats, and every bad input."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pytest

from slm import Memory, validation
from slm.embedding import vector_index
from slm.errors import InvalidInput, ModelError, NotFound

pytestmark = pytest.mark.both_backends

BAD_TEXT = [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("x" * (validation.MAX_TEXT_BYTES + 1), "over the limit"),
    ("é" * (validation.MAX_TEXT_BYTES // 2 + 1), "over the limit"),  # the limit counts UTF-8 bytes
    (b"caf\xe9", "not valid UTF-8"),
    ("lone surrogate \udcff", "not valid UTF-8"),
    (42, "must be text"),
    (None, "must be text"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TEXT)
def test_bad_text_is_refused_and_nothing_is_written(mem, text, message):
    with pytest.raises(InvalidInput, match=message):
        mem.remember(text)
    assert mem.stats()["memories"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": "yesterday-ish"}, "not a valid time"),
        ({"time": "2023-13-45"}, "not a valid time"),
        ({"time": float("nan")}, "not a valid time"),
        ({"time": True}, "ISO-8601"),
        ({"tags": "db"}, "list of strings"),
        ({"tags": ["ok", ""]}, "each tag"),
        ({"tags": [f"t{i}" for i in range(40)]}, "at most"),
        ({"meta": ["not", "a", "dict"]}, "JSON object"),
        ({"meta": {"x": object()}}, "JSON-serialisable"),
        ({"meta": {"x": float("inf")}}, "JSON-serialisable"),
        ({"meta": {"big": "x" * 20_000}}, "bytes as JSON"),
        ({"kind": "Not A Kind!"}, "kind"),
        ({"agent": ""}, "agent"),
        ({"project": "bad\nname"}, "project"),
    ],
)
def test_bad_options_are_refused(mem, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        mem.remember("a perfectly fine memory", **kwargs)
    assert mem.stats()["memories"] == 0


def test_unknown_option_is_a_type_error(mem):
    with pytest.raises(TypeError):
        mem.remember("text", colour="blue")


def test_remember_many_validates_everything_before_writing(mem):
    good = {"text": "the first one is fine"}
    for bad, message in [
        ({"text": "ok", "colour": "blue"}, "unknown keys"),
        ({"time": "2023-01-01"}, "no 'text'"),
        ("just a string", "must be a dict"),
        ({"text": ""}, "item 1: text is empty"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            mem.remember_many([good, bad])
    assert mem.stats()["memories"] == 0


def test_remember_stores_every_field(mem):
    memory_id = mem.remember(
        "  We deploy on Fridays only with a rollback plan.  ",
        agent="claude-code",
        project="demo",
        tags=["deploy", "process", "deploy"],
        time="2023-05-08T13:56:00+02:00",
        meta={"pr": 42},
        kind="decision",
    )
    row = mem.get(memory_id)
    assert row.content == "We deploy on Fridays only with a rollback plan."
    assert (row.agent, row.project, row.kind, row.meta) == ("claude-code", "demo", "decision", {"pr": 42})
    assert row.tags == ("deploy", "process")
    assert row.event_time == "2023-05-08T11:56:00Z"


def test_times_are_normalised_to_utc():
    assert validation.parse_time("2023-05-08") == "2023-05-08T00:00:00Z"
    assert validation.parse_time("2023-05-08T13:56:00Z") == "2023-05-08T13:56:00Z"
    assert validation.parse_time(datetime(2023, 5, 8, 12, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2023-05-08T17:00:00Z"
    )
    assert validation.parse_time(0) == "1970-01-01T00:00:00Z"
    assert validation.parse_time("0099-01-01") == "0099-01-01T00:00:00Z"  # fixed width, compares as text


def test_duplicates_within_a_project_are_stored_once(mem):
    first = mem.remember("Use ruff for linting.", project="a")
    assert mem.remember("Use ruff for linting.", project="a") == first
    assert mem.remember("Use ruff for linting.", project="b") != first
    ids = mem.remember_many(
        [{"text": "new one"}, {"text": "new one"}, {"text": "Use ruff for linting.", "project": "a"}]
    )
    assert ids[0] == ids[1] and ids[2] == first
    assert mem.stats()["memories"] == 3


def test_remember_many_keeps_order_and_defaults(mem):
    items = [{"text": f"note number {i} about module {i * 7}"} for i in range(150)]
    seen = []
    ids = mem.remember_many(items, agent="bulk", project="import", batch_size=64, progress=seen.append)
    assert len(set(ids)) == 150 and ids == sorted(ids)
    assert seen == [64, 64, 22]
    assert mem.get(ids[10]).content == "note number 10 about module 70"
    assert mem.stats()["agents"] == {"bulk": 150}


def test_get_and_forget_unknown_or_bad_ids(mem):
    with pytest.raises(NotFound, match="no memory with id 99"):
        mem.get(99)
    with pytest.raises(NotFound):
        mem.forget(99)
    for bad in (0, -1, "3", 1.5, True):
        with pytest.raises(InvalidInput):
            mem.get(bad)


def test_recall_bad_arguments(mem):
    mem.remember("something to find")
    for kwargs, message in [
        ({"query": ""}, "empty"),
        ({"query": "x" * 10_000}, "over the limit"),
        ({"query": "ok", "k": 0}, "k must be"),
        ({"query": "ok", "k": 5000}, "k must be"),
        ({"query": "ok", "since": "soon"}, "not a valid time"),
        ({"query": "ok", "tags": "one"}, "list of strings"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            mem.recall(**kwargs)


def test_list_is_newest_first_and_pages(mem):
    ids = [mem.remember(f"event {i}", time=f"2023-01-0{i + 1}") for i in range(5)]
    assert [r.id for r in mem.list(limit=2)] == [ids[4], ids[3]]
    assert [r.id for r in mem.list(limit=2, offset=2)] == [ids[2], ids[1]]
    with pytest.raises(InvalidInput):
        mem.list(limit=0)


def test_stats_report_model_and_schema(mem):
    mem.remember("hello world")
    stats = mem.stats()
    assert stats["model"] == "default" and stats["dim"] == 384
    assert stats["memories"] == 1 and stats["schema_version"] >= 1 and stats["size_bytes"] > 0


def test_other_model_on_a_used_database_is_refused(store_at, tmp_path, slm_home):
    with Memory.open(store_at) as mem:
        mem.remember("embedded with the default model")
        default_file = mem.embedder.model_path
    other = tmp_path / "other-model.gguf"
    shutil.copy(default_file, other)
    with Memory.open(store_at, model=other) as mem, pytest.raises(ModelError, match="slm model reindex"):
        mem.recall("anything")
    with Memory.open(store_at) as mem, Memory.open(store_at) as reader:
        before = _mirrored_chunks(reader)
        assert mem.reindex(other) == 1
        after = _mirrored_chunks(reader)  # another process's mirror drops the old vectors for the new ones
        assert len(after) == len(before) == 1 and after != before
        assert mem.stats()["model"] == str(other.resolve())
        found = mem.recall("default model", k=1, channels=["vector"])  # the new vectors find it
        assert found[0].text == "embedded with the default model" and _mirrored_chunks(mem) == after


def _mirrored_chunks(mem: Memory) -> list[int]:
    """The chunk ids a Memory's vector mirror holds, caught up with the store."""
    index = mem.store.synced_index()
    held = index._chunk_ids[: index._size]
    return held[index._memory_ids[: index._size] != vector_index._DELETED].tolist()


def test_missing_model_file_is_a_clear_error(store_at, tmp_path):
    with Memory.open(store_at, model=tmp_path / "nope.gguf") as mem, pytest.raises(ModelError, match="does not exist"):
        mem.remember("text")
    with Memory.open(store_at) as mem:
        assert mem.stats()["memories"] == 0


def test_two_memories_on_one_store_see_each_others_writes_and_deletions(store_at):
    """Two processes (here two Memory objects, each with its own connection) on one store: what one writes the
    other's vector mirror finds on its next recall, and what one forgets the other no longer returns."""
    with Memory.open(store_at) as writer, Memory.open(store_at) as reader:
        writer.remember("The staging cluster is rebuilt every Sunday night.")
        assert [h.text for h in reader.recall("when is staging rebuilt?", k=1, channels=["vector"])] == [
            "The staging cluster is rebuilt every Sunday night."
        ]
        probes = writer.remember("Kubernetes liveness probes hit /healthz every 10 seconds.")
        assert reader.recall("liveness probe interval", k=1, channels=["vector"])[0].id == probes
        writer.forget(probes)
        assert probes not in [h.id for h in reader.recall("liveness probe interval", k=5, channels=["vector"])]
        assert len(reader.store.synced_index()) == 1
