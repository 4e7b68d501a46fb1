"""Keyword search on PostgreSQL: FTS5's own BM25, computed in SQL over the tokens FTS5 would have made.

Each memory's tokens (`fts_tokens`: SQLite's tokenizer, through apsw) are stored with it in `memory_tokens` as a
tsvector (positions kept, for phrases) and a token count; triggers in the writer's transaction (so under the write
lock, erasure's deletes included) keep `memory_postings`, the inverted index a search reads (token, memory, count,
length: one B-tree), and `memory_tokens_stats`, the corpus's row and token counts.
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
from dataclasses import dataclass

from slm.storage import fts_tokens, maxscore

_PHRASE = re.compile(r'"((?:[^"]|"")*)"')

# One row per query phrase (`ord`, its tokens `lex`, its `idf`). A one-token phrase's rows and tf come from
# `memory_postings` (its B-tree alone), read first for all such tokens at once (`post`, materialized): given the
# tokens as an array PostgreSQL counts their postings from its statistics and hashes the memories a filter keeps;
# joined with `q` first it guessed a few rows per token and looked every posting up in `memories` (2x slower at
# 100k with a project filter). A longer phrase's rows are those holding its first token (postings) whose
# tsvector holds the phrase; of those only the query's lexemes are unnested (setweight + ts_filter pick them out in
# C), and its tf is the number of positions where its first token starts a run of all of them (FTS5's phrase match).
_SCORE = """
WITH q AS (SELECT x.ord, x.lex, (CAST(?1 AS float8[]))[x.ord + 1] AS idf
           FROM jsonb_to_recordset(CAST(?2 AS jsonb)) AS x(ord int, lex text[])),
post AS MATERIALIZED (SELECT h.memory_id AS id, h.term, h.length, h.tf FROM memory_postings h
        WHERE h.term = ANY(CAST(?11 AS text[])) AND {where}),
one AS (SELECT p.id, p.length, q.ord, q.idf, p.tf
        FROM post p JOIN q ON cardinality(q.lex) = 1 AND q.lex[1] = p.term){phrases}
SELECT id, sum(idf * ((tf * CAST(?5 AS float8)) / (tf + CAST(?6 AS float8) * (1 - CAST(?7 AS float8)
           + CAST(?7 AS float8) * length / CAST(?8 AS float8)))) ORDER BY ord) AS score
FROM {hits} GROUP BY id ORDER BY score DESC, id LIMIT CAST(?9 AS bigint)
"""
_PHRASE_HITS = """,
pos AS MATERIALIZED (SELECT h.memory_id AS id, h.length, u.lexeme, u.positions
        FROM memory_tokens h, unnest(ts_filter(setweight(h.tokens, 'A', CAST(?3 AS text[])), '{{a}}')) u
        WHERE h.memory_id IN (SELECT p.memory_id FROM memory_postings p WHERE p.term = ANY(CAST(?10 AS text[])))
          AND h.tokens @@ CAST(?4 AS tsquery) AND {where}),
