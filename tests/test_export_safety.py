"""`slm export` never destroys or exposes what it copies: the store's own files are refused as targets (by path,
relative path, symlink or hard link), a file is written whole or not at all, and exports are private whatever the
umask. Real stores and the real `slm` (in-process, and as a process where the umask or stdout matter): no mocks.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from slm import Memory
from slm.storage.behavior import behavior_path
from slm.trust.receipts import KEY_FILE, load_or_create_key
from tests.test_cli import run

_SCRIPT = Path(sys.executable).with_name("slm")
SLM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from slm.cli.main import main; main()"]
NOTES = [
    ("We chose PostgreSQL 16 for the billing service because of logical replication.", "billing"),
    ("Kubernetes liveness probes hit /healthz every 10 seconds.", "infra"),
    ("The frontend build uses Vite 5 and deploys to Cloudflare Pages.", "web"),
]


@pytest.fixture
def store(db_path) -> Path:
    """A closed store with its companions: behavior.db (a feedback) and the erasure key."""
    with Memory.open(db_path) as mem:
        ids = mem.remember_many([{"text": text, "project": project} for text, project in NOTES])
        mem.feedback(ids[0], helpful=True, query="which database?")
    load_or_create_key(db_path.parent)
    return db_path


def files_of(db: Path) -> dict[Path, str]:
    """Every file in the store's folder, with the SHA-256 of its bytes."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(db.parent.rglob("*")) if p.is_file()}


def memories_in(db: Path) -> int:
    with Memory.open(db, create=False) as mem:
        return mem.count()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_refused(result, message: str) -> None:
    assert "error:" in result.stderr and message in " ".join(result.stderr.split()) and "hint:" in result.stderr


# -- the store's own files -------------------------------------------------------------------------------------------
TARGETS = {
    "the store": lambda db: db,
    "its WAL": lambda db: Path(f"{db}-wal"),
    "its shared memory": lambda db: Path(f"{db}-shm"),
    "its rollback journal": lambda db: Path(f"{db}-journal"),
    "the behaviour database": lambda db: behavior_path(db),
    "the behaviour WAL": lambda db: Path(f"{behavior_path(db)}-wal"),
    "the erasure key": lambda db: db.parent / KEY_FILE,
}


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
@pytest.mark.parametrize("target", list(TARGETS))
def test_an_export_over_a_file_of_the_store_is_refused(store, target, fmt):
    path = TARGETS[target](store)
    with Memory.open(store) as agent:  # an agent at work keeps the WAL and shared-memory files
        agent.remember("Written while the export runs, so the WAL holds a commit.")
        path.touch(mode=0o600)  # the journal, should a crash have left one
        before = files_of(store)
        refused = run("export", "--db", store, "-f", fmt, "-o", path, code=2)
        check_refused(refused, "of the files of the store being exported")
        after = files_of(store)
    shm = Path(f"{store}-shm")
    assert after.pop(shm) and before.pop(shm)  # readers change the shared memory's bytes; it must still be there
    assert after == before and memories_in(store) == len(NOTES) + 1


@pytest.mark.parametrize("how", ["relative path", "symlink", "hard link", "symlinked folder"])
def test_an_export_over_the_store_under_another_name_is_refused(store, tmp_path, monkeypatch, how):
    if how == "relative path":
        monkeypatch.chdir(store.parent)
        target = Path("memory.db")
    elif how == "symlink":
        target = tmp_path / "looks-harmless.jsonl"
        target.symlink_to(store)
    elif how == "hard link":
        target = tmp_path / "looks-harmless.jsonl"
        os.link(store, target)
    else:
        (tmp_path / "elsewhere").symlink_to(store.parent)
        target = tmp_path / "elsewhere" / ".." / "elsewhere" / store.name
    before = files_of(store)
    refused = run("export", "--db", store, "-o", target, code=2)
    check_refused(refused, "would destroy it")
    assert files_of(store) == before and memories_in(store) == len(NOTES)


