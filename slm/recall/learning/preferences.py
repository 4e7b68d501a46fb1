"""Layer 1, technology and tool preferences: the entities the user's used results favour over those shown beside
them and passed over (pytest over unittest), across projects; applied where a question is about doing or choosing
and does not itself name one of them."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from slm.recall.learning.replay import Facts, Shown

KINDS = frozenset({"technology", "name", "identifier", "path", "organization", "url"})  # not people, places, dates
TOLD = frozenset({"technology", "name", "organization"})  # what a user is told of: not tickets, paths, links
PRIOR = 4.0  # pseudo-observations at the overall rate: an entity seen in a few results has no preference yet
MIN_SUPPORT = 3.0  # (weighted) labelled results an entity must appear in
STRONG = 0.5  # a preference this strong is one the user can be told of, and one a question can override
CLIP = 3.0
RIVALS = 0.3  # share of their recalls two entities must share to be rivals
FORGOTTEN = 0.05  # evidence below this is dropped
_NOT_DOING = re.compile(r"^\s*(who|whom|whose|when|what time|what date|which day)\b", re.IGNORECASE)


@dataclass
class Preferences:
    """Recency-weighted evidence per entity: how much its results were used, and passed over."""

    used: dict[str, float] = field(default_factory=dict)
    passed: dict[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    _base: tuple[float, float] | None = field(default=None, init=False, repr=False, compare=False)  # rate, log-odds

    def add(self, r: Shown, facts: Facts) -> None:
        for labelled, into in ((r.positives, self.used), (r.negatives, self.passed)):
            for memory_id, weight in labelled.items():
                for key, name, kind in facts.entities.get(memory_id, ()):
                    if kind in KINDS:
                        into[key] = into.get(key, 0.0) + weight
                        self.names.setdefault(key, name)
                        self.kinds.setdefault(key, kind)
        self._base = None

    def decay(self, factor: float) -> None:
        for counts in (self.used, self.passed):
            for key in list(counts):
                counts[key] *= factor
        for key in [k for k in self.names if self.used.get(k, 0.0) + self.passed.get(k, 0.0) < FORGOTTEN]:
            self.used.pop(key, None), self.passed.pop(key, None), self.names.pop(key), self.kinds.pop(key, None)
        self._base = None

    def score(self, key: str) -> float:
        """The entity's log-odds of use against the overall rate; 0 until it was seen in MIN_SUPPORT results."""
        u, p = self.used.get(key, 0.0), self.passed.get(key, 0.0)
        if u + p < MIN_SUPPORT:
            return 0.0
        if self._base is None:
            total_used, total_passed = sum(self.used.values()), sum(self.passed.values())
            if not total_used or not total_passed:
                self._base = (0.0, 0.0)
            else:
                rate = total_used / (total_used + total_passed)
                self._base = (rate, math.log(rate / (1 - rate)))
        rate, base = self._base
        return math.log((u + PRIOR * rate) / (p + PRIOR * (1 - rate))) - base if rate else 0.0

    @property
    def scores(self) -> dict[str, float]:
        """Every entity's score that is not 0."""
        return {k: s for k in self.names if (s := self.score(k))}

    def applies(self, query: str, query_keys: frozenset[str]) -> bool:
        """Not for who/when questions, nor where the question names a technology it has a preference on."""
        if not self.names or _NOT_DOING.search(query):
            return False
        return not any(abs(self.score(k)) >= STRONG for k in query_keys)

    def feature(self, memory_ids: list[int], facts: Facts, query: str, query_keys: frozenset[str]) -> np.ndarray:
        if not self.applies(query, query_keys):
            return np.zeros(len(memory_ids))
        score = self.score
        return np.array([
            max(-CLIP, min(CLIP, sum(score(key) for key, _, _ in facts.entities.get(i, ()))))
            for i in memory_ids
        ])  # fmt: skip

    def top(self, appearances: dict[str, set[int]], count: int = 10) -> list[dict]:
        """The strongest preferences in words: each favoured entity with its rival ("pytest over unittest") when
        one was shown in most nearly the same recalls (`appearances`: entity key -> recall ids), else alone."""
        scores = self.scores
        told = {k for k in scores if self.kinds.get(k) in TOLD}
        strong = sorted((k for k in told if scores[k] >= STRONG), key=lambda k: -scores[k])[:count]
        passed = [k for k in told if scores[k] <= -STRONG and k in appearances]
        out, taken = [], set()
        for a in strong:
            mine = appearances.get(a, set())
            alike = [(len(mine & appearances[b]) / len(mine | appearances[b]), b) for b in passed if b not in taken]
            overlap, b = max(alike, default=(0.0, None))
            if b is not None and mine and overlap >= RIVALS:
                taken.add(b)
                out.append(
                    {"prefers": self.names[a], "over": self.names[b], "strength": round(scores[a] - scores[b], 2)}
                )
            else:
                out.append({"prefers": self.names[a], "over": None, "strength": round(scores[a], 2)})
        return out

    def strong(self) -> set[str]:
        return {k for k, s in self.scores.items() if abs(s) >= STRONG}

    def to_dict(self) -> dict:
        return {"used": _rounded(self.used), "passed": _rounded(self.passed), "names": self.names, "kinds": self.kinds}

    @classmethod
    def from_dict(cls, raw: dict) -> Preferences:
        return cls(dict(raw["used"]), dict(raw["passed"]), dict(raw["names"]), dict(raw["kinds"]))


def _rounded(counts: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in counts.items()}


def appearances(results: dict[int, list[int]], entities: dict[int, set[str]], keys: set[str]) -> dict[str, set[int]]:
    """For each of `keys`, the recalls (recall id -> its results) whose results name it (memory id -> entity keys)."""
    found: dict[str, set[int]] = defaultdict(set)
    for recall_id, shown in results.items():
        for i in shown:
            for key in entities.get(i, set()) & keys:
                found[key].add(recall_id)
    return found
