"""The candidates of one recall and what the ranker knows of each: every channel's view, its session
neighbours', the question's people and time (docs/ARCHITECTURE.md, "Recall")."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from slm.recall.query import Query, coverage, speaker_of

FEATURES = (
    "keyword_rank",  # 10 / (10 + rank) in the keyword order, 0 when BM25 did not find it
    "vector",  # best chunk cosine
    "near_keyword",  # mean BM25 (over the best) of the memories just before and after it, 0 if BM25 missed them
    "near_vector",  # mean cosine of the neighbours just before and after
    "far_vector",  # the same two steps away
    "session_vector",  # the best cosine among the other memories of its session the recall read
    "coverage",  # share of the question's content words in its text, tags and kind
    "chunks",  # ln(its number of chunks): the best of many chunks' cosines is high by chance
    "speaker",  # the question names who said it
    "in_window",  # its time is inside the window the question names
)
SESSION_FEATURES = ("near_keyword", "near_vector", "far_vector", "session_vector")
_CONTEXT = [FEATURES.index(name) for name in SESSION_FEATURES]


@dataclass
class Candidate:
    id: int
    text: str
    meta: dict
    time: str
    session: tuple[str, str] | None
    labels: str = ""  # its tags and chosen kind: words the writer used to file it


@dataclass
class Views:
    """What the channels and the store said about the candidates and their neighbours."""

    keyword: dict[int, float]  # raw BM25 of the keyword channel's matches (its best KEYWORD_DEPTH)
    keyword_order: list[int]  # the keyword channel's order
    cosine: dict[int, float]  # best chunk cosine of every candidate and neighbour with a vector
    chunks: dict[int, int]  # how many chunks each of them was embedded in
    neighbours: dict[int, list[tuple[int, int]]]  # (offset, id) in the same session
    window: tuple[str, str] | None  # the question's time window, ISO UTC


def matrix(query: Query, candidates: list[Candidate], views: Views) -> np.ndarray:
    """The feature rows of `candidates`, in FEATURES order."""
    best_keyword = max(views.keyword.values(), default=0.0) or 1.0
    keyword = {i: s / best_keyword for i, s in views.keyword.items()}.get
    keyword_rank = {i: 10 / (10 + r) for r, i in enumerate(views.keyword_order, 1)}.get
    cosine_of, neighbours, window = views.cosine.get, views.neighbours.get, views.window
    best_two = _best_two_cosines(candidates, views)
    rows = []
    for c in candidates:
        near, far = [], []
        for offset, i in neighbours(c.id, ()):
            if offset in (-1, 1):
                near.append(i)
            elif offset in (-2, 2):
                far.append(i)
        cosine = cosine_of(c.id, 0.0)
        speaker = speaker_of(c.meta)
        rows.append(
            (
                keyword_rank(c.id, 0.0),
                cosine,
                _mean([keyword(i, 0.0) for i in near]),
                _mean([cosine_of(i, 0.0) for i in near]),
                _mean([cosine_of(i, 0.0) for i in far]),
                next((cosine for cosine, i in best_two.get(c.session, ()) if i != c.id), None),
                coverage(query, f"{c.text} {c.labels}"),
                math.log(views.chunks.get(c.id, 1)),
                float(speaker is not None and speaker.split()[0] in query.names),
                float(window is not None and window[0] <= c.time <= window[1]),
            )
        )
    return _context_filled(np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES)))


def _context_filled(features: np.ndarray) -> np.ndarray:
    """A memory without neighbours (no session, or the first of one) gets the candidates' mean context for
    what it lacks: neither a bonus nor a penalty for having none, so notes without sessions and turns with
    sessions rank on the same footing."""
    for column in _CONTEXT:
        values = features[:, column]
        missing = np.isnan(values)
        values[missing] = 0.0 if missing.all() else float(values[~missing].mean())
    return features


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _best_two_cosines(candidates: list[Candidate], views: Views) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """The two best (cosine, id) of each session among the memories the recall read of it (its candidates and
    their neighbours): a member's best other is the first of them that is not itself."""
    members: dict[tuple[str, str], set[int]] = {}
    for c in candidates:
        if c.session is not None:
            ids = members.setdefault(c.session, set())
            ids.add(c.id)
            ids.update(i for _, i in views.neighbours.get(c.id, ()))
    cosine_of = views.cosine.get
    return {session: heapq.nlargest(2, ((cosine_of(i, 0.0), i) for i in ids)) for session, ids in members.items()}
