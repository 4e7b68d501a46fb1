"""Where slm keeps its files, from the environment: `SLM_HOME` overrides the platform's user data dir."""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "memory.db"


def data_dir() -> Path:
    home = os.environ.get("SLM_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("slm", appauthor=False))


def default_db_path() -> Path:
    return data_dir() / DB_NAME


def model_override() -> Path | None:
    """`SLM_MODEL` selects another GGUF embedding model for this process."""
    value = os.environ.get("SLM_MODEL")
    return Path(value).expanduser() if value else None
