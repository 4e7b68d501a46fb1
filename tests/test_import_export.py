"""`slm export` and `slm import` end to end, on the real model and real databases: no mocks.

One source store is built per module (several projects and agents, a version chain of three, a memory updated to
the text of another current memory, an approved memory, a recall and feedback); every test exports from it and
imports into fresh stores. Memories of two stores are matched by (project, content, created_at), as their ids differ.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from slm import Memory
from slm.cli.main import app
from slm.errors import InvalidInput
from slm.portability import exporter, importer, portable
from slm.storage import portable as sql
from slm.storage.db import StoreLocation

pytestmark = pytest.mark.both_backends  # the store imported into: SQLite, or PostgreSQL (the source is SQLite)

AUTH_V1 = "The auth service stores sessions in Redis 7."
AUTH_V2 = "The auth service stores sessions in Redis 7.2 with TLS."
AUTH_V3 = "The auth service stores sessions in Valkey 8 with TLS."
DEPLOY = "Deploys to production happen on Tuesdays."
BILLING = "The billing service retries webhooks three times."
GRAFANA = "Grafana dashboards live in the ops repository."  # updated to DEPLOY's text: merged into it
ALL = {AUTH_V1, AUTH_V2, AUTH_V3, DEPLOY, BILLING, GRAFANA}
QUERY = "where does the auth service keep its sessions?"

runner = CliRunner()


@dataclass(frozen=True)
class Source:
    db: Path
    ids: dict[str, int]  # text -> id in the source store
    jsonl: Path  # full export with behaviour
    plain: Path  # full export, memories only


@pytest.fixture(scope="module")
def source(slm_home, tmp_path_factory) -> Source:
    folder = tmp_path_factory.mktemp("source")
    db = folder / "memory.db"
    with Memory.open(db) as mem:
        v1, billing, grafana = mem.remember_many(
            [
                {"text": AUTH_V1, "project": "auth", "agent": "cursor", "tags": ["db", "cache"],
                 "meta": {"pr": 12, "by": "Zoë"}, "time": "2024-03-01T10:00:00Z", "session": "auth-review"},
                {"text": BILLING, "project": "billing", "agent": "cursor", "kind": "fact",
                 "time": "2024-06-15T12:00:00Z"},
                {"text": GRAFANA, "project": "ops", "agent": "cursor"},
            ]
        )  # fmt: skip
    with Memory.open(db, protocol="mcp-stdio") as through_mcp:
        deploy = through_mcp.remember(DEPLOY, project="ops", agent="claude-code", tags=["deploy"], session="mcp-1f2e3d")
    with Memory.open(db) as mem:
        v2 = mem.update(v1, AUTH_V2)
        v3 = mem.update(v2, AUTH_V3, agent="cursor")
        merged = mem.update(grafana, DEPLOY)  # the text of another current memory: that one becomes the successor
        assert merged == deploy and merged.duplicate
        mem.approve([billing])
        hits = mem.recall(QUERY, k=3, quarantined=True)
        assert v3 in [h.id for h in hits]
        mem.record_recall(QUERY, 3, hits, agent="cursor")
        mem.feedback(v3, True, query=QUERY, agent="cursor")
        mem.feedback(billing, False)
        mem.graph_build()
        ids = {AUTH_V1: v1, AUTH_V2: v2, AUTH_V3: v3, DEPLOY: deploy, BILLING: billing, GRAFANA: grafana}
        jsonl, plain = folder / "full.jsonl", folder / "plain.jsonl"
        with jsonl.open("w", encoding="utf-8") as out:
            exporter.export(mem.transfers, out, behavior=True)
        with plain.open("w", encoding="utf-8") as out:
            exporter.export(mem.transfers, out)
    return Source(db, {k: int(v) for k, v in ids.items()}, jsonl, plain)


# -- helpers ---------------------------------------------------------------------------------------------------------
def export_text(db: Path | StoreLocation, fmt: str = "jsonl", **kwargs) -> str:
    buffer = io.StringIO()
    with Memory.open(db) as mem:
        exporter.export(mem.transfers, buffer, fmt=fmt, **kwargs)
    return buffer.getvalue()


def parse(text: str, fmt: str = "jsonl") -> list[dict]:
    return json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]


def dump(records: list[dict]) -> str:
    return "".join(portable.dumps(r) + "\n" for r in records)


def key(record: dict) -> tuple[str, str, str, bool]:
    """What import itself matches records by: an updated-away text stated again in the same second differs in being
    current."""
    return record["project"], record["content"], record["created_at"], record["superseded_by"] is None


def normalized(records: list[dict], drop: tuple[str, ...] = ()) -> dict:
    """The records with ids replaced by memory keys, and what is the exporting store's own view dropped."""
    memories = [r for r in records if r["type"] == "memory"]
    keys = {r["id"]: key(r) for r in memories}
    assert len(set(keys.values())) == len(keys), "memory keys must be unique for the mapping"
    out: dict = {"memories": {}, "behavior": []}
    for record in memories:
        record = {k: v for k, v in record.items() if k not in ("id", "observed", "embedding", *drop)}
        if record.get("superseded_by") is not None:
            record["superseded_by"] = keys[record["superseded_by"]]
        if "links" in record:
            record["links"] = sorted((keys[x["to"]], x["kind"], x["weight"]) for x in record["links"])
        out["memories"][key(record)] = record
    for record in records:
        if record["type"] == "header":
            out["header"] = {k: v for k, v in record.items() if k != "exported_at"}
        elif record["type"] == "end":
            out["end"] = record
        elif record["type"] == "recall":
            out["behavior"].append(record | {"results": [keys[i] for i in record["results"]]})
        elif record["type"] == "feedback":
            out["behavior"].append(record | {"memory_id": keys[record["memory_id"]]})
    return out


