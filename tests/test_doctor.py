"""`slm doctor` on stores that are really broken: a corrupted page, an empty file, a keyword index or vectors out of
step, and `--repair`. Each store is built through the API, broken with SQL or by overwriting bytes of the closed
file, and checked by running the real `slm` console script: no mocks.

A test that takes a store runs on both backends (a SQLite file, a PostgreSQL database); what only a file has (its
pages, its mode, FTS5's own shadow tables, sqlite-vec's trigger) is marked `sqlite_only`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import apsw
import pytest
from click.testing import CliRunner

from slm import Memory
from slm.cli.main import app
from slm.storage.db import StoreLocation
from tests import faults
from tests.faults import Store, connect, db_arg

pytestmark = pytest.mark.both_backends

_SCRIPT = Path(sys.executable).with_name("slm")
SLM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from slm.cli.main import main; main()"]
NOTES = [
    ("We chose PostgreSQL 16 for the billing service because of logical replication.", "billing"),
    ("The billing service retries Stripe webhooks three times with exponential backoff.", "billing"),
    ("Kubernetes liveness probes hit /healthz every 10 seconds.", "infra"),
    ("The frontend build uses Vite 5 and deploys to Cloudflare Pages.", "web"),
    ("Run the integration tests with `make itest`; they need Docker running.", "infra"),
    ("Grafana dashboards for the checkout flow live in the observability repository.", "web"),
]
STORE_CHECKS = [
    "database file", "database schema", "file permissions", "keyword index", "vectors", "erasures",
    "behaviour database",
]  # fmt: skip


@pytest.fixture
def store(store_at) -> Store:
    """A small closed store (a file: its WAL checkpointed into it) holding NOTES, ids 1..6 in order."""
    with Memory.open(store_at) as mem:
        mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
    return store_at


def slm(*args: object, code: int = 0) -> subprocess.CompletedProcess:
    """The real console script; checks the exit code and that no traceback escaped."""
    proc = subprocess.run(
        [*SLM, *map(str, args)], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    return proc


def doctor(db: Store, *args: str, code: int = 0) -> dict:
    """`slm doctor --json`, as a dict with the checks by name."""
    report = json.loads(slm("doctor", "--db", db_arg(db), "--json", *args, code=code).stdout)
    report["by_name"] = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is (code == 0) and report["ok"] is all(c["ok"] for c in report["checks"])
    return report


def failed(report: dict) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["ok"]]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(db: Store, *statements: str) -> None:
    """Break a store on purpose, through a connection with sqlite-vec loaded (chunk_vectors needs it)."""
    conn = connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def integrity(db: Path) -> list[str]:
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except apsw.Error as err:
        return [str(err)]
    finally:
        conn.close()


def corrupt_a_page(db: Path) -> int:
    """Overwrite one whole page in the middle of the closed file with garbage, at a page boundary; the first page
    from the middle on that is in use (so that the file really is corrupt). Returns its number."""
    conn = apsw.Connection(str(db))
    page_size, pages = conn.execute("SELECT * FROM pragma_page_size, pragma_page_count").fetchone()
    conn.close()
    original = db.read_bytes()
    for page in range(pages // 2, pages + 1):
        with db.open("r+b") as handle:
            handle.seek((page - 1) * page_size)
            handle.write(bytes((7 * i + 13) % 256 for i in range(page_size)))
        if integrity(db) != ["ok"]:
            return page
        db.write_bytes(original)
    raise AssertionError("no page of the store made it corrupt")


def recall_ids(db: Store, query: str, channel: str) -> list[int]:
    with Memory.open(db, create=False) as mem:
        return [hit.id for hit in mem.recall(query, k=3, channels=[channel])]


# -- a damaged file ----------------------------------------------------------------------------------------------------
@pytest.mark.sqlite_only  # a file's pages; a server keeps its own
def test_a_corrupted_page_fails_with_how_to_restore_and_repair_changes_nothing(store):
    made = json.loads(slm("backup", "--db", store, "--json").stdout)
    corrupt_a_page(store)
    assert integrity(store) != ["ok"]

    human = slm("doctor", "--db", store, code=1)
    assert "FAIL" in human.stdout and "database file" in human.stdout and "damaged" in human.stdout
    report = doctor(store, code=1)
    file = report["by_name"]["database file"]
    assert not file["ok"] and "damaged" in file["detail"] and "quick_check" in file["detail"]
    assert f"cp {made['path']} {store}" in file["fix"] and f"mv {store} {store}.damaged" in file["fix"]
    assert "rm " not in file["fix"]  # the damaged file is kept: it may still hold what the backup does not
    assert set(report["by_name"]) >= set(STORE_CHECKS)

    before = digest(store)
    repaired = doctor(store, "--repair", code=1)
    [refused] = repaired["repairs"]
    assert not refused["ok"] and "nothing was changed" in refused["detail"] and made["path"] in refused["detail"]
    assert digest(store) == before

    # the fix does what it says: run it, and the store is the backup again
    command = file["fix"].split("restore the newest backup: ", 1)[1]
    subprocess.run(["sh", "-c", command], check=True)
    assert doctor(store)["ok"] and digest(Path(f"{store}.damaged")) == before
    with Memory.open(store, create=False) as mem:
        assert mem.count() == len(NOTES)


@pytest.mark.sqlite_only  # SQLite's schema table edited; PostgreSQL's indexes are the server's
def test_full_checks_every_index_against_its_table(store):
    """An index that no longer matches its table: quick_check cannot see it, integrity_check (--full) does."""
    conn = apsw.Connection(str(store))
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_schema SET sql = 'CREATE INDEX events_agent ON events (protocol, id)' "
                 "WHERE name = 'events_agent'")  # fmt: skip
    conn.execute("PRAGMA writable_schema = OFF")
    conn.close()

    quick = doctor(store)["by_name"]["database file"]
    assert quick["ok"] and "quick_check" in quick["detail"] and "--full" in quick["detail"]
    full = doctor(store, "--full", code=1)["by_name"]["database file"]
    assert not full["ok"] and "integrity_check" in full["detail"] and "events_agent" in full["detail"]


def test_an_empty_file_fails_and_is_never_made_into_a_store(tmp_path):
    empty = tmp_path / "memory.db"
    empty.touch(mode=0o600)
    human = slm("doctor", "--db", empty, code=1)
    assert "empty (0 bytes)" in human.stdout
    report = doctor(empty, code=1)
    file = report["by_name"]["database file"]
    assert not file["ok"] and "empty" in file["detail"] and f"rm {empty}" in file["fix"]
    assert failed(report) == STORE_CHECKS[:2] + STORE_CHECKS[3:-1]  # its mode is fine; behavior.db is absent, fine
    assert doctor(empty, "--repair", code=1)["repairs"][0]["ok"] is False
    assert empty.stat().st_size == 0 and not Path(f"{empty}-wal").exists()


def test_files_doctor_cannot_read_are_reported_not_crashed(tmp_path):
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a database at all\n" * 50)
    foreign.chmod(0o600)
    report = doctor(foreign, code=1)
    assert "not a database" in report["by_name"]["database file"]["detail"]
    assert "wrong file" in report["by_name"]["database file"]["fix"]

    folder = tmp_path / "a-folder"
    folder.mkdir()
    report = doctor(folder, code=1)
    assert set(STORE_CHECKS) <= set(report["by_name"])  # every check is reported, those it could not do as such
    assert "is a folder" in report["by_name"]["database file"]["detail"]
    assert "not checked" in report["by_name"]["keyword index"]["detail"]


def test_doctor_never_creates_a_database(tmp_path):
    missing = tmp_path / "nowhere" / "memory.db"
    report = doctor(missing, "--repair")
    assert report["by_name"]["database"]["ok"] and report["repairs"] == []
    assert not missing.parent.exists()


# -- the keyword index -------------------------------------------------------------------------------------------------
KEYWORD_DAMAGE = {
    # FTS5's index, through its own commands: a row for a memory that does not exist, memory 3's terms deleted
    "sqlite": (
        "INSERT INTO memories_fts (rowid, content) VALUES (999, 'a stray row naming PostgreSQL')",
        "INSERT INTO memories_fts (memories_fts, rowid, content) "
        "SELECT 'delete', id, content FROM memories WHERE id = 3",
    ),
    # PostgreSQL's tables: memory 3's tokens gone (its postings with them, by trigger), a posting of memory 1 lost,
    # a stray posting for a memory that does not exist, and the corpus counts off
    "postgres": (
        "DELETE FROM memory_tokens WHERE memory_id = 3",
        "DELETE FROM memory_postings WHERE memory_id = 1 AND term = 'bill'",
        "INSERT INTO memory_postings (term, memory_id, tf, length) VALUES ('postgresql', 999, 1, 5)",
        "UPDATE memory_tokens_stats SET rows = rows + 1",
    ),
}


def break_keywords(db: Store) -> None:
    sql(db, *KEYWORD_DAMAGE["postgres" if isinstance(db, StoreLocation) else "sqlite"])
    assert 3 not in recall_ids(db, "Kubernetes liveness probes", "keyword")


def test_a_keyword_index_out_of_step_is_reported_and_rebuilt(store):
    break_keywords(store)
    report = doctor(store, code=1)
    assert failed(report) == ["keyword index"]
    keywords = report["by_name"]["keyword index"]
    assert "does not match" in keywords["detail"] and "slm doctor --repair" in keywords["fix"]
    if isinstance(store, StoreLocation):  # each kind of damage, counted
        assert all(kind in keywords["detail"] for kind in ("memories without their tokens: 1", "postings out of step",
                                                            "corpus counts out of step: 1"))  # fmt: skip
    assert "keyword index" in slm("doctor", "--db", db_arg(store), code=1).stdout

    repaired = doctor(store, "--repair")
    assert [(r["name"], r["ok"]) for r in repaired["repairs"]] == [("keyword index", True)]
    assert "rebuilt the keyword index" in repaired["repairs"][0]["detail"]
    assert doctor(store)["ok"]
    assert recall_ids(store, "Kubernetes liveness probes", "keyword")[0] == 3
    assert recall_ids(store, "billing service webhooks", "keyword")[:2] == [2, 1]  # memory 1's lost term is back
    assert "repair" in slm("doctor", "--db", db_arg(store), "--repair").stdout  # people get the table of what was done


def test_full_compares_every_posting_of_a_server_store(pg_database, slm_home):
    """A posting whose term changed keeps every count right: the quick check (postings counted per memory) cannot
    see it, `--full` (every posting against its memory's tokens) does, and `--full --repair` rebuilds."""
    from slm.storage.db import server_location

    location = server_location(pg_database)
    with Memory.open(location) as mem:
        mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
    sql(location, "UPDATE memory_postings SET term = 'zebra' WHERE memory_id = 4 AND term = 'vite'")
    assert recall_ids(location, "zebra", "keyword") == [4] and 4 not in recall_ids(location, "Vite", "keyword")

    assert doctor(location)["ok"]
    full = doctor(location, "--full", code=1)
    assert failed(full) == ["keyword index"]
    assert "postings out of step with the tokens: 2" in full["by_name"]["keyword index"]["detail"]  # gone + stray
    repaired = doctor(location, "--full", "--repair")
    assert [(r["name"], r["ok"]) for r in repaired["repairs"]] == [("keyword index", True)]
    assert doctor(location, "--full")["ok"]
    assert recall_ids(location, "zebra", "keyword") == [] and recall_ids(location, "Vite", "keyword") == [4]


def killed_repair_leaves_the_old_index(db: Store, step: str) -> None:
    """Kill `doctor --repair` at `step` of the keyword index's rebuild: the old (damaged) index is what is left,
    every memory with it, and the store still opens, recalls and is repaired by the next run."""
    break_keywords(db)
    before, damage = faults.memories(db), doctor(db, code=1)["by_name"]["keyword index"]["detail"]
    faults.crash_at(step, ["doctor", "--db", db_arg(db), "--repair", "--json"])
    after = doctor(db, code=1)
    assert failed(after) == ["keyword index"] and after["by_name"]["keyword index"]["detail"] == damage
    assert faults.memories(db) == before
    assert recall_ids(db, "Stripe webhook retries", "keyword")[0] == 2  # usable: the old index still answers
    assert [(r["name"], r["ok"]) for r in doctor(db, "--repair")["repairs"]] == [("keyword index", True)]
    assert doctor(db)["ok"] and recall_ids(db, "Kubernetes liveness probes", "keyword")[0] == 3
    faults.check_store(db, before)


def test_a_keyword_repair_killed_before_its_commit_leaves_the_old_index(store):
    killed_repair_leaves_the_old_index(store, "keywords.rebuilt")


@pytest.mark.parametrize("step", ["keywords.cleared", "keywords.batch:1"])
def test_a_server_keyword_repair_killed_half_way_leaves_the_old_index(step, pg_database, slm_home):
    """PostgreSQL's rebuild has more steps than FTS5's one statement: the index emptied, a batch tokenized again."""
    from slm.storage.db import server_location

    location = server_location(pg_database)
    with Memory.open(location) as mem:
        mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
    killed_repair_leaves_the_old_index(location, step)


# -- vectors -----------------------------------------------------------------------------------------------------------
def test_a_lost_vector_is_reported_and_embedded_again(store):
    key = "chunk_id" if isinstance(store, StoreLocation) else "rowid"  # pgvector's table's column; sqlite-vec's rowid
    sql(store, f"DELETE FROM chunk_vectors WHERE {key} IN (SELECT id FROM chunks WHERE memory_id = 4)")
    assert 4 not in recall_ids(store, "which tool builds the frontend?", "vector")

    report = doctor(store, code=1)
    assert failed(report) == ["vectors"]
    vectors = report["by_name"]["vectors"]
    assert "1 chunk of 1 memory has no vector" in vectors["detail"] and "slm doctor --repair" in vectors["fix"]

    repaired = doctor(store, "--repair")
    assert [(r["name"], r["ok"]) for r in repaired["repairs"]] == [("vectors", True)]
    assert "re-embedded 1 memory" in repaired["repairs"][0]["detail"]
    assert repaired["by_name"]["vectors"]["ok"] and doctor(store)["ok"]
    assert recall_ids(store, "which tool builds the frontend?", "vector")[0] == 4


@pytest.mark.sqlite_only  # sqlite-vec's delete trigger dropped; on PostgreSQL a foreign key keeps vectors to chunks
def test_vectors_without_a_chunk_and_a_store_without_its_vector_table(store):
    sql(store, "DROP TRIGGER chunks_vector_delete", "DELETE FROM chunks WHERE memory_id = 2")
    report = doctor(store, code=1)
    detail = report["by_name"]["vectors"]["detail"]
    assert "1 vector belongs to no chunk" in detail and "1 memory has no chunk" in detail
    repaired = doctor(store, "--repair")
    assert [r["detail"].split(" ", 1)[0] for r in repaired["repairs"]] == ["deleted", "re-embedded"]
    assert doctor(store)["ok"]

    sql(store, "DROP TABLE chunk_vectors")
    assert "no vector table" in doctor(store, code=1)["by_name"]["vectors"]["detail"]
    repaired = doctor(store, "--repair")
    assert f"re-embedded {len(NOTES)} memories" in repaired["repairs"][0]["detail"]
    assert doctor(store)["ok"]
    assert recall_ids(store, "Stripe webhook retries", "vector")[0] == 2
    with Memory.open(store, create=False) as mem:  # the trigger is back: forgetting removes the vectors again
        mem.forget(2)
    assert doctor(store)["ok"]


def test_a_healthy_store_needs_no_repair(store):
    repaired = doctor(store, "--repair")
    assert repaired["repairs"] == [] and failed(repaired) == []
    assert "nothing to repair" in slm("doctor", "--db", db_arg(store), "--repair").stdout
    if isinstance(store, Path):
        assert os.stat(store).st_size > 0


def test_an_interrupted_erasure_is_reported_and_repair_finishes_it(store):
    faults.crash_at("erase.deleted", ["erase", "2", "--yes", "--db", db_arg(store)])
    report = doctor(store, code=1)
    assert failed(report) == ["erasures"]
    assert "1 erasure was interrupted" in report["by_name"]["erasures"]["detail"]
    repaired = doctor(store, "--repair")
    assert [(r["name"], r["ok"]) for r in repaired["repairs"]] == [("erasures", True)]
    receipt = repaired["repairs"][0]["detail"].split("receipt ", 1)[1]
    assert json.loads(slm("erase", "--verify", receipt, "--db", db_arg(store), "--json").stdout)["ok"]
    assert doctor(store)["ok"]


# -- a store on a PostgreSQL server: no file to check, the server asked instead ---------------------------------------
SERVER_CHECKS = [
    "database server", "database schema", "references", "keyword index", "vectors", "erasures", "behaviour database",
]  # fmt: skip


def server_checks(location) -> dict:
    from slm.core import server_checkup

    checks = server_checkup.server_checks(location)
    assert [c.name for c in checks] == SERVER_CHECKS
    return {c.name: c for c in checks}


def test_a_healthy_server_store_passes_every_server_check(pg_database, slm_home):
    from slm.storage.db import server_location

    location = server_location(pg_database)
    with Memory.open(location) as mem:
        mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
    checks = server_checks(location)
    assert all(c.ok for c in checks.values()), checks
    assert "pgvector 0.6" in checks["database server"].detail and "(current)" in checks["database schema"].detail
    assert checks["vectors"].detail == "all 6 chunks of the 6 memories have their vector"


def test_a_server_store_out_of_step_is_reported(pg_database, slm_home):
    """A lost vector, a row naming a memory that is gone (what a foreign key forbids: written with the keys
    switched off, as a restore with `session_replication_role = replica` can), an interrupted erasure."""
    from slm.storage.db import server_location
    from slm.storage.erasure import JournalEntry, journal_open

    location = server_location(pg_database)
    with Memory.open(location) as mem:
        mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
        with mem.conn.write_transaction():
            mem.conn.execute("DELETE FROM chunk_vectors WHERE chunk_id = (SELECT min(id) FROM chunks)")
            mem.conn.execute("SET LOCAL session_replication_role = replica")
            mem.conn.execute("INSERT INTO memory_tags (memory_id, tag) VALUES (999, 'stray')")
            journal_open(mem.conn, JournalEntry("interrupted", {"erased_at": "2026-01-01T00:00:00Z"}, [], []))
    checks = server_checks(location)
    failing = {name for name, c in checks.items() if not c.ok}
    assert failing == {"references", "vectors", "erasures"}
    assert "memory_tags.memory_id: 1" in checks["references"].detail
    assert "1 chunk of 1 memory has no vector" in checks["vectors"].detail
    assert "1 erasure was interrupted" in checks["erasures"].detail


def test_an_unreachable_server_fails_first_and_nothing_else_is_checked(slm_home):
    from slm.storage.db import server_location

    checks = server_checks(server_location("postgresql://nobody@127.0.0.1:1/nowhere"))
    assert not checks["database server"].ok and "cannot connect" in checks["database server"].detail
    assert all(not c.ok and c.detail.startswith("not checked") for n, c in checks.items() if n != "database server")


def test_doctor_checks_and_repairs_a_server_store_from_the_command_line(pg_database, slm_home):
    from slm.storage.db import server_location

    with Memory.open(server_location(pg_database)) as mem:
        mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
        mem.conn.execute("DELETE FROM chunk_vectors WHERE chunk_id = (SELECT min(id) FROM chunks)")
    found = CliRunner().invoke(app, ["doctor", "--db", pg_database, "--json"])
    assert found.exit_code == 1, found.output
    assert {c["name"] for c in json.loads(found.output)["checks"] if not c["ok"]} == {"vectors"}
    fixed = CliRunner().invoke(app, ["doctor", "--db", pg_database, "--repair", "--json"])
    report = json.loads(fixed.output)
    assert [(r["name"], r["ok"]) for r in report["repairs"]] == [("vectors", True)]
    assert {c["name"] for c in report["checks"] if not c["ok"]} <= {"client hooks"}, report["checks"]
