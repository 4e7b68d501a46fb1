"""The `slm` command line end to end, on the real model and real databases: no mocks.

Most tests drive `slm.cli.main.app` in-process with click's CliRunner (stdout and stderr apart); the few behaviours
that only a real process shows (standard input bytes, lazy imports, terminal width, a terminal on stderr) run
the installed console script. Every test of a store runs on a SQLite file and on a PostgreSQL database (`--db`
takes the file's path or the URL, issue 24); those of the file itself (not a database, damaged, its permissions, a
path that cannot be made) are SQLite's.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import apsw
import click
import pytest
from click.testing import CliRunner, Result

from slm import Memory, validation
from slm.cli.main import COMMANDS, app
from slm.storage.db import locate

pytestmark = pytest.mark.both_backends

_SCRIPT = Path(sys.executable).with_name("slm")  # the console script the package installs
_ENTRY = [str(_SCRIPT)] if _SCRIPT.exists() else ["-c", "from slm.cli.main import main; main()"]
SLM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, *_ENTRY]

NOTES = [
    (
        "We chose PostgreSQL 16 for the billing service because of logical replication.",
        "billing",
        ["db"],
        "2023-03-01",
        "cursor",
    ),
    (
        "The billing service retries Stripe webhooks three times with exponential backoff.",
        "billing",
        ["payments"],
        "2023-04-10",
        "claude-code",
    ),
    (
        "Run the integration tests with `make itest`; they need Docker running.",
        "infra",
        ["testing"],
        "2023-05-02",
        "cursor",
    ),
    ("Kubernetes liveness probes hit /healthz every 10 seconds.", "infra", ["k8s"], "2023-10-12", "claude-code"),
    (
        "The frontend build uses Vite 5 and deploys to Cloudflare Pages.",
        "web",
        ["frontend", "db"],
        "2023-07-20",
        "cursor",
    ),
    # rich markup, an emoji code and a terminal escape: shown literally, never interpreted
    ("Literal [bold]brackets[/bold] and :thumbs_up: and \x1b[31mescape", "misc", [], "2023-01-01", "cursor"),
]
DB_QUESTION = "which database did we pick for invoices?"

runner = CliRunner()


def fill(where: object) -> None:
    """NOTES into a new store, ids 1..len(NOTES) in order."""
    with Memory.open(where) as mem:
        mem.remember_many([{"text": t, "project": p, "tags": g, "time": d, "agent": a} for t, p, g, d, a in NOTES])


@pytest.fixture(scope="module")
def filled_stores(slm_home, tmp_path_factory) -> Iterator[Callable]:
    """A store holding NOTES per backend, built once, when a test of that backend first asks (so a run of the
    SQLite tests alone needs no server); the PostgreSQL one is dropped with the module."""
    made: dict[str, str] = {}
    drops: list[Callable] = []

    def store_of(backend: str, pg_server) -> str:
        if backend not in made:
            if backend == "sqlite":
                made[backend] = str(tmp_path_factory.mktemp("filled") / "memory.db")
            else:
                name = pg_server.new_database()
                made[backend] = pg_server.url(name)
                drops.append(lambda: pg_server.drop_database(name))
            fill(made[backend])
        return made[backend]

    yield store_of
    for drop in drops:
        drop()


@pytest.fixture
def filled_path(backend, filled_stores, request) -> str:
    """The store holding NOTES that the tests which only read share, as `--db` names it."""
    return filled_stores(backend, request.getfixturevalue("pg_server") if backend == "postgres" else None)


@pytest.fixture
def filled(backend, filled_path, store_at, db_arg, tmp_path) -> str:
    """A store of the test's own holding NOTES, to write to: a copy of the shared file, or a database filled anew."""
    if backend == "postgres":
        fill(store_at)
        return db_arg
    path = tmp_path / "copy" / "memory.db"
    path.parent.mkdir(mode=0o700)
    shutil.copy2(filled_path, path)
    return str(path)