def store_rows(db: Path | StoreLocation) -> dict[str, dict]:
    """Every stored memory (all versions), by text: its successor's text, project and validity."""
    with Memory.open(db) as mem:
        rows = mem.conn.execute(
            "SELECT m.id, m.content, s.content, m.project, m.valid_to FROM memories m "
            "LEFT JOIN memories s ON s.id = m.superseded_by"
        ).fetchall()
    texts = [r[1] for r in rows]
    assert len(texts) == len(set(texts)), f"a text is stored twice: {rows}"
    return {r[1]: {"id": r[0], "successor": r[2], "project": r[3], "valid_to": r[4]} for r in rows}


def behavior_counts(db: Path | StoreLocation) -> tuple[int, int]:
    with Memory.open(db) as mem:
        behavior = mem.existing_behavior()
        if behavior is None:
            return 0, 0
        return tuple(behavior.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("recalls", "feedback"))


def import_into(db: Path | StoreLocation, path: Path, **kwargs) -> importer.ImportReport:
    if isinstance(db, Path):
        db.parent.mkdir(parents=True, exist_ok=True)
    with Memory.open(db) as mem:
        return importer.import_file(mem.transfers, path, **kwargs)


def problem_lines(report: importer.ImportReport) -> set[int]:
    return {int(m) for p in report.problems for m in re.findall(r" line (\d+)$", p.where)}


def run(*args: object, code: int = 0) -> Result:
    """Invoke the CLI in-process; check the exit code and that no Python traceback escaped."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def squash(text: str) -> str:
    """Text without any whitespace: the terminal width (rich wraps at it) does not matter."""
    return "".join(text.split())


def run_json(*args: object, code: int = 0) -> object:
    return json.loads(run(*args, "--json", code=code).stdout)


# -- round trip ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "batch"), [("jsonl", importer.BATCH), ("jsonl", 2), ("json", importer.BATCH)])
def test_round_trip_gives_the_same_records(source, tmp_path, monkeypatch, fmt, batch, store_at):
    """Export -> import into an empty store -> export: the same records once ids are mapped (batch 2 makes the
    version chains and links span batches)."""
    monkeypatch.setattr(importer, "BATCH", batch)
    first = export_text(source.db, fmt, behavior=True)
    path = tmp_path / f"export.{fmt}"
    path.write_text(first, encoding="utf-8")
    copy = store_at
    report = import_into(copy, path, fmt={"jsonl": "slm", "json": "slm-json"}[fmt])
    assert (report.records, report.added, report.already, report.behavior_added) == (6, 6, 0, 3)
    assert report.problems == [] and report.reembedded is True  # this file has no vectors: embedded here

    second = export_text(copy, fmt, behavior=True)
    before, after = normalized(parse(first, fmt)), normalized(parse(second, fmt))
    assert after == before

    # what was compared holds what the source store made (so that the equality above says something)
    mems = {k[1]: v for k, v in after["memories"].items()}
    assert set(mems) == ALL
    assert mems[AUTH_V1]["superseded_by"][1] == AUTH_V2 and mems[AUTH_V2]["superseded_by"][1] == AUTH_V3
    assert mems[AUTH_V3]["superseded_by"] is None and mems[DEPLOY]["superseded_by"] is None
    assert mems[GRAFANA]["superseded_by"][1] == DEPLOY
    assert mems[AUTH_V1]["valid_from"] == mems[AUTH_V1]["event_time"] == "2024-03-01T10:00:00Z"
    assert mems[AUTH_V1]["valid_to"] is not None and mems[AUTH_V3]["valid_to"] is None
    assert mems[GRAFANA]["valid_to"] is not None and mems[DEPLOY]["valid_to"] is None
    assert mems[AUTH_V3]["tags"] == ["cache", "db"] and mems[AUTH_V3]["meta"] == {"pr": 12, "by": "Zoë"}
    assert (mems[AUTH_V1]["agent"], mems[AUTH_V2]["agent"], mems[AUTH_V3]["agent"]) == ("cursor", "user", "cursor")
    assert (mems[DEPLOY]["agent"], mems[DEPLOY]["protocol"], mems[DEPLOY]["project"]) == (
        "claude-code",
        "mcp-stdio",
        "ops",
    )
    assert mems[BILLING]["review"] == "approved" and mems[BILLING]["kind"] == "fact"
    assert [mems[t]["session"] for t in (AUTH_V1, AUTH_V2, AUTH_V3)] == ["auth-review"] * 3  # updates keep it
    assert (mems[DEPLOY]["session"], mems[BILLING]["session"]) == ("mcp-1f2e3d", None)
    assert mems[AUTH_V3]["review"] is None
    assert any(link[0][1] == AUTH_V2 for link in mems[AUTH_V3]["links"])
    assert after["end"] == {"type": "end", "memories": 6, "recalls": 1, "feedback": 2}
    recall, *feedback = after["behavior"]
    assert recall["type"] == "recall" and recall["query"] == QUERY and recall["agent"] == "cursor"
    assert ("auth", AUTH_V3) in [k[:2] for k in recall["results"]]
    assert [(f["memory_id"][1], f["helpful"], f["query"]) for f in feedback] == [
        (AUTH_V3, True, QUERY),
        (BILLING, False, None),
    ]
    # and the store itself: the chains, as rows
    rows = store_rows(copy)
    assert rows[AUTH_V1]["successor"] == AUTH_V2 and rows[AUTH_V2]["successor"] == AUTH_V3
    assert rows[GRAFANA]["successor"] == DEPLOY and rows[AUTH_V3]["successor"] is None


def test_observed_fields_are_not_imported(source, tmp_path, store_at):
    records = parse(source.plain.read_text())
    for record in records:
        if record["type"] == "memory":
            record["observed"] = {"verified_agent": True, "agent_trust": 0.99, "doubt": 0.9, "zone": "archived"}
    path = tmp_path / "observed.jsonl"
    path.write_text(dump(records))
    copy = store_at
    assert import_into(copy, path, strict=True).added == 6
    observed = [r["observed"] for r in parse(export_text(copy)) if r["type"] == "memory"]
    assert len(observed) == 6
    for seen in observed:
        assert seen["verified_agent"] is False and seen["doubt"] == 0.0 and seen["zone"] == "active"
        assert seen["agent_trust"] != 0.99


def test_round_trip_of_a_memory_updated_back_to_its_first_text(slm_home, tmp_path, store_at):
    """A -> B -> A: the third version has the first one's text (allowed: the first is no longer current)."""
    source = tmp_path / "source" / "memory.db"
    with Memory.open(source) as mem:
        first = mem.remember("The cache TTL is 60 seconds.", project="infra")
        second = mem.update(first, "The cache TTL is 300 seconds.")
        third = mem.update(second, "The cache TTL is 60 seconds.")
        assert len({first, second, third}) == 3 and not third.duplicate
    text = export_text(source)
    path = tmp_path / "revert.jsonl"
    path.write_text(text)
    copy = store_at
    with Memory.open(copy) as mem:
        try:
            report = importer.import_file(mem.transfers, path)
        except Exception as err:
            rows = mem.conn.execute("SELECT id, content, superseded_by FROM memories ORDER BY id").fetchall()
            pytest.fail(f"importing an A -> B -> A chain failed: {err!r}; the store is left with {rows}")
    assert (report.added, report.already, report.problems) == (3, 0, [])
    assert normalized(parse(export_text(copy))) == normalized(parse(text))


