"""Keyword search on SQLite: FTS5's MATCH over `memories_fts` and FTS5's own BM25, with an exact early stop.

The memories repository decides which rows a search may return (filters, hidden versions) and asks this index
for the ranking; a PostgreSQL store (issue 24) brings its own index with the same two methods.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re

from slm.storage import maxscore

_PHRASE = re.compile(r'"[^"]*"')


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
        """The same rows and scores as `_bm25`, scoring only rows that can make the top `limit` (`maxscore`'s exact
        early stop: FTS5 then scores the remaining few in full, with every phrase); None when it does not pay or
        cannot be proved, for an OR of phrases some of which are common."""
        phrases = _PHRASE.findall(match)
        if len(phrases) < 2 or " OR ".join(phrases) != match:
            return None
        hits = [self._matches(phrase) for phrase in phrases]
        rows = self.conn.execute("SELECT max(id) FROM memories").fetchone()[0] or 0  # >= FTS5's row count
        split = maxscore.split(hits, rows, limit)
        if split is None:
            return None
        common, rare = split
        with contextlib.closing(self.conn.cursor()) as cursor:  # closed unfinished: no snapshot left pinned
            cursor.execute(
                "SELECT rowid, -bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? "
                f"AND rowid NOT IN ({hidden}) ORDER BY bm25(memories_fts)",
                [" OR ".join(phrases[i] for i in rare)],
            )
            best = list(itertools.islice(cursor, limit))
            floor = best[-1][1] if len(best) == limit else math.inf
            slack = maxscore.slack(hits, rows, common, floor)
            if slack >= floor:
                return None  # too few rare rows, or the common phrases could still lift a row above the floor
            close = itertools.takewhile(lambda row: row[1] + slack >= floor, cursor)
            kept = [i for i, _ in best] + [i for i, _ in close]
        return self._bm25(match, hidden, limit, kept)

    def _matches(self, phrase: str) -> int:
        """How many rows match the phrase: the count FTS5's bm25() turns into its idf."""
        return self.conn.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?", [phrase]).fetchone()[0]