def run(*args: object, code: int = 0, env: dict | None = None, input: bytes | str | None = None) -> Result:
    """Invoke the CLI in-process; check the exit code and that no Python traceback escaped."""
    result = runner.invoke(app, [str(a) for a in args], env=env, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def on_a_terminal(command: list[str], timeout: float = 120) -> tuple[subprocess.CompletedProcess, bytes]:
    """Run `command` with a terminal on stderr (stdin closed, stdout piped): what it returned, and what it drew."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, timeout=timeout
        )
    finally:
        os.close(terminal)
    drawn = b""
    try:
        while chunk := os.read(controller, 65536):
            drawn += chunk
    except OSError:  # Linux reports the closed terminal as EIO
        pass
    finally:
        os.close(controller)
    return proc, drawn


def run_json(*args: object, code: int = 0, **kwargs) -> object:
    return json.loads(run(*args, "--json", code=code, **kwargs).stdout)


def create_empty(db: Path) -> None:
    """Only `remember` creates a database from the CLI; tests that need an empty one make it here."""
    Memory.open(db).close()


def count(db: Path) -> int:
    return run_json("stats", "--db", db)["memories"]


def check_refused(args: list, db: Path, code: int, message: str) -> None:
    """A refused command: a message and hint on stderr, or a JSON error on stdout; the database is unchanged."""
    before = count(db)
    human = run(*args, "--db", db, code=code)
    assert human.stdout == ""
    assert "error:" in human.stderr and message in human.stderr and "hint:" in human.stderr
    error = run_json(*args, "--db", db, code=code)
    assert set(error) == {"error", "hint"} and message in error["error"] and error["hint"]
    assert count(db) == before


def cli(*args: object, input: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real console script (SLM_HOME is inherited from the session fixture)."""
    return subprocess.run(
        [*SLM, *map(str, args)],
        input=input,
        capture_output=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=None if input is not None else subprocess.DEVNULL,
    )


# -- the happy path ---------------------------------------------------------------------------------------------


def test_round_trip_remember_recall_show_forget(db_arg):
    text = "The staging database password rotates every Monday at 09:00 UTC."
    args = [
        "--db",
        db_arg,
        "--project",
        "ops",
        "--agent",
        "claude-code",
        "--tag",
        "security",
        "--tag",
        "db",
        "--time",
        "2024-02-05T09:00:00+01:00",
        "--kind",
        "fact",
        "--meta",
        '{"pr": 42, "by": "Zoë"}',
    ]
    created = run_json("remember", text, *args)
    assert set(created) == {"id", "duplicate", "project"} and isinstance(created["id"], int)
    assert not created["duplicate"] and created["project"] == "ops"
    memory_id = created["id"]
    assert run_json("remember", f"  {text}\n", *args)["id"] == memory_id  # an exact duplicate (once stripped)
    assert count(db_arg) == 1

    hits = run_json("recall", "when is the staging password changed?", "--db", db_arg)
    assert hits[0]["id"] == memory_id and hits[0]["text"] == text
    assert set(hits[0]) == {
        "id",
        "text",
        "score",
        "time",
        "agent",
        "project",
        "kind",
        "tags",
        "meta",
        "channels",
        "trust",
        "zone",
        "current",
    }
    assert set(hits[0]["channels"]) <= {"keyword", "vector", "session", "query", "time"}  # the feature groups
    assert "vector" in hits[0]["channels"]
    assert set(hits[0]["channels"]["vector"]) == {"rank", "score", "contribution", "parts"}

    row = run_json("show", memory_id, "--db", db_arg)
    assert row["content"] == text and row["project"] == "ops" and row["agent"] == "claude-code"
    assert sorted(row["tags"]) == ["db", "security"] and row["kind"] == "fact"
    assert row["meta"] == {"pr": 42, "by": "Zoë"}
    assert row["event_time"] == "2024-02-05T08:00:00Z"  # converted to UTC
    human = run("show", memory_id, "--db", db_arg).stdout
    assert text in human and "claude-code" in human and "Zoë" in human

    assert run_json("forget", memory_id, "--db", db_arg) == {"forgotten": [memory_id]}
    assert count(db_arg) == 0
    gone = run("show", memory_id, "--db", db_arg, code=2)
    assert f"no memory with id {memory_id}" in gone.stderr and "hint:" in gone.stderr
    assert run_json("show", memory_id, "--db", db_arg, code=2)["error"] == f"no memory with id {memory_id}"


def test_human_output_of_remember_recall_and_forget(filled):
    assert (
        run(
            "remember", "Kubernetes liveness probes hit /healthz every 10 seconds.", "-p", "infra", "--db", filled
        ).stdout.strip()
        == "already stored as #4"
    )
    assert run("forget", "5", "5", "6", "--db", filled).stdout.strip() == "forgot #5, #6"  # a repeated id is fine
    assert count(filled) == len(NOTES) - 2
    assert "no memories match" in run("recall", "anything", "--project", "nowhere", "--db", filled).stdout


def test_remember_reads_standard_input(db_arg):
    text = "Piped in: the deploy key lives in 1Password, vault «Infra».\n"
    proc = cli("remember", "--project", "infra", "--json", "--db", db_arg, input=text.encode())
    assert proc.returncode == 0, proc.stderr
    memory_id = json.loads(proc.stdout)["id"]
    assert run_json("show", memory_id, "--db", db_arg)["content"] == text.strip()
    assert run_json("remember", "-", "--project", "infra", "--db", db_arg, input=text)["id"] == memory_id


def test_remember_without_text_from_a_terminal(db_path):
    """No argument and a terminal on stdin: say how to give the text instead of waiting for input."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([*SLM, "remember", "--db", str(db_path)], stdin=terminal, capture_output=True, timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 2
    assert b"no text given" in proc.stderr and b"pipe it in" in proc.stderr and b"Traceback" not in proc.stderr


def test_invalid_utf8_on_standard_input_is_refused(db_arg):
    proc = cli("remember", "--db", db_arg, input=b"caf\xe9 au lait")
    assert proc.returncode == 2
    assert b"not valid UTF-8" in proc.stderr and b"Traceback" not in proc.stderr and proc.stdout == b""
    assert count(db_arg) == 0


def test_db_option_and_slm_db_environment(filled, tmp_path):
    assert run_json("stats", env={"SLM_DB": str(filled)})["memories"] == len(NOTES)
    other = tmp_path / "other" / "memory.db"
    run("remember", "only in the other store", "--db", other)
    stats = run_json("stats", "--db", other, env={"SLM_DB": str(filled)})  # the option wins over the variable
    assert stats["memories"] == 1 and stats["path"] == str(other)
    home = tmp_path / "home"
    run("remember", "in the default store", env={"SLM_HOME": str(home)})
    assert run_json("stats", env={"SLM_HOME": str(home)})["path"] == str(home / "memory.db")


@pytest.mark.parametrize("command", [["stats"], ["list"], ["show", "1"], ["forget", "1"], ["recall", "x"], ["model"]])
@pytest.mark.sqlite_only(reason="a missing file and its folder")
def test_reading_commands_never_create_a_database(tmp_path, command):
    missing = tmp_path / "typo" / "memory.db"
    error = run_json(*command, "--db", missing, code=1)
    assert "no slm database" in error["error"] and "slm remember" in error["hint"]
    assert not missing.exists() and not missing.parent.exists()


def test_stats_json_and_table(filled):
    stats = run_json("stats", "--db", filled)
    assert stats["memories"] == stats["chunks"] == len(NOTES)
    assert stats["projects"] == {"billing": 2, "infra": 2, "web": 1, "misc": 1}
    assert stats["agents"] == {"cursor": 4, "claude-code": 2} and stats["kinds"] == {"note": len(NOTES)}
    assert stats["first"] == "2023-01-01T00:00:00Z" and stats["last"] == "2023-10-12T00:00:00Z"
    assert stats["schema_version"] >= 1 and stats["model"] == "default" and stats["dim"] == 384
    assert stats["size_bytes"] > 0 and stats["path"] == filled
    human = run("stats", "--db", filled).stdout
    assert "billing: 2" in human and "schema version" in human


# -- filters ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--project", "billing"], {1, 2}),
        (["--tag", "db"], {1, 5}),
        (["--since", "2023-04-01", "--until", "2023-07-20"], {2, 3, 5}),
        (["--now", "2023-04-30T12:00:00Z"], {1, 2, 6}),
    ],
)
def test_recall_filters(filled_path, options, expected):
    hits = run_json("recall", DB_QUESTION, "-k", 10, *options, "--db", filled_path)
    assert {h["id"] for h in hits} == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], [4, 5, 3, 2, 1, 6]),  # newest first by event time
        (["--project", "infra"], [4, 3]),
        (["--tag", "db", "--tag", "frontend"], [5]),
        (["--agent", "claude-code"], [4, 2]),
        (["--since", "2023-05-02", "--until", "2023-07-20T00:00:00Z"], [5, 3]),
        (["--limit", 2, "--offset", 1], [5, 3]),
        (["--project", "nowhere"], []),
    ],
)
def test_list_filters(filled_path, options, expected):
    rows = run_json("list", *options, "--db", filled_path)
    assert [r["id"] for r in rows] == expected
    for row in rows:
        assert {"id", "content", "created_at", "event_time", "agent", "project", "kind", "meta", "tags"} <= set(row)


def test_list_and_show_print_user_text_literally(filled_path):
    listing = run("list", "--db", filled_path).stdout
    assert "[bold]brackets[/bold]" in listing and ":thumbs_up:" in listing and "\x1b" not in listing
    assert "no memories" in run("list", "--project", "nowhere", "--db", filled_path).stdout
    shown = run("show", 6, "--db", filled_path).stdout
    assert "Literal [bold]brackets[/bold] and :thumbs_up: and" in shown and "\x1b" not in shown


# -- bad input: exit 2, a message and a hint, nothing written ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["remember", ""], "text is empty"),
        (["remember", "  \n\t  "], "text is empty"),
        (["remember", "x" * (validation.MAX_TEXT_BYTES + 1)], "over the limit"),
        (["remember", "caf\udce9"], "not valid UTF-8"),  # what Python makes of an invalid UTF-8 argument
        (["remember", "fine", "--time", "yesterday-ish"], "not a valid time"),
        (["remember", "fine", "--time", "[/]"], "not a valid time"),  # not read as rich markup either
        (["remember", "fine", "--meta", "{pr: 42}"], "--meta is not valid JSON"),
        (["remember", "fine", "--meta", "[1, 2]"], "meta must be a JSON object"),
        (["remember", "fine", "--kind", "Not A Kind!"], "kind must be"),
        (["remember", "fine", "--project", " "], "project must be"),
        (["remember", "fine", "--tag", ""], "each tag"),
        (["recall", "anything", "-k", "0"], "k must be a whole number from 1 to 1000"),
        (["recall", "anything", "-k", "100000"], "k must be a whole number from 1 to 1000"),
        (["recall", "  "], "query is empty"),
        (["recall", "anything", "--since", "last week"], "not a valid time"),
        (["list", "--limit", "0"], "limit must be"),
        (["show", "999"], "no memory with id 999"),
        (["forget", "999"], "no memory with id 999"),
    ],
)
def test_bad_input_is_refused(filled, args, message):
    check_refused(args, filled, 2, message)


def test_remember_without_text_on_empty_stdin(db_arg):
    assert "text is empty" in run("remember", "--db", db_arg, code=2, input=b"").stderr
    assert count(db_arg) == 0


def test_forget_several_with_one_unknown_deletes_nothing(filled):
    check_refused(["forget", "1", "999", "2"], filled, 2, "no memory with id 999")
    assert [run_json("show", i, "--db", filled)["id"] for i in (1, 2)] == [1, 2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "abc"], "valid integer"),
        (["show", "0"], "not in the range 1<=x<="),
        (["forget", "1", "99999999999999999999999"], "not in the range 1<=x<="),
        (["recall", "anything", "-k", "many"], "valid integer"),
        (["remember", "fine", "--colour", "blue"], "No such option"),
        (["model", "reindex", "--model", "/nonexistent/model.gguf"], "does not exist"),
    ],
)
def test_usage_errors_are_json_too(filled, args, message):
    """click's own parsing errors: its usage message without --json, a JSON error object with it."""
    human = run(*args, "--db", filled, code=2)
    assert message in human.stderr and human.stdout == ""
    error = run_json(*args, "--db", filled, code=2)
    assert message in error["error"] and error["hint"]
    assert count(filled) == len(NOTES)


@pytest.mark.parametrize("command", [["stats"], ["list"], ["show", "1"], ["remember", "x"], ["recall", "x"]])
def test_a_database_missing_on_the_server_is_an_error_and_stays_missing(pg_server, slm_home, command):
    """slm never creates a database on a server (that is its administrator's): every command, writing ones too, says
    which one is missing, and leaves no local folder for it."""
    missing = pg_server.url("no_such_store")
    error = run_json(*command, "--db", missing, code=1)
    assert 'database "no_such_store" does not exist' in error["error"] and "URL" in error["hint"]
    assert "no_such_store" in run(*command, "--db", missing, code=1).stderr
    import psycopg

    with psycopg.connect(pg_server.admin) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'no_such_store'").fetchone()[0] == 0
    assert not locate(missing).folder.exists()


@pytest.mark.sqlite_only(reason="a file that is not a SQLite database")
def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("These are my notes, not a database. " * 20)
    path.chmod(0o640)
    before = (path.read_bytes(), path.stat().st_mtime_ns, stat.S_IMODE(path.stat().st_mode))
    for args in (["remember", "hello"], ["stats"], ["recall", "hello"], ["forget", "1"]):
        result = run(*args, "--db", path, code=1)
        assert "not a database" in result.stderr and "hint:" in result.stderr
        assert "not a database" in run_json(*args, "--db", path, code=1)["error"]
    assert (path.read_bytes(), path.stat().st_mtime_ns, stat.S_IMODE(path.stat().st_mode)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def newer_schema(store_at, version: int) -> Callable[[], tuple[int, int]]:
    """Make the store's schema `version`, with no table yet; a check that gives back (its version, its tables)."""
    if getattr(store_at, "url", None) is None:
        store_at.parent.mkdir()
        conn = apsw.Connection(str(store_at))
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()

        def sqlite_state() -> tuple[int, int]:
            conn = apsw.Connection(str(store_at))
            try:
                found = conn.execute("PRAGMA user_version").fetchone()[0]
                return found, conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            finally:
                conn.close()

        return sqlite_state
    import psycopg

    from slm.storage.postgres import STATE_TABLE

    with psycopg.connect(store_at.url, autocommit=True) as conn:
        conn.execute(STATE_TABLE)
        conn.execute("INSERT INTO slm_state (schema_version) VALUES (%s)", [version])

    def server_state() -> tuple[int, int]:  # slm_state is not one of the store's tables
        with psycopg.connect(store_at.url, autocommit=True) as conn:
            found = conn.execute("SELECT schema_version FROM slm_state").fetchone()[0]
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'behavior') AND tablename <> 'slm_state'"
            ).fetchone()[0]
            return found, tables

    return server_state


