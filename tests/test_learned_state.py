"""Where the learner keeps its state and the recall context it replays (issue 23), on SQLite and PostgreSQL: a recall's
workspace and base ranks, the `learned` table, and how erasure, export and import treat them. The learned state is
derived from memories and behaviour, so every erasure drops it but the user's "settings"; an import retrains it
rather than taking it from a file, but takes the settings where the store has none."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest

from slm import Memory
from slm.errors import InvalidInput
from slm.portability import erasure, exporter, importer, portable
from slm.storage import migrations
from slm.storage.behavior import BehaviorRepository
from slm.storage.db import StoreLocation, locate, open_behavior_db
from tests import faults

pytestmark = pytest.mark.both_backends

NOTES = {
    "billing": [
        "The billing service deploys with Helm every Thursday",
        "Billing invoices are rendered by the pdf-worker queue",
    ],
    "ops": [
        "The ops runbook for rollbacks lives in ops/rollback.md",
        "Ops rotates the Vault tokens on the first Monday of the month",
    ],
}
MODEL = {"weights": {"pytest": 0.8, "unittest": -0.3}, "projects": ["billing"], "patterns": [["deploy", "rollback"]]}
SETTINGS = {"enabled": True, "reset_at": "2026-12-01T00:00:00.000000Z"}


def location(store_at) -> StoreLocation:
    return store_at if isinstance(store_at, StoreLocation) else locate(store_at)


@pytest.fixture
def notes(mem) -> dict[str, list[int]]:
    return {project: [mem.remember(t, project=project) for t in texts] for project, texts in NOTES.items()}


def shown(mem: Memory, query: str, k: int = 4, **context) -> list[int]:
    """Recall `query` on the keyword channel (the same order on both backends), logged with its context."""
    hits = mem.recall(query, k, channels=("keyword",))
    mem.record_recall(query, k, hits, **context)
    return [h.id for h in hits]


def learn(mem: Memory, when: str | None = None) -> None:
    """The learner's state as it would save it: a model naming what it learned, and the user's settings."""
    stamp = when or _now()
    mem.behavior.save_learned_state("model", MODEL, stamp)
    mem.behavior.save_learned_state("settings", SETTINGS, stamp)


def _now() -> str:
    from slm import validation

    return validation.event_time()


# -- the schema ----------------------------------------------------------------------------------------------------
def test_migration_0003_applies_to_an_old_behaviour_database_and_keeps_its_rows(store_at, tmp_path):
    """A behaviour database as slm left it at 0002 (recalls, feedback, uses): migrated on open, every row kept, the
    new columns empty (NULL: no workspace known, base order shown), the learned table there and empty."""
    where = location(store_at)
    conn = open_behavior_db(where)
    history = migrations.history_dir(conn, "behavior")
    old = tmp_path / "behavior-0002"
    old.mkdir()
    for path in sorted(history.glob("*.sql"))[:2]:
        shutil.copy(path, old)
    assert migrations.migrate(conn, old) == 2
    with conn.write_transaction():
        conn.execute(
            "INSERT INTO recalls (time, query, k, results, agent, protocol, session, project) "
            "VALUES ('2026-11-01T10:00:00.000000Z', 'deploy day', 3, '[7, 3]', 'claude', 'mcp-stdio', 's-1', 'ops')"
        )
        conn.execute(
            "INSERT INTO feedback (time, memory_id, helpful, query, agent, protocol, recall_id) "
            "VALUES ('2026-11-01T10:00:01.000000Z', 7, 1, 'deploy day', 'claude', 'mcp-stdio', 1)"
        )
        conn.execute("INSERT INTO uses (time, recall_id, memory_id, kind) VALUES ('2026-11-01T10:00:02Z', 1, 3, 'get')")
    conn.close()
    behavior = BehaviorRepository.open(where)
    try:
        assert migrations.schema_version(behavior.conn) == len(migrations.load_migrations(history)) >= 3
        [recall] = behavior.recalls_since()
        assert (recall.query, recall.results, recall.session, recall.project) == ("deploy day", [7, 3], "s-1", "ops")
        assert (recall.workspace, recall.base_ranks) == (None, None)
        assert [(f.memory_id, f.recall_id) for f in behavior.feedback_rows()] == [(7, 1)]
        assert [(u.recall_id, u.memory_id, u.kind) for u in behavior.uses_since()] == [(1, 3, "get")]
        assert behavior.learned_names() == [] and behavior.learned_state("model") is None
    finally:
        behavior.close()


def test_base_ranks_and_the_learned_state_must_be_json(mem, notes):
    """The schema's own check, as a storage bug would meet it on both backends."""
    mem.record_recall("deploy", 3, mem.recall("deploy", 3, channels=("keyword",)))
    refused = pytest.raises(Exception, match=r"(?i)check|constraint")
    with refused, mem.behavior.conn.write_transaction():
        mem.behavior.conn.execute("UPDATE recalls SET base_ranks = '[1, 2'")
    with refused, mem.behavior.conn.write_transaction():
        mem.behavior.conn.execute("INSERT INTO learned VALUES ('model', 'not json', '2026-12-01T00:00:00Z')")
    assert mem.behavior.learned_names() == [] and mem.behavior.recalls_since()[0].base_ranks is None


