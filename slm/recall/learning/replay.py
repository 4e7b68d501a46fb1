"""The behaviour log as the learner replays it: each recall with what it showed, in which context, and what of it
was used or judged (`signals.collect`), and what the store says of the memories it names."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from slm.recall.signals import Example
from slm.storage.behavior import RecallRow

LINK_WINDOW = timedelta(minutes=30)  # a recall follows the one before it in its session when asked this soon after
HALF_LIFE = 100  # recalls: evidence this many recalls old weighs half, so a changed taste is followed within ~200
SIGNATURE = 5  # a recall's signature is the mean vector of its first five results


@dataclass(frozen=True)
class Shown:
    """One recorded recall: its results in the order shown, the rank each had before any personal re-ranking, and
    the labelled ones (positives and negatives, weighted against position bias)."""

    id: int
    time: str
    query: str
    session: str | None
    workspace: str | None  # the project the caller worked in, when it named none to filter by
    named: str | None  # the project it filtered by
    results: tuple[int, ...]
    base_ranks: tuple[int, ...]
    positives: dict[int, float] = field(default_factory=dict)
    negatives: dict[int, float] = field(default_factory=dict)
    previous: int | None = None  # the session's recall just before it, within LINK_WINDOW


@dataclass
class Facts:
    """What the store says of memories: project, entities (key, name, kind), vector (unit, first chunk)."""

    projects: dict[int, str]
    entities: dict[int, tuple[tuple[str, str, str], ...]]
    vectors: dict[int, np.ndarray]
    query_entities: Callable[[str], frozenset[str]]  # entity keys a question names
    _signatures: dict[tuple[int, ...], np.ndarray | None] = field(default_factory=dict, repr=False)

    def signature(self, memory_ids: tuple[int, ...] | list[int]) -> np.ndarray | None:
        """The unit mean vector of the first SIGNATURE of `memory_ids` that have one: what a recall was about."""
        key = tuple(memory_ids[:SIGNATURE])
        if key not in self._signatures:
            found = [v for i in key if (v := self.vectors.get(i)) is not None]
            total = np.sum(found, axis=0) if found else None
            norm = float(np.linalg.norm(total)) if found else 0.0
            self._signatures[key] = total / norm if norm else None
        return self._signatures[key]


def replay(recalls: list[RecallRow], examples: list[Example]) -> list[Shown]:
    """The recalls oldest first, each with its labelled examples and its session's previous recall."""
    positives: dict[int, dict[int, float]] = {}
    negatives: dict[int, dict[int, float]] = {}
    for e in examples:
        if e.recall_id is not None:
            (positives if e.label else negatives).setdefault(e.recall_id, {})[e.memory_id] = e.weight
    ordered = sorted(recalls, key=lambda r: r.id)
    last_in_session: dict[str, RecallRow] = {}
    out = []
    for r in ordered:
        before = last_in_session.get(r.session) if r.session else None
        previous = before.id if before is not None and _within(before.time, r.time) else None
        if r.session:
            last_in_session[r.session] = r
        ranks = tuple(r.base_ranks) if r.base_ranks else tuple(range(1, len(r.results) + 1))
        out.append(
            Shown(
                r.id, r.time, r.query, r.session, r.workspace, r.project, tuple(r.results), ranks,
                positives.get(r.id, {}), negatives.get(r.id, {}), previous,
            )
        )  # fmt: skip
    return out


def _within(before: str, after: str) -> bool:
    try:
        return (
            datetime.fromisoformat(after.replace("Z", "+00:00")) - datetime.fromisoformat(before.replace("Z", "+00:00"))
            <= LINK_WINDOW
        )
    except ValueError:
        return False


def offset(rank: int) -> float:
    """What the ranking before learning says of a result at `rank`: the learned layers must outweigh it to move it."""
    return -math.log(rank)