def test_a_newer_schema_is_refused(store_at, db_arg):
    state = newer_schema(store_at, 99)
    for args in (["remember", "hello"], ["stats"], ["list"]):
        result = run(*args, "--db", db_arg, code=1)
        assert "schema version 99" in result.stderr and "upgrade slm" in result.stderr
    assert "newer than this slm" in run_json("stats", "--db", db_arg, code=1)["error"]
    assert state() == (99, 0)


@pytest.mark.sqlite_only(reason="a SQLite file's page overwritten")
def test_a_damaged_database_gives_a_message_not_a_traceback(filled):
    conn = apsw.Connection(filled)
    root, page_size = conn.execute(
        "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_schema WHERE name = 'memories'"
    ).fetchone()
    conn.close()
    with Path(filled).open("r+b") as f:  # the memories table's first page becomes garbage; the schema stays readable
        f.seek((root - 1) * page_size)
        f.write(b"\x0d" + b"\xff" * (page_size - 1))
    result = run("list", "--db", filled, code=1)
    assert "malformed" in result.stderr and "slm doctor" in result.stderr
    assert "malformed" in run_json("stats", "--db", filled, code=1)["error"]


@pytest.mark.sqlite_only(reason="a file's folder that cannot be made")
def test_a_database_path_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    error = run_json("remember", "hello", "--db", blocker / "memory.db", code=1)
    assert str(blocker) in error["error"] and error["hint"]


