"""Signed erasure receipts: Ed25519 over the receipt's canonical JSON, with a key kept beside the store.

The key signs every receipt of the store; `check` accepts a receipt only if its signature is valid and was
made by this store's key, so a receipt cannot be edited (say, a hash dropped) or forged with another key.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from slm.errors import InvalidInput

KEY_FILE = "erasure-key.pem"
ALGORITHM = "ed25519"


def load_key(folder: Path) -> Ed25519PrivateKey:
    """The store's signing key, which its first erasure made."""
    path = folder / KEY_FILE
    if not path.exists():
        raise InvalidInput(
            f"this store has never erased anything: there is no {KEY_FILE} beside it",
            "verify a receipt against the store that wrote it (--db)",
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 key", "move it away; slm makes a new one on the next erase")
    return key


def load_or_create_key(folder: Path) -> Ed25519PrivateKey:
    """The store's signing key (created 0600 on first use)."""
    if (folder / KEY_FILE).exists():
        return load_key(folder)
    path = folder / KEY_FILE
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(body: dict, key: Ed25519PrivateKey) -> dict:
    """The receipt: `body` with a `signature` over its canonical JSON."""
    signature = base64.b64encode(key.sign(canonical(body))).decode("ascii")
    return {**body, "signature": {"algorithm": ALGORITHM, "public_key": public_key_text(key), "value": signature}}


def check(receipt: dict, key: Ed25519PrivateKey) -> dict:
    """The receipt's body if this store's key signed it as it is; else an error saying what is wrong."""
    signed = receipt.get("signature")
    if not isinstance(signed, dict) or signed.get("algorithm") != ALGORITHM:
        raise InvalidInput("the receipt has no Ed25519 signature", "pass a receipt written by `slm erase`")
    if signed.get("public_key") != public_key_text(key):
        raise InvalidInput(
            "the receipt was signed by another key than this store's",
            "verify it against the store that wrote it (--db), whose erasure-key.pem signed it",
        )
    body = {k: v for k, v in receipt.items() if k != "signature"}
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signed["public_key"]))
    try:
        public.verify(base64.b64decode(str(signed.get("value", ""))), canonical(body))
    except (InvalidSignature, ValueError):
        raise InvalidInput("the receipt's signature does not match its content: it was changed") from None
    return body