# -- a recall's context ----------------------------------------------------------------------------------------------
def test_a_recall_keeps_its_workspace_and_the_ranks_before_re_ranking(mem, notes):
    plain = shown(mem, "deploy rollback tokens", agent="claude", session="s-1")
    moved = mem.recall("deploy rollback tokens", 4, channels=("keyword",))
    base = list(range(len(moved), 0, -1))  # as if the personal ranking had reversed the base order
    mem.record_recall("deploy rollback tokens", 4, moved, agent="claude", workspace="billing", base_ranks=base)
    named = shown(mem, "invoices", agent="claude", project="billing")
    first, second, third = mem.behavior.recalls_since()
    assert (first.results, first.workspace, first.base_ranks) == (plain, None, None)
    assert (second.results, second.workspace, second.base_ranks) == ([h.id for h in moved], "billing", base)
    assert (third.results, third.project, third.workspace, third.base_ranks) == (named, "billing", None, None)
    later = mem.behavior.recalls_since(first.id)
    assert [r.id for r in later] == [second.id, third.id] and later[0].base_ranks == base


def test_a_sessions_latest_recalls_and_what_was_used_after_them(mem, notes):
    """The context a recall is made in: its session's latest recalls (oldest first, within the window, no other
    session's), and the memories used after them, each once, in the order first used."""
    first = shown(mem, "billing", agent="claude", session="s-1")
    shown(mem, "rollbacks", agent="claude", session="s-2")
    second = shown(mem, "Vault tokens", agent="claude", session="s-1")
    third = shown(mem, "invoices", agent="claude", session="s-1")
    recalls = {r.results[0]: r for r in mem.behavior.recalls_since()}
    mem.record_use("get", [third[0], second[0]], agent="claude")  # each linked to the latest recall that showed it
    mem.record_use("get", [first[0], third[0]], agent="claude")
    behavior = mem.behavior
    latest = behavior.session_recalls("s-1", "2000-01-01T00:00:00.000000Z", 2)
    assert [r.results for r in latest] == [second, third]
    assert [r.results for r in behavior.session_recalls("s-1", "2000-01-01T00:00:00.000000Z", 5)] == [
        first, second, third,
    ]  # fmt: skip
    since = recalls[second[0]].time
    assert [r.results for r in behavior.session_recalls("s-1", since, 5)] == [second, third]
    assert behavior.session_recalls("s-3", "2000-01-01T00:00:00.000000Z", 5) == []
    assert behavior.used_in([r.id for r in latest]) == [third[0], second[0]]
    ids = [r.id for r in behavior.session_recalls("s-1", "2000-01-01T00:00:00.000000Z", 5)]
    assert behavior.used_in(ids) == [third[0], second[0], first[0]] and behavior.used_in([]) == []


def test_the_version_of_a_learned_state_is_when_it_was_saved(mem):
    behavior = mem.behavior
    assert behavior.learned_version("model") is None
    behavior.save_learned_state("model", MODEL, "2026-12-01T00:00:00.000000Z")
    assert behavior.learned_version("model") == "2026-12-01T00:00:00.000000Z"
    behavior.save_learned_state("model", MODEL, "2026-12-01T00:00:05.000000Z")
    assert behavior.learned_version("model") == "2026-12-01T00:00:05.000000Z"
    behavior.delete_learned_state(keep=["settings"])
    assert behavior.learned_version("model") is None


