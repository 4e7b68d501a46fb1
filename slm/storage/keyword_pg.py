"""Keyword search on PostgreSQL: FTS5's own BM25, computed in SQL over the tokens FTS5 would have made.

Each memory's tokens (`fts_tokens`: SQLite's tokenizer, through apsw) are stored with it in `memory_tokens` as a
tsvector (positions kept, GIN-indexed) and a token count; `memory_tokens_stats` holds the corpus's row and token
counts, kept by triggers in the writer's transaction (so under the write lock, erasure's deletes included).
A search takes the same MATCH expression FTS5 takes (`slm.recall.fts_query`: an OR of double-quoted phrases) and
returns FTS5's rows, scores and order: idf from each phrase's row count over every row (superseded ones too, as
FTS5 counts them), k1 1.2, b 0.75, each row's terms summed in the phrases' order as FTS5's bm25() sums them, ties
by id (docs/benchmarks.md, "PostgreSQL keyword ranking against FTS5": FTS5's exact top 10 on LongMemEval dev).

Where PostgreSQL's tsvector cannot hold a memory (more than 16,383 tokens, a word more than 256 times, a token over
2,047 bytes) its counts, and so its score, differ from FTS5's.
"""

from __future__ import annotations

import json
import math
import re

from slm.storage import fts_tokens

K1 = 1.2  # FTS5's bm25() defaults
B = 0.75
_PHRASE = re.compile(r'"((?:[^"]|"")*)"')

# One row per query phrase (`ord`, its tokens `lex`, its `idf`); of each matching row only the query's lexemes
# are unnested (setweight + ts_filter pick them out in C, ~5x cheaper than unnesting every lexeme); a phrase's tf
# is the number of positions where its first token starts a run of all of them (FTS5's phrase match).
_SCORE = """
WITH q AS (SELECT x.ord, x.lex, (CAST(?1 AS float8[]))[x.ord + 1] AS idf
           FROM jsonb_to_recordset(CAST(?2 AS jsonb)) AS x(ord int, lex text[])),
pos AS MATERIALIZED (SELECT h.memory_id AS id, h.length, u.lexeme, u.positions
        FROM memory_tokens h{join}, unnest(ts_filter(setweight(h.tokens, 'A', CAST(?3 AS text[])), '{{a}}')) u
        WHERE h.tokens @@ CAST(?4 AS tsquery) AND {where}),
tf AS (SELECT p.id, p.length, q.ord, q.idf, CASE WHEN cardinality(q.lex) = 1 THEN cardinality(p.positions) ELSE (
           SELECT count(*) FROM unnest(p.positions) AS s(at) WHERE NOT EXISTS (
               SELECT 1 FROM generate_subscripts(q.lex, 1) j WHERE j > 1 AND NOT EXISTS (
                   SELECT 1 FROM pos o WHERE o.id = p.id AND o.lexeme = q.lex[j] AND s.at + j - 1 = ANY(o.positions))))
       END AS tf
       FROM q JOIN pos p ON p.lexeme = q.lex[1])
SELECT id, sum(idf * ((tf * CAST(?5 AS float8)) / (tf + CAST(?6 AS float8) * (1 - CAST(?7 AS float8)
           + CAST(?7 AS float8) * length / CAST(?8 AS float8)))) ORDER BY ord) AS score
FROM tf WHERE tf > 0 GROUP BY id ORDER BY score DESC, id LIMIT ?9
"""


class PostgresKeywordIndex:
    """(id, BM25 score, higher is better) for an FTS5 MATCH expression, best first: FTS5's, on PostgreSQL."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def add(self, memory_id: int, content: str) -> None:
        """Index a memory just inserted (call in its transaction; the row goes with the memory when it is deleted)."""
        tokens = fts_tokens.document_tokens(content)
        self.conn.execute(
            "INSERT INTO memory_tokens (memory_id, tokens, length) VALUES (?, CAST(? AS tsvector), ?)",
            (memory_id, fts_tokens.tsvector_text(tokens), len(tokens)),
        )

    def filtered(self, match: str, where: str, params: list, limit: int) -> list[tuple[int, float]]:
        """Among the memories `m` that pass `where` (a `MemoryFilter.where()`)."""
        return self._bm25(match, " JOIN memories m ON m.id = h.memory_id", where, params, limit)

    def unfiltered(self, match: str, hidden: str, limit: int) -> list[tuple[int, float]]:
        """Among every memory but those the query `hidden` selects."""
        return self._bm25(match, "", f"h.memory_id NOT IN ({hidden})", [], limit)

    def _bm25(self, match: str, join: str, where: str, params: list, limit: int) -> list[tuple[int, float]]:
        phrases = [tokens for tokens in map(fts_tokens.query_tokens, _phrases(match)) if fts_tokens.storable(tokens)]
        if not phrases:
            return []  # FTS5 drops a phrase without a token; with none left nothing matches
        queries = [" <-> ".join(map(fts_tokens.quoted, tokens)) for tokens in phrases]
        rows, total = self.conn.execute("SELECT rows, tokens FROM memory_tokens_stats").fetchone()
        hits = [
            r[0]
            for r in self.conn.execute(
                "SELECT (SELECT count(*) FROM memory_tokens WHERE tokens @@ q) "
                "FROM unnest(CAST(? AS tsquery[])) WITH ORDINALITY AS u(q, n) ORDER BY n",
                (queries,),
            )
        ]
        idf = [_idf(rows, n) for n in hits]
        numbered = [
            json.dumps([{"ord": i, "lex": tokens} for i, tokens in enumerate(phrases)]),
            sorted({t for tokens in phrases for t in tokens}),
            " | ".join(f"({q})" for q in queries),
        ]
        sql = _SCORE.format(join=join, where=_renumbered(where, 9))
        constants = [K1 + 1.0, K1, B, total / rows if rows else 1.0, limit]
        found = self.conn.execute(sql, [idf, *numbered, *constants, *params])
        return [(r[0], r[1]) for r in found]


def _idf(rows: int, hits: int) -> float:
    """FTS5's idf, to the bit: log((N - n + 0.5) / (n + 0.5)), 1e-6 where that is not positive (a phrase in over
    half the rows); N counts every row the index holds."""
    idf = math.log((rows - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0.0 else 1e-6


def _phrases(match: str) -> list[str]:
    """The phrases of an OR of double-quoted phrases (`fts_match`'s form), unquoted; anything else is refused."""
    found = list(_PHRASE.finditer(match))
    if not found or " OR ".join(m.group(0) for m in found) != match:
        raise ValueError(f"not an OR of quoted phrases: {match!r}")
    return [m.group(1).replace('""', '"') for m in found]


def _renumbered(where: str, after: int) -> str:
    """`where`'s plain `?` placeholders as `?N` from `after + 1` on: the statement numbers its own parameters."""
    count = iter(range(after + 1, after + 1 + where.count("?")))
    return re.sub(r"\?(?!\d)", lambda _: f"?{next(count)}", where)