# -- model, reindex, doctor -------------------------------------------------------------------------------------


def test_model_info(filled_path, store_at, db_arg, slm_home):
    info = run_json("model", "--db", filled_path)
    assert info == {
        "database": filled_path,
        "model": "default",
        "dim": 384,
        "memories": len(NOTES),
        "models_dir": str(Path(slm_home) / "models"),
    }
    create_empty(store_at)
    fresh = run_json("model", "--db", db_arg)
    assert fresh["model"] is None and fresh["dim"] is None and fresh["memories"] == 0
    assert "none yet" in run("model", "--db", db_arg).stdout


def test_model_provision(slm_home):
    provisioned = run_json("model", "provision")
    path = Path(provisioned["path"])
    assert path.parent == Path(slm_home) / "models" and path.suffix == ".gguf"
    assert provisioned["bytes"] == path.stat().st_size > 1_000_000


def test_model_reindex_keeps_recall_working(filled):
    """Run for real with a terminal on stderr: the progress bar is drawn there, stdout stays pure JSON."""
    proc, drawn = on_a_terminal([*SLM, "model", "reindex", "--json", "--db", str(filled)])
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"reindexed": len(NOTES), "model": "default", "dim": 384}
    assert b"re-embedding" in drawn

    stats = run_json("stats", "--db", filled)
    assert stats["memories"] == stats["chunks"] == len(NOTES)
    hits = run_json("recall", DB_QUESTION, "-k", 2, "--db", filled)
    assert len(hits) == 2 and hits[0]["id"] == 1


