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


def gather(
    repo: MemoryRepository,
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
    sessions, members = repo.session_members(best)  # the expanded memories' sessions are their seeds'
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
    candidates = [_candidate(r) for r in repo.get_many(ids)]
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
