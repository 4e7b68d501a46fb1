"""Settings from the environment: `SLM_HOME` (where slm keeps its files), `SLM_MODEL`, `SLM_THREADS`."""

from __future__ import annotations

import os
from pathlib import Path

from slm.errors import InvalidInput

DB_NAME = "memory.db"


def data_dir() -> Path:
    home = os.environ.get("SLM_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("slm", appauthor=False))


def default_db_path() -> Path:
    return data_dir() / DB_NAME


SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(value: str | Path | None) -> bool:
    """Whether `--db`, `SLM_DB` or `Memory.open` names a PostgreSQL store (a URL) rather than a SQLite file."""
    return isinstance(value, str) and value.strip().lower().startswith(SERVER_SCHEMES)


def model_override() -> Path | None:
    """`SLM_MODEL` selects another GGUF embedding model for this process."""
    value = os.environ.get("SLM_MODEL")
    return Path(value).expanduser() if value else None


def embed_threads(default: int | None = None) -> int:
    """CPU threads for llama.cpp's batches: `SLM_THREADS`, else `default`, else every core (short inputs always
    run on one: `Embedder.embed`).

    One process alone embeds fastest on every core; many processes at once (one MCP server per assistant)
    do better with one thread each, as llama.cpp's threads spin while they wait (docs/benchmarks.md).
    """
    value = os.environ.get("SLM_THREADS")
    if not value:
        return default or os.cpu_count() or 1
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 256:
        raise InvalidInput(f"SLM_THREADS must be a whole number from 1 to 256, got {value!r}")
    return int(value)
