"""Agent tokens: made with `secrets`, shown once, stored only as a SHA-256 hash, compared by hash lookup.

A token is 256 random bits, so a fast hash is safe (nothing to brute-force, unlike a password); the `slm_agent_`
prefix lets secret scanners recognise a leaked one.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "slm_agent_"
MAX_TOKEN_CHARS = 200


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: object) -> bool:
    """Shape only (the prefix and a sane length): a typo'd value gets a clearer error than "unknown token"."""
    return isinstance(token, str) and token.startswith(PREFIX) and len(token) <= MAX_TOKEN_CHARS
