"""The bearer token that guards `slm mcp --http`: generated once and stored user-only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from slm.errors import StorageError

TOKEN_FILE = "mcp-token"


def token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def load_or_create_token(data_dir: Path, *, rotate: bool = False) -> str:
    """The stored token; a new one (0600, in a 0700 folder) when there is none or `rotate` is set."""
    path = token_path(data_dir)
    if path.exists() and not rotate:
        if path.stat().st_mode & 0o077:
            raise StorageError(
                f"{path} can be read by other users, so the token is no secret",
                f"run: chmod 600 {path} && slm mcp token --rotate",
            )
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 32:
            return token
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, token.encode() + b"\n")
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return token