def test_a_model_trained_while_an_erasure_ran_is_not_saved_over_it(mem, notes):
    """The learner's protocol against an erasure during training: read the version, train, save only if the version
    is still the one read. The erasure deleted the state meanwhile, so what was trained on erased memories is not
    saved; nor is one trained on a state another process has replaced since."""
    behavior = mem.behavior
    behavior.save_learned_state("model", {}, _now())  # the placeholder before a first training
    version = behavior.learned_version("model")
    trained = {"weights": {"helm": 1.0}}  # ... as if learned from the billing notes, about to be erased
    erasure.erase(mem.transfers, erasure.Scope.of(ids=[notes["billing"][0]]))
    assert not behavior.update_learned_state("model", trained, _now(), version)
    assert behavior.learned_state("model") is None
    behavior.save_learned_state("model", {}, _now())
    version = behavior.learned_version("model")
    assert behavior.update_learned_state("model", trained, _now(), version)  # nothing happened meanwhile
    assert behavior.learned_state("model") == trained
    assert not behavior.update_learned_state("model", {"weights": {}}, _now(), version)  # replaced since
    assert behavior.learned_state("model") == trained


@pytest.mark.parametrize(
    ("ranks", "message"),
    [
        ([1], "list of 2 ranks"),
        ([1, 2, 3], "list of 2 ranks"),
        ((1, 2), "list of 2 ranks"),
        ([0, 1], "whole number from 1"),
        ([1, "2"], "whole number from 1"),
        ([True, 2], "whole number from 1"),
        ([2, 2], "a rank twice"),
    ],
)
def test_base_ranks_are_one_distinct_positive_rank_per_result(mem, notes, ranks, message):
    hits = mem.recall("billing", 2, channels=("keyword",))
    assert len(hits) == 2
    with pytest.raises(InvalidInput, match=message):
        mem.record_recall("billing", 2, hits, base_ranks=ranks)
    assert mem.existing_behavior() is None or mem.behavior.recall_count() == 0


def test_a_workspace_is_checked_like_a_project(mem, notes):
    hits = mem.recall("billing", 2, channels=("keyword",))
    for bad in ("", "   ", "ops\u200b", "x" * 129, 7):
        with pytest.raises(InvalidInput, match="workspace"):
            mem.record_recall("billing", 2, hits, workspace=bad)
    mem.record_recall("billing", 2, hits, workspace="  billing ")
    assert [r.workspace for r in mem.behavior.recalls_since()] == ["billing"]


# -- the learner's state ---------------------------------------------------------------------------------------------
def test_learned_state_round_trips_upserts_and_is_deleted_but_what_is_kept(mem):
    behavior = mem.behavior
    assert behavior.learned_state("model") is None and behavior.learned_names() == []
    behavior.save_learned_state("model", MODEL, "2026-12-01T00:00:00.000000Z")
    behavior.save_learned_state("settings", SETTINGS, "2026-12-01T00:00:00.000000Z")
    behavior.save_learned_state("patterns", {"after": {"deploy": ["rollback"]}}, "2026-12-01T00:00:01.000000Z")
    assert behavior.learned_state("model") == MODEL and behavior.learned_state("settings") == SETTINGS
    newer = {"weights": {"pytest": 0.9}, "note": "Zürich \u2014 unicode kept"}
    behavior.save_learned_state("model", newer, "2026-12-02T00:00:00.000000Z")  # an upsert: still one row
    assert behavior.learned_state("model") == newer
    assert behavior.learned_names() == ["model", "patterns", "settings"]
    row = behavior.conn.execute("SELECT updated_at FROM learned WHERE name = 'model'").fetchone()
    assert row[0] == "2026-12-02T00:00:00.000000Z"
    assert behavior.delete_learned_state(keep=["settings"]) == 2
    assert behavior.learned_names() == ["settings"] and behavior.learned_state("model") is None
    assert behavior.delete_learned_state() == 1 and behavior.learned_names() == []
    assert behavior.delete_learned_state() == 0
    with pytest.raises(TypeError, match="JSON object"):
        behavior.save_learned_state("model", [1, 2], "2026-12-02T00:00:00.000000Z")


