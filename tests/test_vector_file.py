"""The vector file: a one-shot process maps it instead of reading vec0, and gets exactly the same answers; a
stale, torn, corrupt or foreign file is detected and rebuilt, and a crash while writing it loses nothing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from faults import crash_at, finish

from slm import Memory
from slm.embedding import quantised, vector_file, vector_index
from slm.portability import erasure

# The file is per local store: these tests open `db_path` (SQLite); on PostgreSQL the mirror loads from the server
# and writes no file (the test that runs on both says so).
pytestmark = pytest.mark.both_backends

TEXTS = [
    "We chose PostgreSQL 16 for the billing service because of logical replication.",
    "The billing service retries Stripe webhooks three times with exponential backoff.",
    "Run the integration tests with `make itest`; they need Docker running.",
    "Alice prefers pytest fixtures over unittest setUp methods.",
    "The frontend build uses Vite 5 and deploys to Cloudflare Pages.",
    "Error ECONNRESET from the Redis client was fixed by raising the pool timeout to 30s.",
    "Our API rate limit is 600 requests per minute per token.",
    "Kubernetes liveness probes hit /healthz every 10 seconds.",
]
LATER = [
    "Grafana dashboards live in the observability repo under dashboards/.",
    "The staging cluster is rebuilt every Sunday night from the main branch.",
    "Bob owns the payments runbook and rotates the on-call schedule.",
]
QUESTIONS = ["which database for billing?", "how do I run the tests", "grafana dashboards", "redis timeout", "on-call"]


@pytest.fixture(autouse=True)
def save_every_change(monkeypatch):
    """Write the file after any change: the real threshold (thousands of rows) would need a big store."""
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 1)


@pytest.fixture
def store(db_path):
    with Memory.open(db_path) as mem:
        mem.remember_many([{"text": t, "project": "infra" if i % 2 else "billing"} for i, t in enumerate(TEXTS)])
        mem.recall("warm up", k=1)  # loads the mirror from vec0 and writes the file
    return db_path


def answers(db_path, **options) -> list[list[tuple[int, float]]]:
    """Each question's hits (id, score) from a fresh process's view of the store, and where its rows came from."""
    with Memory.open(db_path) as mem:
        found = [[(h.id, round(h.score, 6)) for h in mem.recall(q, k=5, **options)] for q in QUESTIONS]
        found.append(
            [(int(i), round(s, 6)) for i, s in mem.store.synced_index().search(mem.store.query_vector("tests"), 8)]
        )
        return found


def answers_without_file(db_path, monkeypatch, **options):
    """The same, read from vec0 alone: the file moved away, and not written again."""
    path = vector_file.path_for(db_path)
    kept = path.with_name("kept")
    if path.exists():
        shutil.move(path, kept)
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 10**9)
    try:
        return answers(db_path, **options)
    finally:
        monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 1)
        if kept.exists():
            shutil.move(kept, path)


def rows_from_file(db_path) -> int:
    with Memory.open(db_path) as mem:
        return len(mem.store.synced_index()._base)


def test_the_file_is_written_and_gives_the_same_answers(store, monkeypatch):
    assert vector_file.path_for(store).exists()
    assert rows_from_file(store) == len(TEXTS)
    assert answers(store) == answers_without_file(store, monkeypatch)
    assert answers(store, project="infra") == answers_without_file(store, monkeypatch, project="infra")


def test_newer_and_deleted_chunks_are_read_from_the_store(store, monkeypatch):
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 10**9)  # keep the old file: it is now stale
    with Memory.open(store) as mem:
        added = mem.remember_many([{"text": t} for t in LATER])
        gone = mem.recall("Kubernetes liveness probes", k=1)[0].id
        mem.forget(gone)
    assert rows_from_file(store) == len(TEXTS)  # still the old file, with the news read from vec0
    found = answers(store)
    assert found == answers_without_file(store, monkeypatch)
    assert found[2][0][0] == added[0] and all(gone not in {i for i, _ in hits} for hits in found)


@pytest.mark.parametrize(
    "damage",
    ["truncated", "header byte", "id byte", "first vector byte", "sampled vector byte", "sampled code byte", "empty"],
)
def test_a_torn_or_corrupt_file_is_rebuilt(store, monkeypatch, damage):
    path = vector_file.path_for(store)
    data = bytearray(path.read_bytes())
    header, rows, dim = 104, len(TEXTS), 384
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "header byte":
        data[20] ^= 0xFF
    elif damage == "id byte":
        data[header + 3] ^= 0xFF
    elif damage == "first vector byte":
        data[header + 16 * rows + 7] ^= 0x40
    elif damage == "sampled vector byte":
        data[header + 16 * rows + 4 * dim * (rows - 1) + 7] ^= 0x40
    elif damage == "sampled code byte":
        data[header + (16 + 4 * dim) * rows + dim * (rows - 1) + 5] ^= 0x40
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    assert vector_file.read(path, dim, "default") is None
    assert answers(store) == answers_without_file(store, monkeypatch)
    assert vector_file.read(path, dim, "default") is not None  # rebuilt


def test_a_file_from_another_history_of_the_store_is_not_trusted(store, tmp_path, monkeypatch):
    """A backup restored over the store, then new memories: the same chunk ids now hold other vectors."""
    backup = tmp_path / "backup.db"
    shutil.copy(store, backup)
    with Memory.open(store) as mem:
        mem.remember_many([{"text": t} for t in LATER])
        mem.recall("save the file with the later memories", k=1)
    for suffix in ("-wal", "-shm"):
        vector_file.path_for(store).with_name(store.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, store)
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 10**9)
    with Memory.open(store) as mem:
        mem.remember_many(
            [{"text": t} for t in ("Deploys are frozen on Fridays.", "VPN config is in 1Password.", "Use ruff.")]
        )
    assert rows_from_file(store) == 0  # same number of chunks under the same ids, other vectors: rejected
    assert answers(store) == answers_without_file(store, monkeypatch)


def test_another_stores_file_is_not_trusted(store, tmp_path, monkeypatch):
    other = tmp_path / "other" / "memory.db"
    with Memory.open(other) as mem:
        mem.remember_many([{"text": f"note {i} about the {w} service"} for i, w in enumerate(["auth", "mail"] * 6)])
    shutil.copy(vector_file.path_for(store), vector_file.path_for(other))
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 10**9)
    assert rows_from_file(other) == 0
    assert answers(other) == answers_without_file(other, monkeypatch)


SNIPPET = """
import sys
from slm import Memory
from slm.embedding import vector_index
vector_index.SAVE_AFTER_ROWS = 1
with Memory.open(sys.argv[1]) as mem:
    {action}
    mem.recall("anything", k=1)
