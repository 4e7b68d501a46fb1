"""Keyword search on SQLite: FTS5's MATCH over `memories_fts` and FTS5's own BM25, with an exact early stop.

The memories repository decides which rows a search may return (filters, hidden versions) and asks this index
for the ranking; a PostgreSQL store (issue 24) brings its own index with the same two methods.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re

_PHRASE = re.compile(r'"[^"]*"')
BM25_K1 = 1.2  # FTS5's bm25() k1: one phrase adds less than its idf * (k1 + 1) to any row's score
PRUNE_SHARE = 4  # BM25 stops early past phrases in over 1/PRUNE_SHARE of the rows ...
PRUNE_GAIN = 3  # ... when the other phrases match under 1/PRUNE_GAIN as many rows as the commonest (else it costs)
PRUNE_MARGIN = 1e-6  # relative: covers the rounding between FTS5's sums over all phrases and over some


class SqliteKeywordIndex:
    """(id, BM25 score, higher is better) for an FTS5 MATCH expression, best first."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def filtered(self, match: str, where: str, params: list, limit: int) -> list[tuple[int, float]]:
        """Among the memories `m` that pass `where` (a `MemoryFilter.where()`)."""
        sql = (
            "SELECT m.id, -bm25(memories_fts) FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where} ORDER BY bm25(memories_fts) LIMIT ?"
        )
        return [(r[0], r[1]) for r in self.conn.execute(sql, [match, *params, limit])]

    def unfiltered(self, match: str, hidden: str, limit: int) -> list[tuple[int, float]]:
        """Among every memory but those the query `hidden` selects. Skips the join with `memories`: it would cost
        a row lookup per match before sorting, and stops early when common words would make FTS5 score most of
        the table (`_bm25_pruned`)."""
        found = self._bm25_pruned(match, hidden, limit)
        return self._bm25(match, hidden, limit) if found is None else found

    def _bm25(self, match: str, hidden: str, limit: int, among: list[int] | None = None) -> list[tuple[int, float]]:
        """FTS5's own BM25 order; `among` scores only those rows (`+rowid` keeps FTS5 from re-running the match
        per rowid, which would recount every phrase's matches each time; a JSON list has no variable limit)."""
        dialect = self.conn.dialect
        only = f"AND {dialect.in_list(dialect.unindexed('rowid'))} " if among else ""
        sql = (
            "SELECT rowid, -bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? "
            f"AND rowid NOT IN ({hidden}) {only}ORDER BY bm25(memories_fts) LIMIT ?"
        )
        listed = [dialect.list_param(among)] if among else []
        return [(r[0], r[1]) for r in self.conn.execute(sql, [match, *listed, limit])]

    def _bm25_pruned(self, match: str, hidden: str, limit: int) -> list[tuple[int, float]] | None:
        """The same rows and scores as `_bm25`, scoring only rows that can make the top `limit` (MaxScore's exact
        early stop); None when it does not pay or cannot be proved, for an OR of phrases some of which are common.

        A phrase adds less than idf * (k1 + 1) to a row's score. The rows matching the rare phrases, scored on
        those alone, give a floor under the true limit-th score (the common phrases only add). If the common
        phrases' bounds sum below it, no row matching only common phrases can enter, nor a rare row whose partial
        score plus that sum stays below it; FTS5 then scores the remaining few in full, with every phrase.
        """
        phrases = _PHRASE.findall(match)
        if len(phrases) < 2 or " OR ".join(phrases) != match:
            return None
        hits = [self._matches(phrase) for phrase in phrases]
        rows = self.conn.execute("SELECT max(id) FROM memories").fetchone()[0] or 0  # >= FTS5's row count
        common = [i for i, n in enumerate(hits) if n * PRUNE_SHARE > rows]
        rare = [phrases[i] for i in range(len(phrases)) if i not in common]
        rare_hits = sum(hits) - sum(hits[i] for i in common)
        if not common or not rare or rare_hits < limit or rare_hits * PRUNE_GAIN > max(hits):
            return None  # nothing common to skip, too few rare rows to fill the top, or too many to gain
        bounds = sum((BM25_K1 + 1) * max(math.log((rows - hits[i] + 0.5) / (hits[i] + 0.5)), 1e-6) for i in common)
        with contextlib.closing(self.conn.cursor()) as cursor:  # closed unfinished: no snapshot left pinned
            cursor.execute(
                "SELECT rowid, -bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? "
                f"AND rowid NOT IN ({hidden}) ORDER BY bm25(memories_fts)",
                [" OR ".join(rare)],
            )
            best = list(itertools.islice(cursor, limit))
            floor = best[-1][1] if len(best) == limit else math.inf
            slack = bounds + PRUNE_MARGIN * max(1.0, abs(floor))
            if slack >= floor:
                return None  # too few rare rows, or the common phrases could still lift a row above the floor
            close = itertools.takewhile(lambda row: row[1] + slack >= floor, cursor)
            kept = [i for i, _ in best] + [i for i, _ in close]
        return self._bm25(match, hidden, limit, kept)

    def _matches(self, phrase: str) -> int:
        """How many rows match the phrase: the count FTS5's bm25() turns into its idf."""
        return self.conn.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?", [phrase]).fetchone()[0]
