"""Text made into the tokens SQLite's FTS5 makes of it, for keyword search where FTS5 is not there (PostgreSQL).

The tokens come from SQLite's own tokenizer (`porter unicode61 remove_diacritics 2`, the one `memories_fts` uses),
called through apsw, slm's SQLite driver: they are FTS5's by construction, so BM25 over them ranks as FTS5 does
(docs/benchmarks.md, "PostgreSQL keyword ranking against FTS5": every token of LongMemEval dev matched, where a
Python look-alike with PyStemmer's porter differed on 6,077 of 7.64M). One in-memory connection per process.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable

from slm.storage.connection import import_apsw

TOKENIZER = ("porter", ("unicode61", "remove_diacritics", "2"))  # migrations/0001_memories.sql's `tokenize`
MAX_POSITION = 16383  # a tsvector position stops here (later tokens share it) ...
MAX_POSITIONS = 256  # ... a lexeme keeps at most this many positions ...
MAX_LEXEME = 2047  # ... and a lexeme has at most this many bytes (a longer token cannot be stored)


@functools.cache
def _tokenizer() -> tuple[Callable, int, int]:
    """FTS5's tokenizer and its two modes, made once per process (a connection that stays open, unused)."""
    apsw = import_apsw()
    name, args = TOKENIZER
    tokenize = apsw.Connection(":memory:").fts5_tokenizer(name, list(args))
    return tokenize, apsw.FTS5_TOKENIZE_DOCUMENT, apsw.FTS5_TOKENIZE_QUERY


def document_tokens(text: str) -> list[str]:
    """The tokens FTS5 indexes for `text`, in order: a memory's words as `memories_fts` holds them."""
    tokenize, document, _ = _tokenizer()
    return tokenize(text.encode(), document, None, include_offsets=False, include_colocated=False)


def query_tokens(phrase: str) -> list[str]:
    """The tokens of a quoted phrase of a MATCH expression, as FTS5 reads them (possibly none: `"—"`)."""
    tokenize, _, query = _tokenizer()
    return tokenize(phrase.encode(), query, None, include_offsets=False, include_colocated=False)


def tsvector_text(tokens: list[str]) -> str:
    """A PostgreSQL `tsvector` literal of `tokens` at their positions (1-based, as `to_tsvector` numbers them).

    Written as a literal rather than `to_tsvector('simple', ...)` of the joined tokens: PostgreSQL's parser would
    split and number some of FTS5's tokens its own way. PostgreSQL's limits apply: positions past 16,383 share
    the last one, a lexeme keeps its first 256 positions, a token over 2,047 bytes is left out."""
    positions: dict[str, list[int]] = defaultdict(list)
    for at, token in enumerate(tokens, 1):
        if len(token.encode()) <= MAX_LEXEME:
            positions[token].append(min(at, MAX_POSITION))
    return " ".join(f"{quoted(t)}:{','.join(map(str, sorted(set(p))[:MAX_POSITIONS]))}" for t, p in positions.items())


def storable(tokens: list[str]) -> bool:
    """Whether a phrase of these tokens can match a stored memory: it has a token (FTS5 drops a phrase without
    one), and none over 2,047 bytes (a tsvector cannot hold one, so no stored memory has it)."""
    return bool(tokens) and all(len(t.encode()) <= MAX_LEXEME for t in tokens)


def quoted(lexeme: str) -> str:
    """A lexeme as a quoted `tsvector` / `tsquery` literal: taken as it is, never normalised."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
