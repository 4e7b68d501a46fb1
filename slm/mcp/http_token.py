"""The shared bearer token of `slm mcp --http`: made by `slm mcp token`, stored user-only, removable.

It lets any client in under the name it claims; agents with their own token (`slm agent add`) need none of it, so a
user who gives every client an agent token can remove it (`slm mcp token --remove`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from slm.errors import StorageError

TOKEN_FILE = "mcp-token"
MIN_CHARS = 32


def token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def shared_token(data_dir: Path) -> str | None:
    """The stored token, or None when there is none; read on every request, so rotating or removing it takes
    effect at once in running servers."""
    path = token_path(data_dir)
    try:
        mode, token = path.stat().st_mode, path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise StorageError(
            f"{path} can be read by other users, so the token is no secret",
            f"run: chmod 600 {path} && slm mcp token --rotate",
        )
    return token if len(token) >= MIN_CHARS else None


def load_or_create_token(data_dir: Path, *, rotate: bool = False) -> str:
    """The stored token; a new one (0600, in a 0700 folder) when there is none or `rotate` is set."""
    token = None if rotate else shared_token(data_dir)
    if token is not None:
        return token
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    path = token_path(data_dir)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, token.encode() + b"\n")
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return token


def remove_token(data_dir: Path) -> bool:
    """Stop accepting the shared token (running servers too); True if there was one."""
    try:
        token_path(data_dir).unlink()
    except FileNotFoundError:
        return False
    return True