phrase AS (SELECT p.id, p.length, q.ord, q.idf, (
           SELECT count(*) FROM unnest(p.positions) AS s(at) WHERE NOT EXISTS (
               SELECT 1 FROM generate_subscripts(q.lex, 1) j WHERE j > 1 AND NOT EXISTS (
                   SELECT 1 FROM pos o WHERE o.id = p.id AND o.lexeme = q.lex[j] AND s.at + j - 1 = ANY(o.positions))))
           AS tf
       FROM q JOIN pos p ON p.lexeme = q.lex[1] WHERE cardinality(q.lex) > 1)"""
_ALL_HITS = "(SELECT * FROM one UNION ALL SELECT * FROM phrase WHERE tf > 0) AS hit"


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
        among = f"h.memory_id IN (SELECT m.id FROM memories m WHERE {where})"
        return self._search(match, _Scope(among, params), limit)

    def unfiltered(self, match: str, hidden: str, limit: int) -> list[tuple[int, float]]:
        """Among every memory but those the query `hidden` selects (no join with `memories`)."""
        return self._search(match, _Scope(f"h.memory_id NOT IN ({hidden})", []), limit)

    def _search(self, match: str, scope: _Scope, limit: int) -> list[tuple[int, float]]:
        phrases = [tokens for tokens in map(fts_tokens.query_tokens, _phrases(match)) if fts_tokens.storable(tokens)]
        if not phrases:
            return []  # FTS5 drops a phrase without a token; with none left nothing matches
        with self.conn.read_snapshot():  # corpus counts and scores of one moment, as FTS5's one statement has
            rows, total = self.conn.execute("SELECT rows, tokens FROM memory_tokens_stats").fetchone()
            query = _Query(phrases, self._matches(phrases), rows, total / rows if rows else 1.0)
            return self._bm25(query, scope, limit, self._pruned(query, scope, limit))

    def _matches(self, phrases: list[list[str]]) -> list[int]:
        """How many rows match each phrase (FTS5's n for its idf), in one statement: a token's postings counted in
        its B-tree; a longer phrase's, the rows holding its first token whose tsvector holds the phrase."""
        one = "(SELECT count(*) FROM memory_postings WHERE term = ?)"
        longer = (
            "(SELECT count(*) FROM memory_tokens h WHERE h.memory_id IN "
            "(SELECT p.memory_id FROM memory_postings p WHERE p.term = ?) AND h.tokens @@ CAST(? AS tsquery))"
        )
        counts = ", ".join(one if len(p) == 1 else longer for p in phrases)
        params = [x for p in phrases for x in ([p[0]] if len(p) == 1 else [p[0], _tsquery(p)])]
        return list(self.conn.execute(f"SELECT {counts}", params).fetchone())

    def _bm25(
        self, query: _Query, scope: _Scope, limit: int | None, among: list[int] | None = None
    ) -> list[tuple[int, float]]:
        """FTS5's bm25() order of the rows in `scope` (only those `among`, when given), `limit` of them (None: all)."""
        where = _renumbered(scope.where + (" AND h.memory_id = ANY(?)" if among is not None else ""), 11)
        extra = [*scope.params, *([among] if among is not None else [])]
        longer = any(len(tokens) > 1 for tokens in query.phrases)
        phrases = _PHRASE_HITS.format(where=where) if longer else ""
        sql = _SCORE.format(where=where, phrases=phrases, hits=_ALL_HITS if longer else "one")
        constants = [maxscore.K1 + 1.0, maxscore.K1, maxscore.B, query.avgdl, limit]
        tokens = [query.firsts, query.singles]
        found = self.conn.execute(sql, [query.idf, *query.parameters(), *constants, *tokens, *extra])
        return [(r[0], r[1]) for r in found]

    def _pruned(self, query: _Query, scope: _Scope, limit: int) -> list[int] | None:
        """The rows that can make the top `limit` (`maxscore`'s exact early stop: the rest are scored in full, with
        every phrase, so their scores are FTS5's), or None when stopping early does not pay or cannot be proved."""
        split = maxscore.split(query.hits, query.rows, limit)
        if split is None:
            return None
        common, rare = split
        partial = self._bm25(query.only(rare), scope, None)
        floor = partial[limit - 1][1] if len(partial) >= limit else math.inf
        slack = maxscore.slack(query.hits, query.rows, common, floor)
        if slack >= floor:
            return None  # too few rare rows, or the common phrases could still lift a row above the floor
        return [memory_id for memory_id, score in partial if score + slack >= floor]


@dataclass(frozen=True)
class _Scope:
    """The rows a search may return: a condition on `h.memory_id` (`h`: memory_postings or memory_tokens), its
    parameters (plain `?`)."""

    where: str
    params: list


@dataclass(frozen=True)
class _Query:
    """A MATCH expression's phrases as FTS5's tokens, with what bm25() needs of the corpus."""

    phrases: list[list[str]]
    hits: list[int]  # rows matching each phrase
    rows: int  # N: every indexed row
    avgdl: float

    @property
    def idf(self) -> list[float]:
        return [maxscore.idf(self.rows, n) for n in self.hits]

    def only(self, keep: list[int]) -> _Query:
        """The same query with only these phrases (their idf unchanged: it depends on their own counts)."""
        return _Query([self.phrases[i] for i in keep], [self.hits[i] for i in keep], self.rows, self.avgdl)

    def parameters(self) -> list:
        """`_SCORE`'s ?2-?4: the phrases in order, every token of the longer phrases, and a tsquery matching any
        longer phrase (`_PHRASE_HITS` reads ?3 and ?4 only when there is one)."""
        longer = [tokens for tokens in self.phrases if len(tokens) > 1]
        return [
            json.dumps([{"ord": i, "lex": tokens} for i, tokens in enumerate(self.phrases)]),
            sorted({t for tokens in longer for t in tokens}),
            " | ".join(f"({_tsquery(tokens)})" for tokens in longer),
        ]

    @property
    def singles(self) -> list[str]:
        """`_SCORE`'s ?11: the one-token phrases' tokens, as an array PostgreSQL plans with (its statistics then
        count each token's postings, so a filter's memories are hashed rather than looked up per posting)."""
        return sorted({tokens[0] for tokens in self.phrases if len(tokens) == 1})

    @property
    def firsts(self) -> list[str]:
        """`_PHRASE_HITS`'s ?10: the first tokens of the longer phrases (their rows are among those tokens' rows)."""
        return sorted({tokens[0] for tokens in self.phrases if len(tokens) > 1})


def _tsquery(tokens: list[str]) -> str:
    """A phrase as a tsquery: its tokens at consecutive positions, as FTS5 matches a phrase."""
    return " <-> ".join(map(fts_tokens.quoted, tokens))


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
