"""`slm export` never destroys or exposes what it copies: the store's own files are refused as targets (by path,
relative path, symlink or hard link), a file is written whole or not at all, and exports are private whatever the
umask. Real stores and the real `slm` (in-process, and as a process where the umask or stdout matter): no mocks.

On both backends: a PostgreSQL store's own files are the ones slm keeps on local disk for it (the erasure key, in a
folder of its own under $SLM_HOME/postgres), and they are refused as SQLite's are; the database, its journals and
behavior.db are a SQLite store's alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from slm import Memory
from slm.storage.behavior import behavior_path
from slm.storage.db import StoreLocation, locate
from slm.trust.receipts import KEY_FILE, load_or_create_key
from tests.test_cli import run

pytestmark = pytest.mark.both_backends  # the store exported: a SQLite file, or a PostgreSQL database

_SCRIPT = Path(sys.executable).with_name("slm")
SLM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from slm.cli.main import main; main()"]
NOTES = [
    ("We chose PostgreSQL 16 for the billing service because of logical replication.", "billing"),
    ("Kubernetes liveness probes hit /healthz every 10 seconds.", "infra"),
    ("The frontend build uses Vite 5 and deploys to Cloudflare Pages.", "web"),
]


@dataclass(frozen=True)
class Store:
    """A store to export, as a command line names it (`arg`) and as slm places it (`location`)."""

    arg: str
    location: StoreLocation

    @property
    def folder(self) -> Path:
        """The folder of the store's local files: the SQLite file's, or a server's under $SLM_HOME/postgres."""
        return self.location.folder

    @property
    def own_file(self) -> Path:
        """A file of the store's own that an export must never replace: the database on SQLite; a server's store
        has no file of its database, and its erasure key is the file it would lose."""
        return self.folder / KEY_FILE if self.location.on_server else self.location.database


@pytest.fixture
def store(store_at, db_arg) -> Store:
    """A closed store with its companions: the behaviour database (a feedback) and the erasure key."""
    with Memory.open(store_at) as mem:
        ids = mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
        mem.feedback(ids[0], helpful=True, query="which database?")
    location = locate(db_arg)
    load_or_create_key(location.folder)
    return Store(db_arg, location)


def files_of(store: Store) -> dict[Path, str]:
    """Every file in the store's folder, with the SHA-256 of its bytes."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(store.folder.rglob("*")) if p.is_file()}


def memories_in(store: Store) -> int:
    with Memory.open(store.location, create=False) as mem:
        return mem.count()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_refused(result, message: str) -> None:
    assert "error:" in result.stderr and message in " ".join(result.stderr.split()) and "hint:" in result.stderr


# -- the store's own files -------------------------------------------------------------------------------------------
SQLITE_TARGETS = {
    "the store": lambda db: db,
    "its WAL": lambda db: Path(f"{db}-wal"),
    "its shared memory": lambda db: Path(f"{db}-shm"),
    "its rollback journal": lambda db: Path(f"{db}-journal"),
    "the behaviour database": lambda db: behavior_path(db),
    "the behaviour WAL": lambda db: Path(f"{behavior_path(db)}-wal"),
}


def check_export_over_refused(store: Store, path: Path, fmt: str) -> None:
    """An export over `path` is refused while an agent works on the store, and no file of the store changes."""
    with Memory.open(store.location) as agent:  # on SQLite an agent at work keeps the WAL and shared-memory files
        agent.remember("Written while the export runs, so the WAL holds a commit.")
        path.touch(mode=0o600)  # the journal, should a crash have left one
        before = files_of(store)
        refused = run("export", "--db", store.arg, "-f", fmt, "-o", path, code=2)
        check_refused(refused, "of the files of the store being exported")
        after = files_of(store)
    if not store.location.on_server:
        shm = Path(f"{store.location.database}-shm")
        assert after.pop(shm) and before.pop(shm)  # readers change the shared memory's bytes; it must still be there
    assert after == before and memories_in(store) == len(NOTES) + 1


@pytest.mark.sqlite_only(reason="the database's files and behavior.db: a PostgreSQL store has none on local disk")
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
@pytest.mark.parametrize("target", list(SQLITE_TARGETS))
def test_an_export_over_a_file_of_the_store_is_refused(store, target, fmt):
    check_export_over_refused(store, SQLITE_TARGETS[target](store.location.database), fmt)


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_an_export_over_the_erasure_key_is_refused(store, fmt):
    """The key that signs erasure receipts, beside the SQLite file or in a server store's local folder."""
    check_export_over_refused(store, store.folder / KEY_FILE, fmt)


@pytest.mark.parametrize("how", ["relative path", "symlink", "hard link", "symlinked folder"])
def test_an_export_over_the_store_under_another_name_is_refused(store, tmp_path, monkeypatch, how):
    own = store.own_file
    if how == "relative path":
        monkeypatch.chdir(own.parent)
        target = Path(own.name)
    elif how == "symlink":
        target = tmp_path / "looks-harmless.jsonl"
        target.symlink_to(own)
    elif how == "hard link":
        target = tmp_path / "looks-harmless.jsonl"
        os.link(own, target)
    else:
        (tmp_path / "elsewhere").symlink_to(own.parent)
        target = tmp_path / "elsewhere" / ".." / own.parent.name / own.name  # `..` of the folder linked to
    before = files_of(store)
    refused = run("export", "--db", store.arg, "-o", target, code=2)
    check_refused(refused, "would destroy it")
    assert files_of(store) == before and memories_in(store) == len(NOTES)