# -- idempotence -----------------------------------------------------------------------------------------------------
def test_importing_the_same_file_twice_adds_nothing(source, tmp_path, store_at):
    copy = store_at
    first = import_into(copy, source.jsonl)
    assert (first.added, first.behavior_added) == (6, 3)
    snapshot = parse(export_text(copy, behavior=True))
    counts = behavior_counts(copy)
    assert counts == (1, 2)

    again = import_into(copy, source.jsonl)
    assert (again.records, again.added, again.already, again.behavior_added, again.problems) == (6, 0, 6, 0, [])
    assert len(store_rows(copy)) == 6 and behavior_counts(copy) == counts
    later = parse(export_text(copy, behavior=True))
    assert [r for r in later if r["type"] != "header"] == [r for r in snapshot if r["type"] != "header"]


def test_importing_into_a_store_that_has_some_of_the_memories_adds_only_the_rest(source, tmp_path, store_at):
    copy = store_at
    with Memory.open(copy) as mem:  # a memory of its own first, so that ids differ from the source's
        own = mem.remember("The office wifi password rotates monthly.", project="misc")
    ops = tmp_path / "ops.jsonl"
    ops.write_text(export_text(source.db, selection=exporter.Selection.of(project="ops"), behavior=True))
    part = import_into(copy, ops)
    assert (part.added, part.already, part.problems) == (2, 0, [])

    rest = import_into(copy, source.jsonl)
    assert (rest.records, rest.added, rest.already, rest.problems) == (6, 4, 2, [])
    rows = store_rows(copy)
    assert set(rows) == ALL | {"The office wifi password rotates monthly."}
    assert rows[DEPLOY]["id"] != source.ids[DEPLOY] and rows["The office wifi password rotates monthly."]["id"] == own
    assert rows[GRAFANA]["successor"] == DEPLOY and rows[AUTH_V1]["successor"] == AUTH_V2

    mine = parse(export_text(copy, behavior=True))
    mine = [r for r in mine if r.get("project") != "misc"]
    theirs = parse(source.jsonl.read_text())
    want, got = normalized(theirs, drop=("links",)), normalized(mine, drop=("links",))
    assert got["memories"] == want["memories"]
    feedback = [b for b in got["behavior"] if b["type"] == "feedback"]
    assert feedback == [b for b in want["behavior"] if b["type"] == "feedback"]