def test_an_export_over_another_database_is_refused(store, tmp_path):
    backup = json.loads(run("backup", "--db", store, tmp_path / "copy.db", "--json").stdout)["path"]
    before = Path(backup).read_bytes()
    check_refused(run("export", "--db", store, "-o", backup, code=2), "is an SQLite database")
    assert Path(backup).read_bytes() == before


def test_standard_output_into_the_store_is_refused(store):
    size = store.stat().st_size
    with store.open("ab") as appended:  # `slm export >> memory.db`
        proc = subprocess.run([*SLM, "export", "--db", str(store)], stdout=appended, stderr=subprocess.PIPE)
    assert proc.returncode == 2 and b"standard output goes to one of the files of the store" in proc.stderr
    assert store.stat().st_size == size and memories_in(store) == len(NOTES)


def test_markdown_is_never_written_among_the_store_files(store, tmp_path):
    before = files_of(store)
    (tmp_path / "data").symlink_to(store.parent)
    for folder in (store.parent, tmp_path / "data"):
        check_refused(run("export", "--db", store, "-f", "markdown", "-o", folder, code=2), "folder of the store")
    assert files_of(store) == before

    folder = tmp_path / "notes"
    folder.mkdir()
    os.link(store, folder / "billing.md")  # the file this export would write is the store itself
    check_refused(run("export", "--db", store, "-f", "markdown", "-o", folder, code=2), "would destroy it")
    assert files_of(store) == before and memories_in(store) == len(NOTES)
    assert sorted(p.name for p in folder.iterdir()) == ["billing.md"]  # nothing written: every file is checked first


# -- whole or not at all -------------------------------------------------------------------------------------------
def test_a_failed_export_leaves_the_existing_file_as_it_was(store, tmp_path):
    """The behaviour database is damaged, so the export fails after its memories were written: the previous export
    must survive intact, and no partial file be left behind."""
    target = tmp_path / "exports" / "all.jsonl"
    target.parent.mkdir()
    run("export", "--db", store, "-o", target)
    previous = target.read_bytes()
    behavior_path(store).write_bytes(b"this is not a database any more" * 200)
    run("export", "--db", store, "-o", target, "--include-behavior", code=1)
    assert target.read_bytes() == previous
    assert sorted(p.name for p in target.parent.iterdir()) == ["all.jsonl"]


def test_an_export_to_a_missing_folder_says_so(store, tmp_path):
    check_refused(run("export", "--db", store, "-o", tmp_path / "nowhere" / "x.jsonl", code=2), "does not exist")


# -- private whatever the umask ------------------------------------------------------------------------------------
def slm_with_umask(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", *SLM, *map(str, args)],
        capture_output=True, text=True, timeout=120, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_exports_are_private_whatever_the_umask(store, tmp_path):
    fresh = tmp_path / "fresh.jsonl"
    slm_with_umask("export", "--db", store, "-o", fresh)
    assert mode(fresh) == 0o600
    assert [json.loads(line)["type"] for line in fresh.read_text().splitlines()] == ["header", *["memory"] * 3, "end"]

    existing = tmp_path / "existing.json"
    existing.write_text("an older export")
    existing.chmod(0o644)
    slm_with_umask("export", "--db", store, "-f", "json", "-o", existing)
    assert mode(existing) == 0o600 and json.loads(existing.read_text())[0]["type"] == "header"

    folder = tmp_path / "notes" / "slm"
    slm_with_umask("export", "--db", store, "-f", "markdown", "-o", folder)
    assert mode(folder) == mode(folder.parent) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["billing.md", "infra.md", "web.md"]
    assert {mode(p) for p in folder.iterdir()} == {0o600}


def test_standard_output_is_still_a_stream_that_may_be_cut_short(db_path):
    """`slm export | head`: the reader leaving early is not an error, as with any Unix tool (the export is larger
    than a pipe's buffer, so slm really does write into a closed pipe)."""
    with Memory.open(db_path) as mem:
        mem.remember_many([{"text": f"Service number {i} listens on port {8000 + i}."} for i in range(60)])
    proc = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -c 200', "bash", *SLM, "export", "--db", str(db_path),
         "--include-embeddings"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "" and len(proc.stdout) == 200
