"""Layer 3, workflow patterns: what is needed after what. Within a session, a recall that follows another is
linked to it: the earlier one's signature (what its results were about) leads to what the later one used. Links
whose signatures fall in the same bucket (random-hyperplane hashing, so grouping costs one product per link) are
one pattern; a recall that follows a signature near a pattern's favours what such recalls went on to use (after a
deploy question, the rollback runbook), found by meaning, so memories never used before qualify too."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import numpy as np

from slm.recall.learning.replay import Facts, Shown

BITS = 10  # hyperplanes: signatures whose signs all agree share a bucket
MATCH = 0.75  # a recall follows a pattern when its predecessor's signature is this close to the pattern's
SHARPNESS = 0.05  # patterns nearer the predecessor weigh exponentially more
MAX_PATTERNS = 128
EXAMPLES = 3  # memories kept per pattern to show what it leads to
FORGOTTEN = 0.05
_SEED = 23


@dataclass
class Pattern:
    before: np.ndarray  # weighted sum of the earlier recalls' signatures
    after: np.ndarray  # weighted sum of what was used next
    weight: float
    query: str  # an earlier question of this pattern, to show it
    leads_to: dict[int, float]  # memories used next, with their weight (the EXAMPLES heaviest kept)


@dataclass
class Workflows:
    patterns: dict[int, Pattern] = field(default_factory=dict)  # bucket -> pattern
    _matrix: tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]] | None = field(
        default=None, init=False, repr=False
    )  # unit befores, unit afters, weights, row of each bucket

    def add(self, r: Shown, before: Shown | None, facts: Facts) -> None:
        """Link `r`'s uses to the recall before it in its session."""
        if before is None or not r.positives:
            return
        signature = facts.signature(before.results)
        used = [(i, w) for i, w in r.positives.items() if i in facts.vectors]
        if signature is None or not used:
            return
        bucket = _bucket(signature)
        weight = sum(w for _, w in used)
        after = sum(w * facts.vectors[i] for i, w in used)
        found = self.patterns.get(bucket)
        if found is None:
            self.patterns[bucket] = found = Pattern(weight * signature, after, weight, before.query, dict(used))
            self._matrix = None
        else:
            found.before = found.before + weight * signature
            found.after = found.after + after
            found.weight += weight
            for i, w in used:
                found.leads_to[i] = found.leads_to.get(i, 0.0) + w
            found.leads_to = dict(sorted(found.leads_to.items(), key=lambda item: -item[1])[:EXAMPLES])
        if self._matrix is not None:  # one row changed: update it, not the whole matrix
            befores, afters, weights, row = self._matrix
            n = row[bucket]
            befores[n], afters[n], weights[n] = _unit(found.before), _unit(found.after), found.weight

    def decay(self, factor: float) -> None:
        for p in self.patterns.values():
            p.before, p.after, p.weight = p.before * factor, p.after * factor, p.weight * factor
            p.leads_to = {i: w * factor for i, w in p.leads_to.items()}
        kept = sorted(
            (b for b, p in self.patterns.items() if p.weight >= FORGOTTEN), key=lambda b: -self.patterns[b].weight
        )
        self.patterns = {b: self.patterns[b] for b in kept[:MAX_PATTERNS]}
        self._matrix = None

    def expected(self, signature: np.ndarray | None) -> np.ndarray | None:
        """The direction of what usually comes next after a recall about `signature`; None if no pattern fits."""
        if signature is None or not self.patterns:
            return None
        if self._matrix is None:
            buckets = list(self.patterns)
            self._matrix = (
                _rows(np.stack([self.patterns[b].before for b in buckets])),
                _rows(np.stack([self.patterns[b].after for b in buckets])),
                np.array([self.patterns[b].weight for b in buckets]),
                {b: n for n, b in enumerate(buckets)},
            )
        befores, afters, weights, _ = self._matrix
        close = befores @ signature
        best = float(close.max())
        if best < MATCH:
            return None
        pull = np.exp((close - best) / SHARPNESS) * (close >= MATCH) * weights
        direction = pull @ afters
        norm = float(np.linalg.norm(direction))
        return direction / norm if norm else None

    def feature(self, memory_ids: list[int], facts: Facts, next_direction: np.ndarray | None) -> np.ndarray:
        if next_direction is None:
            return np.zeros(len(memory_ids))
        return np.array([
            float(v @ next_direction) if (v := facts.vectors.get(i)) is not None else 0.0 for i in memory_ids
        ])  # fmt: skip

    def described(self, count: int = 5) -> list[tuple[str, list[int], float]]:
        """The heaviest patterns: (an earlier question, the memories most used next, weight)."""
        ordered = sorted(self.patterns.values(), key=lambda p: -p.weight)[:count]
        return [(p.query, list(p.leads_to), round(p.weight, 2)) for p in ordered]

    def to_dict(self) -> dict:
        return {str(b): {"before": _pack(p.before), "after": _pack(p.after), "weight": round(p.weight, 4),
                         "query": p.query, "leads_to": {str(i): round(w, 4) for i, w in p.leads_to.items()}}
                for b, p in self.patterns.items()}  # fmt: skip

    @classmethod
    def from_dict(cls, raw: dict) -> Workflows:
        return cls({
            int(b): Pattern(_unpack(p["before"]), _unpack(p["after"]), float(p["weight"]), p["query"],
                            {int(i): float(w) for i, w in p["leads_to"].items()})
            for b, p in raw.items()
        })  # fmt: skip


_PLANES: dict[int, np.ndarray] = {}


def _bucket(signature: np.ndarray) -> int:
    planes = _PLANES.get(len(signature))
    if planes is None:
        planes = _PLANES.setdefault(len(signature), np.random.default_rng(_SEED).normal(size=(len(signature), BITS)))
    bits = (signature @ planes) > 0
    return int(bits @ (1 << np.arange(BITS)))


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def _rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def _pack(v: np.ndarray) -> str:
    return base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64)