# -- embeddings ------------------------------------------------------------------------------------------------------
def _vectors(db: Path) -> dict[str, tuple[list, np.ndarray]]:
    """text -> (chunk spans, vectors) of every stored memory."""
    with Memory.open(db) as mem:
        rows = mem.conn.execute("SELECT id, content FROM memories").fetchall()
        found = sql.embeddings(mem.conn, [r[0] for r in rows], mem.model_identity()["dim"])
    return {content: found[memory_id] for memory_id, content in rows}


def test_embeddings_of_the_same_model_are_reused_bit_for_bit(source, tmp_path, store_at):
    text = export_text(source.db, embeddings=True)
    records = parse(text)
    with Memory.open(source.db) as mem:
        model = mem.model_identity()
    assert records[0]["includes"] == {"embeddings": True, "behavior": False}
    assert records[0]["embedding_model"] == model and model["dim"] > 0
    memories = [r for r in records if r["type"] == "memory"]
    assert len(memories) == 6 and all(r["embedding"]["spans"] for r in memories)
    path = tmp_path / "embedded.jsonl"
    path.write_text(text)
    copy = store_at
    report = import_into(copy, path, strict=True)
    assert (report.added, report.reembedded) == (6, False)
    theirs, mine = _vectors(source.db), _vectors(copy)
    assert set(mine) == ALL
    for content, (spans, matrix) in theirs.items():
        assert mine[content][0] == spans
        assert mine[content][1].dtype == matrix.dtype and mine[content][1].tobytes() == matrix.tobytes()


def test_embeddings_of_another_model_are_recomputed(source, tmp_path, store_at):
    records = parse(export_text(source.db, embeddings=True))
    records[0]["embedding_model"]["name"] = "another-model.gguf"
    dim = records[0]["embedding_model"]["dim"]
    fake = portable.encode_vector(np.full(dim, 0.5, np.float32))
    for record in records:
        if record["type"] == "memory":
            record["embedding"]["vectors"] = [fake] * len(record["embedding"]["spans"])
    path = tmp_path / "other-model.jsonl"
    path.write_text(dump(records))
    copy = store_at
    report = import_into(copy, path, strict=True)
    assert (report.added, report.reembedded) == (6, True)
    theirs, mine = _vectors(source.db), _vectors(copy)
    for content, (_, matrix) in theirs.items():
        assert not np.allclose(mine[content][1], 0.5)  # not the file's vectors
        assert np.allclose(mine[content][1], matrix, atol=1e-3)  # the model's, computed here
    with Memory.open(copy) as mem:  # found by meaning: the vectors computed here
        hits = mem.recall(QUERY, k=3, quarantined=True, channels=("vector",))
    assert AUTH_V3 in [h.text for h in hits]


def test_a_file_without_embeddings_is_reported_as_reembedded(source, tmp_path, store_at):
    """ImportReport.reembedded: "the file's vectors were made by another model (or it had none)"."""
    assert parse(source.plain.read_text())[0]["includes"]["embeddings"] is False
    copy = store_at
    report = import_into(copy, source.plain)
    assert report.added == 6
    assert all(len(spans) > 0 for spans, _ in _vectors(copy).values())  # embedded here, as the file had none
    assert report.reembedded is True


# -- filters ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"project": "auth"}, {AUTH_V1, AUTH_V2, AUTH_V3}),
        ({"agent": "cursor"}, {AUTH_V1, AUTH_V2, AUTH_V3, BILLING}),  # AUTH_V2 (by user) comes with its chain
        ({"agent": "user"}, set()),  # user wrote only AUTH_V2, no longer current
        ({"project": "ops", "agent": "claude-code"}, {DEPLOY, GRAFANA}),  # GRAFANA (cursor) was merged into DEPLOY
        ({"since": "2024-01-01", "until": "2024-12-31"}, {BILLING}),  # AUTH_V1 is of 2024, its current version not
        ({"until": "2024-12-31"}, {BILLING}),
        ({"since": "2025-01-01"}, {AUTH_V1, AUTH_V2, AUTH_V3, DEPLOY, GRAFANA}),
    ],
)
def test_filters_select_by_the_current_version_and_keep_chains(source, tmp_path, filters, expected, store_at):
    selection = exporter.Selection.of(**filters)
    records = parse(export_text(source.db, selection=selection, behavior=True))
    assert records[0]["filters"] == selection.as_dict() and set(records[0]["filters"]) == set(filters)
    memories = [r for r in records if r["type"] == "memory"]
    assert {r["content"] for r in memories} == expected
    ids = {r["id"] for r in memories}
    assert all(r["superseded_by"] in ids for r in memories if r["superseded_by"] is not None)
    assert [r["id"] for r in memories] == sorted(ids)
    for record in records:
        if record["type"] == "recall":
            assert record["results"] and set(record["results"]) <= ids
        elif record["type"] == "feedback":
            assert record["memory_id"] in ids
    end = records[-1]
    assert end["type"] == "end" and end["memories"] == len(expected)
    if expected:
        path = tmp_path / "part.jsonl"
        path.write_text(dump(records))
        copy = store_at
        assert import_into(copy, path, strict=True).added == len(expected)
        rows = store_rows(copy)
        assert set(rows) == expected
        for text in expected:  # the chains as the source has them
            with Memory.open(source.db) as mem:
                successor = mem.get(source.ids[text]).superseded_by
                successor_text = None if successor is None else mem.get(successor).content
            assert rows[text]["successor"] == successor_text