def test_an_export_over_another_database_is_refused(store, tmp_path):
    """Another SQLite store, or a backup of one, whichever backend the export reads."""
    other = tmp_path / "other" / "memory.db"
    with Memory.open(other) as mem:
        mem.remember("A store of its own that no export may overwrite.")
    backup = json.loads(run("backup", "--db", other, tmp_path / "copy.db", "--json").stdout)["path"]
    for target in (Path(backup), other):
        before = target.read_bytes()
        check_refused(run("export", "--db", store.arg, "-o", target, code=2), "is an SQLite database")
        assert target.read_bytes() == before


def test_standard_output_into_the_store_is_refused(store):
    own = store.own_file
    size = own.stat().st_size
    with own.open("ab") as appended:  # `slm export >> memory.db`
        proc = subprocess.run([*SLM, "export", "--db", store.arg], stdout=appended, stderr=subprocess.PIPE)
    assert proc.returncode == 2 and b"standard output goes to one of the files of the store" in proc.stderr
    assert own.stat().st_size == size and memories_in(store) == len(NOTES)


def test_markdown_is_never_written_among_the_store_files(store, tmp_path):
    before = files_of(store)
    (tmp_path / "data").symlink_to(store.folder)
    for folder in (store.folder, tmp_path / "data"):
        check_refused(run("export", "--db", store.arg, "-f", "markdown", "-o", folder, code=2), "folder of the store")
    assert files_of(store) == before

    folder = tmp_path / "notes"
    folder.mkdir()
    os.link(store.own_file, folder / "billing.md")  # the file this export would write is the store's own
    check_refused(run("export", "--db", store.arg, "-f", "markdown", "-o", folder, code=2), "would destroy it")
    assert files_of(store) == before and memories_in(store) == len(NOTES)
    assert sorted(p.name for p in folder.iterdir()) == ["billing.md"]  # nothing written: every file is checked first


# -- whole or not at all -------------------------------------------------------------------------------------------
def damage_behaviour(store: Store) -> None:
    """Make reading the behaviour fail: behavior.db overwritten; a server's `behavior.feedback` table dropped."""
    if not store.location.on_server:
        store.location.behavior_db.write_bytes(b"this is not a database any more" * 200)
        return
    with Memory.open(store.location) as mem:
        mem.conn.execute("DROP TABLE behavior.feedback")


def test_a_failed_export_leaves_the_existing_file_as_it_was(store, tmp_path):
    """The behaviour database is damaged, so the export fails after its memories were written: the previous export
    must survive intact, and no partial file be left behind."""
    target = tmp_path / "exports" / "all.jsonl"
    target.parent.mkdir()
    run("export", "--db", store.arg, "-o", target)
    previous = target.read_bytes()
    damage_behaviour(store)
    run("export", "--db", store.arg, "-o", target, "--include-behavior", code=1)
    assert target.read_bytes() == previous
    assert sorted(p.name for p in target.parent.iterdir()) == ["all.jsonl"]


def test_an_export_to_a_missing_folder_says_so(store, tmp_path):
    check_refused(run("export", "--db", store.arg, "-o", tmp_path / "nowhere" / "x.jsonl", code=2), "does not exist")


# -- private whatever the umask ------------------------------------------------------------------------------------
def slm_with_umask(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", *SLM, *map(str, args)],
        capture_output=True, text=True, timeout=120, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_exports_are_private_whatever_the_umask(store, tmp_path):
    fresh = tmp_path / "fresh.jsonl"
    slm_with_umask("export", "--db", store.arg, "-o", fresh)
    assert mode(fresh) == 0o600
    assert [json.loads(line)["type"] for line in fresh.read_text().splitlines()] == ["header", *["memory"] * 3, "end"]

    existing = tmp_path / "existing.json"
    existing.write_text("an older export")
    existing.chmod(0o644)
    slm_with_umask("export", "--db", store.arg, "-f", "json", "-o", existing)
    assert mode(existing) == 0o600 and json.loads(existing.read_text())[0]["type"] == "header"

    folder = tmp_path / "notes" / "slm"
    slm_with_umask("export", "--db", store.arg, "-f", "markdown", "-o", folder)
    assert mode(folder) == mode(folder.parent) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["billing.md", "infra.md", "web.md"]
    assert {mode(p) for p in folder.iterdir()} == {0o600}


def test_standard_output_is_still_a_stream_that_may_be_cut_short(store_at, db_arg):
    """`slm export | head`: the reader leaving early is not an error, as with any Unix tool (the export is larger
    than a pipe's buffer, so slm really does write into a closed pipe)."""
    with Memory.open(store_at) as mem:
        mem.remember_many([{"text": f"Service number {i} listens on port {8000 + i}."} for i in range(60)])
    proc = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -c 200', "bash", *SLM, "export", "--db", db_arg,
         "--include-embeddings"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "" and len(proc.stdout) == 200