"""


def _snippet(db_path, action: str) -> str:
    return SNIPPET.replace("sys.argv[1]", repr(str(db_path))).format(action=action)


def test_a_crash_while_writing_the_file_loses_nothing(store, monkeypatch):
    path = vector_file.path_for(store)
    before = path.read_bytes()
    crash_at("vector_file.written", _snippet(store, f"mem.remember_many([{{'text': t}} for t in {LATER!r}])"))
    assert path.read_bytes() == before  # the old file, whole: the new one never replaced it
    assert list(path.parent.glob("*.tmp"))  # the dead writer's temporary file
    assert answers(store) == answers_without_file(store, monkeypatch)
    finish(_snippet(store, "mem.remember('one more')"))
    assert not list(path.parent.glob("*.tmp"))  # cleaned up by the next writer
    assert rows_from_file(store) == len(TEXTS) + len(LATER) + 1


def test_a_crash_before_the_first_file_leaves_none(db_path, monkeypatch):
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 10**9)
    with Memory.open(db_path) as mem:
        mem.remember_many([{"text": t} for t in TEXTS])
    crash_at("vector_file.written", _snippet(db_path, "pass"))
    assert not vector_file.path_for(db_path).exists()
    assert answers(db_path) == answers_without_file(db_path, monkeypatch)


def test_writing_needs_no_second_copy_of_the_matrix_and_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((20_000, 8)).astype(np.float32)
    ids = np.arange(1, 20_001, dtype=np.int64)
    path = tmp_path / "m.vectors"
    assert vector_file.write(path, ids, ids // 2, lambda rows: matrix[rows], 8, "default")
    snapshot = vector_file.read(path, 8, "default")
    assert np.array_equal(snapshot.matrix, matrix) and np.array_equal(snapshot.memory_ids, ids // 2)
    assert np.array_equal(snapshot.codes, quantised.quantise(matrix))
    assert vector_file.read(path, 8, "/models/other.gguf") is None and vector_file.read(path, 16, "default") is None


def test_an_erasure_leaves_no_vector_of_what_it_erased(store, monkeypatch):
    """The file is a copy of vec0's bytes: erasing must not leave the erased memories' vectors in it."""
    with Memory.open(store) as mem:
        gone = mem.recall("Kubernetes liveness probes", k=1)[0].id
        erased = [v.astype(np.float32).tobytes() for v in mem.store.synced_index().first_vectors([gone]).values()]
        assert erased and erased[0] in _vector_bytes(store)
        monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 10**9)  # the erasing process does not rewrite it
        erasure.erase(mem.transfers, erasure.Scope.of(ids=[gone]))
    assert erased[0] not in _vector_bytes(store)
    monkeypatch.setattr(vector_index, "SAVE_AFTER_ROWS", 1)
    assert answers(store) == answers_without_file(store, monkeypatch)  # and the next process writes it anew
    assert vector_file.path_for(store).exists() and erased[0] not in _vector_bytes(store)


def _vector_bytes(db_path) -> bytes:
    path = vector_file.path_for(db_path)
    return path.read_bytes() if path.exists() else b""


def test_a_store_on_a_server_keeps_no_vector_file(backend, store_at):
    """The mirror of a PostgreSQL store loads from pgvector and is written nowhere: the file is a local SQLite
    store's (a server's local folder holds no copy of its vectors)."""
    with Memory.open(store_at) as mem:
        ids = mem.remember_many([{"text": t} for t in TEXTS])
        hits = mem.recall("which database for billing?", k=1, channels=["vector"])
        folder, written = mem.store.location.folder, mem.store.location.beside(vector_file.SUFFIX)
    assert hits[0].id == ids[0]
    if backend == "sqlite":
        assert written.exists()
    else:
        assert not written.exists() and not [p for p in folder.rglob("*") if p.name.endswith(vector_file.SUFFIX)]