def test_what_each_recall_reads_goes_through_an_index(mem):
    """The model (its primary key) and, on SQLite, a session's latest recalls (its index): read on every recall."""
    for i in range(200):
        mem.behavior.save_learned_state(f"extra-{i}", {"i": i}, "2026-12-01T00:00:00.000000Z")
    conn = mem.behavior.conn
    if conn.backend == "sqlite":
        plan = " ".join(
            str(r) for r in conn.execute("EXPLAIN QUERY PLAN SELECT state FROM learned WHERE name = ?", ("model",))
        )
        assert "USING INDEX" in plan and "SCAN" not in plan
        context = " ".join(
            str(r)
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM recalls WHERE session = ? AND time >= ? ORDER BY id DESC LIMIT 5",
                ("s-1", "2026-01-01"),
            )
        )
        assert "recalls_session" in context, context
    else:
        with conn.write_transaction():
            conn.execute("SET LOCAL enable_seqscan = off")  # a 200-row table is read whole otherwise: no index here
            plan = " ".join(r[0] for r in conn.execute("EXPLAIN SELECT state FROM learned WHERE name = 'model'"))
        assert "learned_pkey" in plan


# -- erasure ---------------------------------------------------------------------------------------------------------
def test_erasing_memories_drops_the_learned_state_but_the_settings(mem, notes):
    billing, ops = notes["billing"], notes["ops"]
    gone = shown(mem, "billing", agent="claude")  # shows the billing notes: erased with them
    base = [2, 1]
    kept_hits = mem.recall("rollbacks runbook", 2, channels=("keyword",))
    mem.record_recall(
        "rollbacks runbook", 2, kept_hits, agent="claude", workspace="ops", base_ranks=base[: len(kept_hits)]
    )
    learn(mem)
    receipt = erasure.erase(mem.transfers, erasure.Scope.of(ids=[billing[0]]))
    assert billing[0] in gone and receipt["counts"]["behavior.learned"] == 1
    assert mem.behavior.learned_names() == ["settings"] and mem.behavior.learned_state("settings") == SETTINGS
    [left] = mem.behavior.recalls_since()  # the recall that showed it went whole; the other keeps its ranks
    assert left.results == [h.id for h in kept_hits] and set(left.results) <= set(ops)
    assert left.base_ranks == base[: len(kept_hits)] and len(left.base_ranks) == len(left.results)
    verified = erasure.verify(mem.transfers, Path(receipt["path"]))
    assert verified["ok"] and verified["left"]["behavior.learned"] == 0
    mem.behavior.save_learned_state("model", MODEL, _now())  # retrained after the erasure: not a leftover
    assert erasure.verify(mem.transfers, Path(receipt["path"]))["ok"]
    mem.behavior.save_learned_state("model", MODEL, receipt["erased_at"])  # as old as the erasure: a leftover
    verified = erasure.verify(mem.transfers, Path(receipt["path"]))
    assert not verified["ok"] and verified["left"]["behavior.learned"] == 1


def test_erase_behavior_leaves_only_the_settings(mem, notes, store_at):
    shown(mem, "deploy", agent="claude", workspace="billing")
    mem.feedback(notes["ops"][0], True, agent="claude")
    learn(mem)
    mem.behavior.save_learned_state("patterns", {"after": {"deploy": ["rollback"]}}, _now())
    receipt = erasure.erase_behavior(mem.transfers)
    assert receipt["counts"]["behavior.learned"] == 2 and receipt["counts"]["behavior.recalls"] == 1
    assert mem.behavior.learned_names() == ["settings"] and mem.behavior.recall_count() == 0
    assert mem.count() == 4
    verify = faults.run(["erase", "--verify", receipt["path"], "--db", faults.db_arg(store_at), "--json"])
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["left"]["behavior.learned"] == 0
    with mem.behavior.conn.write_transaction():  # a model the erasure missed would be found
        mem.behavior.conn.execute("INSERT INTO learned VALUES ('model', '{}', ?)", (receipt["erased_at"],))
    found = faults.run(["erase", "--verify", receipt["path"], "--db", faults.db_arg(store_at), "--json"])
    assert found.returncode != 0 and json.loads(found.stdout)["left"]["behavior.learned"] == 1