def test_doctor_on_a_fresh_database(store_at, db_arg, backend):
    create_empty(store_at)
    result = run("doctor", "--json", "--db", db_arg)
    report = json.loads(result.stdout)
    assert report["ok"] is True and result.stderr == ""
    names = {c["name"] for c in report["checks"]}
    environment = {"SQLite driver", "vector extension", "FTS5", "llama.cpp", "embedding model", "recall ranker"}
    common = {"client hooks", "database schema", "keyword index", "vectors", "erasures", "behaviour database"}
    own = (
        {"database file", "file permissions"}
        if backend == "sqlite"
        else {"database server", "references"}  # PostgreSQL keeps its own pages and files
    )
    assert names == environment | common | own
    assert all(c["ok"] and c["detail"] for c in report["checks"])


@pytest.mark.sqlite_only(reason="the database file's permissions")
def test_doctor_reports_a_loose_file_permission(db_path):
    create_empty(db_path)
    db_path.chmod(0o644)
    report = run_json("doctor", "--db", db_path, code=1)
    assert report["ok"] is False
    failed = [c for c in report["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["file permissions"]
    assert "0644" in failed[0]["detail"] and f"chmod 600 {db_path}" in failed[0]["fix"]


@pytest.mark.sqlite_only(reason="a file that is not a SQLite database")
def test_doctor_on_a_broken_database(tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not sqlite at all" * 100)
    broken.chmod(0o600)
    result = run("doctor", "--db", broken, code=1)
    lines = result.stdout.splitlines()
    schema = " ".join(lines[i] for i, line in enumerate(lines) if "database schema" in line or "fix:" in line)
    assert "FAIL" in schema and "not a database" in result.stdout and "fix:" in schema
    assert "SQLite driver" in result.stdout and result.stderr == ""


# -- the real process: start-up cost, terminal width, stderr ----------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["recall", "--help"], ["model", "--help"], ["mcp", "--help"]])
def test_help_does_not_import_heavy_modules(args):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *_ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0 and "Usage" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import")}
    assert "slm.cli.main" in imported
    assert not {"numpy", "llama_cpp", "apsw", "sqlite_vec", "gguf", "fastmcp", "mcp", "pydantic"} & imported


@pytest.mark.parametrize("verb", ["remember", "recall"])
def test_a_one_shot_json_command_does_not_import_rich(verb, store_at, db_arg):
    """rich loads on the first thing drawn for people; a script's `--json` call never draws (~25 ms saved); the
    command line is click alone, without pydantic (typer built a pydantic validator for each option)."""
    with Memory.open(store_at) as mem:
        mem.remember("The billing service retries webhooks three times.")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *_ENTRY, verb, "billing webhooks", "--db", db_arg, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import")}
    assert "slm.cli.output" in imported and not {"rich", "slm.cli.views", "pydantic", "typer"} & imported


@pytest.mark.parametrize(("args", "lazy"), [(["--help"], True), (["mcp", "--help"], False)])
def test_a_command_collects_garbage_lazily_but_the_server_keeps_pythons_pace(args, lazy):
    """A one-shot allocates mostly what lives to its end: its collector runs every 100,000 allocations and what is
    left is frozen at exit (~0.1 s of a cold recall); `slm mcp` serves for hours and keeps Python's thresholds."""
    code = (
        "import gc, json, sys\nfrom slm.cli.main import main\ndefault = gc.get_threshold()\n"
        f"sys.argv = ['slm', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps([gc.get_threshold(), default, gc.get_freeze_count() > 0]), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    used, default, frozen = json.loads(done.stderr.strip().splitlines()[-1])
    assert frozen and used == ([100_000, 10, 10] if lazy else default)


def test_slm_imports_only_the_module_of_the_command_it_runs():
    """`slm stats` loads `store_commands` and no other command module; `slm --help` lists every command, each
    built from its module under the name it is listed by, in the order of COMMANDS."""
    code = (
        "import sys\nfrom slm.cli.main import main\nsys.argv = ['slm', 'stats', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('slm.cli.') and m.endswith('_commands')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "--db" in done.stdout and done.stderr.strip() == "['slm.cli.store_commands']"
    with click.Context(app) as ctx:
        assert [app.get_command(ctx, name).name for name in app.list_commands(ctx)] == list(COMMANDS)
    listed = run("--help").stdout.split("Commands:")[1]
    assert [line.split()[0] for line in listed.splitlines() if line[2:3].strip()] == list(COMMANDS)


def test_slm_alone_shows_its_help_and_a_mistyped_command_a_suggestion():
    alone = run(code=2)
    assert "Usage: slm [OPTIONS] COMMAND" in alone.stdout and "recall" in alone.stdout
    assert "No such command 'recal'. Did you mean 'recall'?" in run("recal", code=2).stderr
    assert "Did you mean 'recall'?" in run_json("recal", code=2)["error"]


def test_help_shows_the_defaults():
    """The help says what a default is where the option has none of its own (who wrote it, the database file)."""
    text = run("remember", "--help").stdout
    assert "(default: user)" in text and "$SLM_HOME/memory.db" in text and "SLM_DB" in text
    assert "--explain" in run("recall", "--help").stdout
    assert "all-MiniLM-L6-v2" in "".join(run("model", "reindex", "--help").stdout.split())  # wrapped at a hyphen


def test_recall_at_80_columns_numbers_the_hits_and_gives_the_text_the_room(filled_path):
    """A person reads the rank, not a fused score such as 0.0164 (`--explain` and `--json` keep it), and the
    memory's text gets the columns left over, not a sliver of them."""
    proc = cli("recall", DB_QUESTION, "-k", "3", "--db", filled_path, env={"COLUMNS": "80"})
    lines = proc.stdout.decode().splitlines()
    assert lines[0].split()[:2] == ["#", "id"] and "score" not in lines[0]
    rows = [line for line in lines[2:] if line[:4].strip()]
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    assert not re.search(r"\b0\.\d{4}\b", proc.stdout.decode())
    assert lines[0].index("memory") <= 45  # at least 35 of the 80 columns for the text


@pytest.mark.parametrize("columns", [80, 120])
def test_tables_fit_the_terminal(filled_path, columns):
    env = {"COLUMNS": str(columns)}
    commands = [["list"], ["stats"], ["show", "1"], ["model"]] if columns == 80 else [["list"], ["stats"]]
    if columns == 80:  # the widest table, and the narrowest width: one run is enough for the slow command
        commands.append(["recall", DB_QUESTION, "--explain"])
    for args in commands:
        proc = cli(*args, "--db", filled_path, env=env)
        assert proc.returncode == 0 and proc.stderr == b""
        lines = proc.stdout.decode().splitlines()
        assert lines and max(len(line) for line in lines) <= columns, "\n".join(lines)
        if args[0] == "recall":
            header = lines[0] + lines[1]
            assert all(word in header for word in ("score", "keyword", "vector", "memory"))
            assert "#1 " in proc.stdout.decode() and "PostgreSQL" in proc.stdout.decode()