def test_filtered_behaviour_keeps_only_what_concerns_exported_memories(source):
    records = parse(export_text(source.db, selection=exporter.Selection.of(project="billing"), behavior=True))
    memories = [r for r in records if r["type"] == "memory"]
    assert [r["content"] for r in memories] == [BILLING]
    feedback = [r for r in records if r["type"] == "feedback"]
    assert [(f["memory_id"], f["helpful"]) for f in feedback] == [(source.ids[BILLING], False)]
    recalls = [r for r in records if r["type"] == "recall"]
    with Memory.open(source.db) as mem:
        (recorded,) = [json.loads(r[0]) for r in mem.behavior.conn.execute("SELECT results FROM recalls")]
    if source.ids[BILLING] in recorded:
        assert [r["results"] for r in recalls] == [[source.ids[BILLING]]]
    else:
        assert recalls == []
    assert records[-1] == {"type": "end", "memories": 1, "recalls": len(recalls), "feedback": 1}


# -- Markdown --------------------------------------------------------------------------------------------------------
def test_markdown_export_writes_one_readable_file_per_project(source, tmp_path):
    folder = tmp_path / "notes"
    with Memory.open(source.db) as mem:
        written = exporter.export_markdown(mem.transfers, folder)
    assert written == {"auth.md": 1, "billing.md": 1, "ops.md": 1}
    assert sorted(p.name for p in folder.iterdir()) == ["auth.md", "billing.md", "ops.md"]
    auth = (folder / "auth.md").read_text(encoding="utf-8")
    assert auth.startswith("# auth\n\nExported from slm ")
    assert AUTH_V3 in auth and AUTH_V1 not in auth and AUTH_V2 not in auth  # current versions only
    assert "\n## " in auth and f"· cursor · #{source.ids[AUTH_V3]}" in auth
    assert "kind: note · tags: cache, db · session: auth-review · replaces 2 earlier versions" in auth
    billing = (folder / "billing.md").read_text(encoding="utf-8")
    assert billing.startswith("# billing\n") and BILLING in billing and "### 2024-06-15 12:00:00 · cursor" in billing
    assert "kind: fact" in billing and "updated" not in billing
    ops = (folder / "ops.md").read_text(encoding="utf-8")
    assert DEPLOY in ops and GRAFANA not in ops and "claude-code" in ops

    only = tmp_path / "only"
    with Memory.open(source.db) as mem:
        assert exporter.export_markdown(mem.transfers, only, selection=exporter.Selection.of(project="billing")) == {
            "billing.md": 1
        }
    assert [p.name for p in only.iterdir()] == ["billing.md"]


# -- bad files -------------------------------------------------------------------------------------------------------
class Base:
    """The plain export as lines and records, with the line numbers of its memories."""

    def __init__(self, path: Path) -> None:
        self.lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        self.records = [json.loads(line) for line in self.lines]
        self.line_of = {r["content"]: n for n, r in enumerate(self.records, 1) if r["type"] == "memory"}
        self.end = len(self.lines)
        assert self.records[-1]["type"] == "end" and self.line_of[BILLING] > 2

    def with_billing(self, **changes) -> str:
        return dump([r | changes if r.get("content") == BILLING else r for r in self.records])

    def replace_billing_line(self, text: str) -> str:
        n = self.line_of[BILLING]
        return "".join(self.lines[: n - 1]) + text + "".join(self.lines[n:])


def _cut_mid_line(base: Base):
    n = base.line_of[AUTH_V3]
    assert n == base.end - 1  # the newest memory is the last
    text = "".join(base.lines[: n - 1]) + base.lines[n - 1][:40]
    chain = {n, base.line_of[AUTH_V2], base.line_of[AUTH_V1]}  # earlier versions of a lost memory go with it
    return text, chain | {base.end}, {AUTH_V1, AUTH_V2, AUTH_V3}


def _after_end(base: Base):
    extra = base.records[base.line_of[BILLING] - 1] | {"id": 999, "content": "A line after the end."}
    extra["sha256"] = None
    return "".join(base.lines) + dump([extra]), {base.end + 1}, set()


def _end_count(base: Base):
    return dump([*base.records[:-1], base.records[-1] | {"memories": 7}]), {base.end}, set()