def test_the_cli_erase_behavior_counts_the_learned_state(mem, notes, store_at):
    shown(mem, "deploy", agent="claude")
    learn(mem)
    done = faults.run(["erase", "--behavior", "--yes", "--db", faults.db_arg(store_at), "--json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["behavior.learned"] == 1
    assert mem.behavior.learned_names() == ["settings"]


def _sessions_gone(store_at) -> None:
    """On a server, wait until the killed eraser's session (and its advisory lock) is gone."""
    if not isinstance(store_at, StoreLocation):
        return
    import psycopg

    deadline = time.monotonic() + 30
    with psycopg.connect(store_at.url, autocommit=True) as conn:
        others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        while conn.execute(others).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed client's session did not end"
            time.sleep(0.05)


@pytest.mark.parametrize("step", ["erase.behaviour.rows", "erase.behaviour"])
@pytest.mark.parametrize("scope", ["memories", "behavior"])
def test_an_erasure_killed_around_its_behaviour_step_drops_the_learned_state_once_finished(
    store_at, step, scope, slm_home
):
    """Killed with the behaviour rows deleted but not committed, the behaviour database is as before (learned state
    and all); killed after, as after. Either way the next open finishes the erasure: settings kept, the rest gone,
    counted once in the receipt."""
    with Memory.open(store_at) as mem:
        ids = [mem.remember(t, project=p) for p, texts in NOTES.items() for t in texts]
        shown(mem, "billing", agent="claude")
        learn(mem)
    db = faults.db_arg(store_at)
    command = (
        ["erase", "--behavior", "--yes", "--db", db]
        if scope == "behavior"
        else ["erase", str(ids[0]), "--yes", "--db", db]
    )
    faults.crash_at(step, command)
    _sessions_gone(store_at)
    behavior = BehaviorRepository.open(location(store_at))
    try:
        if step == "erase.behaviour.rows":  # rolled back: every behaviour row as it was
            assert behavior.learned_names() == ["model", "settings"] and behavior.recall_count() == 1
        else:
            assert behavior.learned_names() == ["settings"] and behavior.recall_count() == 0
    finally:
        behavior.close()
    with Memory.open(store_at) as mem:  # opening the store finishes the erasure
        [receipt] = mem.finished_erasures
        assert erasure.pending(mem.transfers) == []
        assert mem.behavior.learned_names() == ["settings"] and mem.behavior.learned_state("settings") == SETTINGS
        assert receipt["counts"]["behavior.learned"] == 1 and receipt["counts"]["behavior.recalls"] == 1
        assert mem.count() == (4 if scope == "behavior" else 3)
        [path] = (location(store_at).folder / erasure.RECEIPTS_DIR).glob("erasure-*.json")
        verified = erasure.verify(mem.transfers, path)
        assert verified["ok"], verified["left"]


# -- export and import -----------------------------------------------------------------------------------------------
def export_records(mem: Memory, **selection) -> list[dict]:
    out = io.StringIO()
    chosen = exporter.Selection.of(**selection) if selection else exporter.Selection()
    exporter.export(mem.transfers, out, behavior=True, selection=chosen)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def write(tmp_path: Path, records: list[dict], name: str = "export.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(portable.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_export_writes_the_learned_state_and_import_takes_only_the_settings(mem, notes, tmp_path):
    hits = mem.recall("billing ops", 4, channels=("keyword",))
    ranks = list(range(len(hits), 0, -1))
    mem.record_recall("billing ops", 4, hits, agent="claude", workspace="ops", base_ranks=ranks)
    learn(mem)
    records = export_records(mem)
    assert records[0]["version"] == portable.VERSION == 5  # an older slm says to upgrade rather than skip lines
    learned = {r["name"]: r for r in records if r["type"] == "learned"}
    assert {n: r["state"] for n, r in learned.items()} == {"model": MODEL, "settings": SETTINGS}
    [recall] = [r for r in records if r["type"] == "recall"]
    assert (recall["workspace"], recall["base_ranks"]) == ("ops", ranks)
    assert records[-1] == {"type": "end", "memories": 4, "recalls": 1, "feedback": 0, "learned": 2}
    path = write(tmp_path, records)
    with Memory.open(tmp_path / "fresh" / "memory.db") as fresh:
        report = importer.import_file(fresh.transfers, path)
        assert report.problems == [] and report.behavior_added == 2  # the recall and the settings
        assert fresh.behavior.learned_names() == ["settings"]  # the model is retrained here, not copied
        assert fresh.behavior.learned_state("settings") == SETTINGS
        [imported] = fresh.behavior.recalls_since()
        assert (imported.workspace, imported.base_ranks, len(imported.results)) == ("ops", ranks, len(hits))
        again = importer.import_file(fresh.transfers, path)
        assert again.behavior_added == 0 and fresh.behavior.learned_names() == ["settings"]
    with Memory.open(tmp_path / "own" / "memory.db") as own:  # its own settings win
        own.behavior.save_learned_state("settings", {"enabled": False}, _now())
        importer.import_file(own.transfers, path)
        assert own.behavior.learned_state("settings") == {"enabled": False}


def test_a_filtered_export_keeps_base_ranks_parallel_and_carries_only_the_settings(mem, notes, tmp_path):
    hits = mem.recall("billing ops rollbacks invoices Thursday Vault", 4, channels=("keyword",))
    projects = {i: p for p, ids in notes.items() for i in ids}
    assert {projects[h.id] for h in hits} == {"billing", "ops"}
    ranks = [7, 2, 5, 1][: len(hits)]
    mem.record_recall("which runbook", 4, hits, agent="claude", base_ranks=ranks)
    learn(mem)
    records = export_records(mem, project="billing")
    [recall] = [r for r in records if r["type"] == "recall"]
    kept = [(h.id, r) for h, r in zip(hits, ranks, strict=True) if projects[h.id] == "billing"]
    assert recall["results"] == [i for i, _ in kept] and recall["base_ranks"] == [r for _, r in kept]
    assert [r["name"] for r in records if r["type"] == "learned"] == ["settings"]
    with Memory.open(tmp_path / "fresh" / "memory.db") as fresh:
        importer.import_file(fresh.transfers, write(tmp_path, records))
        [imported] = fresh.behavior.recalls_since()
        assert imported.base_ranks == [r for _, r in kept] and len(imported.results) == len(kept)


def test_import_keeps_base_ranks_parallel_to_the_results_it_can_map(mem, notes, tmp_path):
    """A result whose memory line is bad in the file is dropped from the recall, and its rank with it."""
    hits = mem.recall("billing ops rollbacks invoices Thursday Vault", 4, channels=("keyword",))
    ranks = [4, 3, 2, 1][: len(hits)]
    mem.record_recall("which runbook", 4, hits, agent="claude", base_ranks=ranks)
    records = export_records(mem)
    dropped = hits[1].id
    records = [r for r in records if not (r["type"] == "memory" and r["id"] == dropped)]
    records[-1]["memories"] -= 1
    with Memory.open(tmp_path / "fresh" / "memory.db") as fresh:
        importer.import_file(fresh.transfers, write(tmp_path, records))
        [imported] = fresh.behavior.recalls_since()
        assert imported.base_ranks == [r for h, r in zip(hits, ranks, strict=True) if h.id != dropped]
        assert len(imported.results) == len(hits) - 1


def test_an_export_without_the_learned_state_imports_as_before(mem, notes, tmp_path):
    """A store that never learned writes the file an older slm wrote (no learned line, the older version); a file of
    an older slm, whose recall lines have no workspace nor base ranks, still imports."""
    shown(mem, "deploy", agent="claude")
    records = export_records(mem)
    assert records[0]["version"] == portable.PLAIN_VERSION and "learned" not in records[-1]
    assert not [r for r in records if r["type"] == "learned"]
    for record in records:
        if record["type"] == "recall":
            del record["workspace"], record["base_ranks"]
    with Memory.open(tmp_path / "fresh" / "memory.db") as fresh:
        report = importer.import_file(fresh.transfers, write(tmp_path, records), strict=True)
        assert report.behavior_added == 1 and fresh.behavior.learned_names() == []
        [imported] = fresh.behavior.recalls_since()
        assert (imported.workspace, imported.base_ranks) == (None, None)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"type": "learned", "name": "model", "state": [1], "updated_at": "2026-12-01T00:00:00Z"}, "JSON object"),
        ({"type": "learned", "name": "model", "state": {}}, "updated_at"),
        ({"type": "learned", "name": "", "state": {}, "updated_at": "2026-12-01T00:00:00Z"}, "name"),
    ],
)
def test_a_bad_learned_line_is_refused(record, message):
    with pytest.raises(portable.LineError, match=message):
        portable.parse_line(json.dumps(record), 9, None)


def test_a_recall_line_with_ranks_not_parallel_to_its_results_is_refused():
    line = {"type": "recall", "time": "2026-12-01T00:00:00.000000Z", "query": "q", "k": 3, "results": [1, 2],
            "agent": "claude", "protocol": "api", "base_ranks": [1]}  # fmt: skip
    with pytest.raises(portable.LineError, match="list of 2 ranks"):
        portable.parse_line(json.dumps(line), 3, None)
