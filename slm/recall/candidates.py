"""The memories a recall considers: the best of the keyword and vector channels and the session neighbours of
the very best, with everything the features read about them and their neighbours, in a few queries."""

from __future__ import annotations

import numpy as np

from slm.recall.features import Candidate, Views
from slm.recall.query import Query
from slm.storage.memories import MemoryFilter, MemoryRepository, MemoryRow, neighbours_in
from slm.validation import DEFAULT_KIND

POOL = 40  # candidates from each searching channel
KEYWORD_DEPTH = 200  # BM25 matches read: neighbours outside them count 0 (exact scores cost a full FTS5 match)
EXPAND = 20  # the session neighbours of each channel's best EXPAND join the candidates
WIDTH = 2  # neighbours each way


class Reads:
    """What `gather` reads of the store for one recall, each row read once: the vector channel's side can be read
    while BM25 still runs in its thread (`read_ahead`), leaving only the keyword side's rows for after it."""

    def __init__(self, repo: MemoryRepository) -> None:
        self.repo = repo
        self._sessions: dict[int, tuple[str, str] | None] = {}
        self._members: dict[tuple[str, str], list[int]] = {}
        self._rows: dict[int, MemoryRow | None] = {}

    def read_ahead(self, ids: list[int]) -> None:
        self.session_members(ids)
        self.get_many(ids)

    def session_members(self, ids: list[int]) -> tuple[dict[int, tuple[str, str]], dict[tuple[str, str], list[int]]]:
        """As `MemoryRepository.session_members`: the sessions of `ids` said in one, and (at least) their members."""
        new = [i for i in dict.fromkeys(ids) if i not in self._sessions]
        found = self.repo.sessions_of(new) if new else {}
        self._sessions.update({i: found.get(i) for i in new})
        sessions = {i: key for i in ids if (key := self._sessions[i]) is not None}
        keys = set(sessions.values()) - self._members.keys()
        self._members.update({key: [] for key in keys} | self.repo.members_of(keys))
        return sessions, self._members

    def get_many(self, ids: list[int]) -> list[MemoryRow]:
        """As `MemoryRepository.get_many`: the rows of `ids` in that order, unknown ids skipped."""
        new = [i for i in dict.fromkeys(ids) if i not in self._rows]
        found = {row.id: row for row in self.repo.get_many(new)} if new else {}
        self._rows.update({i: found.get(i) for i in new})
        return [row for i in ids if (row := self._rows[i]) is not None]


def gather(
    reads: Reads,
    index,
    query: Query,
    query_vector: np.ndarray,
    keyword_hits: list[tuple[int, float]],
    vector_hits: list[tuple[int, float]],
    flt: MemoryFilter,
    window: tuple[str, str] | None,
    pool: int = POOL,
) -> tuple[list[Candidate], Views]:
    keyword_order = [i for i, _ in keyword_hits]
    vector_order = [i for i, _ in vector_hits]
    best = list(dict.fromkeys(keyword_order[:pool] + vector_order[:pool]))
    repo = reads.repo
    sessions, members = reads.session_members(best)  # the expanded memories' sessions are their seeds'
    seeds = [i for i in dict.fromkeys(keyword_order[:EXPAND] + vector_order[:EXPAND]) if i in sessions]
    around = neighbours_in({i: sessions[i] for i in seeds}, members, WIDTH)
    expanded = [i for i in dict.fromkeys(n for i in seeds for _, n in around[i]) if i not in sessions]
    if expanded and not flt.is_empty:
        allowed = repo.filter_ids(expanded, flt)
        expanded = [i for i in expanded if i in allowed]
    for i in seeds:
        sessions |= {n: sessions[i] for _, n in around[i] if n not in sessions}
    ids = best + expanded
    neighbours = neighbours_in({i: sessions[i] for i in ids if i in sessions}, members, WIDTH)
    if not flt.is_empty:
        allowed = repo.filter_ids(list({n for pairs in neighbours.values() for _, n in pairs}), flt)
        neighbours = {i: [(o, n) for o, n in pairs if n in allowed] for i, pairs in neighbours.items()}
    known = list(dict.fromkeys(ids + [n for pairs in neighbours.values() for _, n in pairs]))
    cosine, chunks = index.cosines(query_vector, known)
    candidates = [_candidate(r) for r in reads.get_many(ids)]
    views = Views(
        keyword=dict(keyword_hits),
        keyword_order=keyword_order,
        cosine=cosine,
        chunks=chunks,
        neighbours=neighbours,
        window=window,
    )
    return candidates, views


def _candidate(row: MemoryRow) -> Candidate:
    labels = " ".join([*row.tags, row.kind if row.kind != DEFAULT_KIND else ""])
    session = (row.project, row.session) if row.session else None
    return Candidate(row.id, row.content, row.meta, row.event_time or row.created_at, session, labels)