BAD_FILES = {
    "truncated mid-line": _cut_mid_line,
    "truncated at a line boundary": lambda b: ("".join(b.lines[:-1]), {b.end}, set()),
    "invalid JSON": lambda b: (b.replace_billing_line('{"type": "memory", "id": \n'), {b.line_of[BILLING], b.end},
                               {BILLING}),
    "not an object": lambda b: (b.replace_billing_line('["memory"]\n'), {b.line_of[BILLING], b.end}, {BILLING}),
    "duplicate id": lambda b: (b.with_billing(id=b.records[1]["id"]), {b.line_of[BILLING]}, {BILLING}),
    "oversized line": lambda b: (b.with_billing(content="x" * (portable.MAX_LINE_BYTES + 1), sha256=None),
                                 {b.line_of[BILLING], b.end}, {BILLING}),
    # a memory line the checks refuse is still a memory line: the end line counting it is right
    "wrong type": lambda b: (b.with_billing(tags="db"), {b.line_of[BILLING]}, {BILLING}),
    "sha256 mismatch": lambda b: (b.with_billing(content=BILLING + " Edited."), {b.line_of[BILLING]}, {BILLING}),
    "superseded_by nowhere": lambda b: (b.with_billing(superseded_by=999), {b.line_of[BILLING]}, {BILLING}),
    "record after the end line": _after_end,
    "end count mismatch": _end_count,
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_whole_with_strict(source, tmp_path, case, store_at):
    text, bad, _ = BAD_FILES[case](Base(source.plain))
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    copy = store_at
    with pytest.raises(InvalidInput) as caught:
        import_into(copy, path, strict=True)
    message = str(caught.value)
    for n in bad:
        assert f"bad.jsonl line {n}:" in message, message
    assert f"{len(bad)} problem(s)" in message and "nothing was imported" in message
    assert store_rows(copy) == {} and behavior_counts(copy) == (0, 0)


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_imports_its_good_records_and_names_the_bad_lines(source, tmp_path, case, store_at):
    text, bad, lost = BAD_FILES[case](Base(source.plain))
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    copy = store_at
    report = import_into(copy, path)
    assert problem_lines(report) == bad, [p.message for p in report.problems]
    assert all(p.where.startswith("bad.jsonl line ") for p in report.problems)
    rows = store_rows(copy)
    assert set(rows) == ALL - lost  # nothing of a bad record (nor an edited or extra text) went in
    assert report.added == len(ALL - lost)
    with Memory.open(source.db) as mem:  # every good record in its place: chains as in the source
        for text, row in rows.items():
            successor = mem.get(source.ids[text]).superseded_by
            assert row["successor"] == (None if successor is None else mem.get(successor).content)


@pytest.mark.parametrize(
    ("change", "fmt", "message"),
    [
        ({"version": 6}, None, "line 1: format version 6 is newer than this slm reads (up to 5)"),
        ({"version": "1"}, None, "line 1: the format version '1' is not a version number"),
        ({"format": "other-tool"}, "slm", "line 1: not an slm export"),
        ({"format": "other-tool"}, None, "is not a file slm can import"),
        ({"embedding_model": {"name": "x.gguf"}}, None, "line 1: embedding_model must be an object"),
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_a_bad_header_refuses_the_file(source, tmp_path, change, fmt, message, strict, store_at):
    records = parse(source.plain.read_text())
    path = tmp_path / "bad.jsonl"
    path.write_text(dump([records[0] | change, *records[1:]]))
    copy = store_at
    with pytest.raises(InvalidInput, match=re.escape(message)):
        import_into(copy, path, fmt=fmt, strict=strict)
    assert store_rows(copy) == {}


@pytest.mark.parametrize(("fmt", "message"), [("slm", "is empty"), (None, "is not a file slm can import")])
def test_an_empty_file_is_refused(slm_home, tmp_path, fmt, message, store_at):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    copy = store_at
    with pytest.raises(InvalidInput, match=message):
        import_into(copy, path, fmt=fmt)
    assert store_rows(copy) == {}


def test_a_file_that_does_not_start_with_its_header_is_refused(source, tmp_path, store_at):
    lines = source.plain.read_text().splitlines(keepends=True)
    path = tmp_path / "headless.jsonl"
    path.write_text("".join(lines[1:]))
    copy = store_at
    with pytest.raises(InvalidInput, match="line 1: the first record must be the header"):
        import_into(copy, path, fmt="slm")
    assert store_rows(copy) == {}


def test_feedback_on_a_bad_memory_is_reported_not_imported(source, tmp_path, store_at):
    records = parse(source.jsonl.read_text())
    number = next(n for n, r in enumerate(records, 1) if r.get("content") == BILLING)
    records[number - 1]["sha256"] = "0" * 64
    feedback_line = next(n for n, r in enumerate(records, 1) if r.get("memory_id") == source.ids[BILLING])
    path = tmp_path / "bad.jsonl"
    path.write_text(dump(records))
    copy = store_at
    report = import_into(copy, path)
    assert BILLING not in store_rows(copy) and report.added == 5
    assert f"bad.jsonl line {feedback_line}" in [p.where for p in report.problems]
    assert behavior_counts(copy) == (1, 1)  # the recall, and the feedback on AUTH_V3


@pytest.mark.parametrize("strict", [True, False])
def test_feedback_on_a_memory_not_in_the_file_is_a_bad_line(source, tmp_path, strict, store_at):
    """The check names every bad line before anything is written, so --strict stores nothing."""
    records = parse(source.jsonl.read_text())
    number = next(n for n, r in enumerate(records, 1) if r["type"] == "feedback")
    records[number - 1]["memory_id"] = 999
    path = tmp_path / "bad.jsonl"
    path.write_text(dump(records))
    copy = store_at
    if strict:
        with pytest.raises(InvalidInput, match=f"line {number}"):
            import_into(copy, path, strict=True)
        assert store_rows(copy) == {} and behavior_counts(copy) == (0, 0)
    else:
        report = import_into(copy, path)
        assert report.added == 6 and behavior_counts(copy) == (1, 1)
        message = "feedback on memory 999, which is not a good memory record of this file"
        assert [p.message for p in report.problems] == [message]
        assert [p.where for p in report.problems] == [f"bad.jsonl line {number}"]


def test_a_json_export_is_recognised_without_format(source, tmp_path, store_at):
    path = tmp_path / "export.json"
    path.write_text(export_text(source.db, "json", behavior=True))
    copy = store_at
    report = import_into(copy, path)
    assert (report.format, report.added, report.behavior_added) == ("slm-json", 6, 3)


# -- the command line ------------------------------------------------------------------------------------------------
def test_cli_export(source, tmp_path):
    target = tmp_path / "out.jsonl"
    human = run("export", "--db", source.db, "-o", target)
    assert squash(f"exported 6 memories to {target}") in squash(human.stdout)
    records = parse(target.read_text())
    assert [r["type"] for r in records] == ["header", *["memory"] * 6, "end"]
    assert normalized(records)["memories"] == normalized(parse(source.plain.read_text()))["memories"]

    with_behavior = tmp_path / "behavior.jsonl"
    summary = run_json("export", "--db", source.db, "-o", with_behavior, "--include-behavior")
    assert summary == {"format": "jsonl", "output": str(with_behavior), "memories": 6, "recalls": 1, "feedback": 2}
    assert parse(with_behavior.read_text())[-1] == {"type": "end", "memories": 6, "recalls": 1, "feedback": 2}

    to_stdout = run("export", "--db", source.db, "--project", "auth", "--include-embeddings")
    records = parse(to_stdout.stdout)
    assert records[0]["type"] == "header" and records[0]["filters"] == {"project": "auth"}
    assert {r["content"] for r in records if r["type"] == "memory"} == {AUTH_V1, AUTH_V2, AUTH_V3}
    assert all(r["embedding"]["vectors"] for r in records if r["type"] == "memory")
    assert records[-1] == {"type": "end", "memories": 3} and squash("exported 3 memories") in squash(to_stdout.stderr)

    as_json = tmp_path / "out.json"
    run("export", "--db", source.db, "-f", "json", "-o", as_json)
    assert [r["type"] for r in json.loads(as_json.read_text())] == ["header", *["memory"] * 6, "end"]

    folder = tmp_path / "notes"
    summary = run_json("export", "--db", source.db, "-f", "markdown", "-o", folder)
    assert summary == {"format": "markdown", "folder": str(folder), "files": {"auth.md": 1, "billing.md": 1,
                                                                              "ops.md": 1}}  # fmt: skip
    assert AUTH_V3 in (folder / "auth.md").read_text(encoding="utf-8")

    refused = run("export", "--db", source.db, "-f", "markdown", code=2)
    assert squash("markdown export writes a folder") in squash(refused.stderr) and "-oFOLDER" in squash(refused.stderr)
    unknown = run("export", "--db", source.db, "-f", "xml", "-o", tmp_path / "x", code=2)
    assert squash("unknown format 'xml'") in squash(unknown.stderr) and "jsonl" in unknown.stderr
    assert not (tmp_path / "x").exists()


def test_cli_import(source, tmp_path):
    db = tmp_path / "copy" / "memory.db"
    report = run_json("import", source.jsonl, "--db", db)
    assert report == {"format": "slm", "records": 6, "added": 6, "already": 0, "behavior_added": 3,
                      "reembedded": True, "problems": []}  # fmt: skip
    again = run("import", source.jsonl, "--db", db)
    assert squash(f"imported 0 memories from {source.jsonl} (slm); 6 were here already") in squash(again.stdout)
    assert len(store_rows(db)) == 6

    base = Base(source.plain)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(base.with_billing(content=BILLING + " Edited."))
    line = base.line_of[BILLING]
    partial = tmp_path / "partial" / "memory.db"
    skipped = run("import", bad, "--db", partial, code=1)
    assert squash(f"skipped bad.jsonl line {line}: the content does not match its sha256") in squash(skipped.stdout)
    assert set(store_rows(partial)) == ALL - {BILLING}

    strict = tmp_path / "strict" / "memory.db"
    refused = run("import", bad, "--strict", "--db", strict, code=2)
    assert squash(f"bad.jsonl line {line}: the content does not match its sha256") in squash(refused.stderr)
    assert squash("nothing was imported (--strict)") in squash(refused.stderr)
    assert store_rows(strict) == {}

    newer = tmp_path / "newer.jsonl"
    newer.write_text(dump([base.records[0] | {"version": portable.VERSION + 1}, *base.records[1:]]))
    error = run_json("import", newer, "--db", strict, code=2)
    assert error["error"].startswith(f"line 1: format version {portable.VERSION + 1} is newer")
    assert "upgrade" in error["hint"]

    unknown = run("import", source.jsonl, "--format", "nosuch", "--db", strict, code=2)
    assert squash("unknown import format 'nosuch'") in squash(unknown.stderr)
    assert store_rows(strict) == {}


def test_cli_imports_a_json_export_without_format(source, tmp_path):
    path = tmp_path / "export.json"
    run("export", "--db", source.db, "-f", "json", "-o", path)
    report = run_json("import", path, "--db", tmp_path / "copy" / "memory.db")
    assert (report["format"], report["added"]) == ("slm-json", 6)


def test_cli_import_json_exits_1_when_records_were_skipped(source, tmp_path):
    """`slm import` exits 1 when some records were skipped; with --json as without (scripts read the status)."""
    base = Base(source.plain)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(base.with_billing(superseded_by=999))
    listed = run_json("import", bad, "--db", tmp_path / "copy" / "memory.db", code=1)
    assert (listed["records"], listed["added"], listed["already"]) == (6, 5, 0)
    assert [(p["where"], p["message"]) for p in listed["problems"]] == [
        (f"bad.jsonl line {base.line_of[BILLING]}", "superseded_by 999 is not a good memory record of this file")
    ]


def test_project_option_is_refused_for_an_slm_export(source, tmp_path, store_at):
    copy = store_at
    with pytest.raises(InvalidInput, match="--project is for other tools' notes"):
        import_into(copy, source.jsonl, project="elsewhere")
    assert store_rows(copy) == {}


def test_a_batch_that_fails_half_way_leaves_nothing_of_itself(source, tmp_path, monkeypatch, store_at):
    """Records, versions, validity and links of a batch are one transaction: a failure while restoring the links
    of its third record takes back the whole batch, rows and derived data alike."""
    calls = []
    restore_links = importer.sql.replace_links

    def failing(conn, memory_id, among, recorded):
        calls.append(memory_id)
        if len(calls) == 3:
            raise RuntimeError("disk full, say")
        restore_links(conn, memory_id, among, recorded)

    monkeypatch.setattr(importer.sql, "replace_links", failing)
    copy = store_at
    with pytest.raises(RuntimeError, match="disk full"):
        import_into(copy, source.jsonl)
    assert store_rows(copy) == {}
    with Memory.open(copy) as mem:
        counts = [mem.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("chunks", "claims", "events")]
    assert counts == [0, 0, 0]


# -- across backends: SQLite -> PostgreSQL -> SQLite -----------------------------------------------------------------
def exported(where) -> str:
    """The store's whole export with embeddings and behaviour, less what is the exporting store's own (the moment
    of the export, and each memory's `observed` trust, which an import does not take): every other byte as written."""
    buffer = io.StringIO()
    with Memory.open(where) as mem:
        exporter.export(mem.transfers, buffer, embeddings=True, behavior=True)
    records = parse(buffer.getvalue())
    assert records[0].pop("exported_at") and all(r.pop("observed") for r in records if r["type"] == "memory")
    return dump(records)


def test_an_export_moves_between_backends_byte_for_byte(source, tmp_path, pg_database):
    """`slm export` of a SQLite store, imported into PostgreSQL, exported again: the same bytes (ids, versions,
    validity, trust records, links, behaviour, embeddings bit for bit); and that imported into SQLite again."""
    from slm.storage.db import server_location

    first = exported(source.db)
    path = tmp_path / "from-sqlite.jsonl"
    with Memory.open(source.db) as mem, path.open("w", encoding="utf-8") as out:  # what `slm export` writes
        exporter.export(mem.transfers, out, embeddings=True, behavior=True)
    on_server = server_location(pg_database)
    with Memory.open(on_server) as mem:
        report = importer.import_file(mem.transfers, path)
    assert (report.added, report.behavior_added, report.reembedded) == (6, 3, False)
    with Memory.open(on_server) as mem:  # the ids the import took are behind the identity sequence
        assert mem.conn.execute("SELECT max(id) FROM memories").fetchone()[0] == max(source.ids.values())
    second = exported(on_server)
    assert second == first

    back = tmp_path / "from-postgres.jsonl"
    with Memory.open(on_server) as mem, back.open("w", encoding="utf-8") as out:
        exporter.export(mem.transfers, out, embeddings=True, behavior=True)
    copy = tmp_path / "back" / "memory.db"
    assert import_into(copy, back).added == 6
    assert exported(copy) == first
    with Memory.open(on_server) as mem:
        assert mem.remember("A note written after the import.") > max(source.ids.values())

    records = parse(first)  # what was compared holds what the store made
    memories = {r["content"]: r for r in records if r["type"] == "memory"}
    assert set(memories) == ALL and all(r["embedding"]["vectors"] for r in memories.values())
    assert memories[AUTH_V1]["superseded_by"] == memories[AUTH_V2]["id"] and memories[AUTH_V1]["valid_to"]
    assert memories[BILLING]["review"] == "approved" and memories[AUTH_V3]["links"]
