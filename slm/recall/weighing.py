"""What moves a memory down the order after ranking: its trust, its lifecycle position, and later facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from slm.lifecycle import langevin
from slm.trust import model as trust_model

if TYPE_CHECKING:
    from slm.recall.hits import Fused


CAPTURED_WEIGHT = 0.98  # a captured memory falls one place below a note of equal relevance (1/61 vs 1/62)
CAPTURED_TAG = "captured"


@dataclass(frozen=True)
class Standing:
    """What moves a memory down the order after fusion: its trust and its lifecycle position."""

    trust: float = 1.0
    position: float = 0.0
    hidden: bool = False  # quarantined or archived, and not asked for
    by_trust: bool = True  # whether trust weighs (recall(trust=False) reports it but ranks without it)
    by_use: bool = True  # whether the lifecycle weighs (recall(lifecycle=False) likewise)
    current: bool = True  # what it says still holds (reported; `before_successors` orders by it)
    zone: str = ""  # its lifecycle zone, from `position` unless given (`zones` finds many in one numpy call)
    captured: bool = False  # stored by a capture hook, not written by anyone on purpose

    def __post_init__(self) -> None:
        if not self.zone:
            object.__setattr__(self, "zone", zones([self.position])[0])

    @property
    def weight(self) -> float:
        trust = trust_model.rank_weight(self.trust) if self.by_trust else 1.0
        captured = CAPTURED_WEIGHT if self.captured else 1.0
        return trust * captured * (float(langevin.rank_weight(self.position)) if self.by_use else 1.0)


def zones(positions: list[float]) -> list[str]:
    """The lifecycle zones of these positions: one numpy call costs what one per memory did (~40 µs loaded)."""
    return langevin.zone_of(np.array(positions, dtype=np.float64)).tolist()


UNWEIGHED = Standing()


def weigh(fused: Fused, standing_of: Callable[[list[int]], dict[int, Standing]], k: int) -> tuple[Fused, dict]:
    """The best k after multiplying each fused score by its memory's weight (trust, then lifecycle), so that a
    distrusted or long-unused memory falls below others in the order; hidden memories are left out. Memories
    without a standing count as trusted and active. Also returns the standings read.

    A weight is at most 1, so a memory can only fall: standings are read for the leading candidates, in growing
    slices, until k weighed ones score above the next unread candidate's fused score — usually 2k reads, not the
    whole fused list.
    """
    standings: dict[int, Standing] = {}
    weighed: Fused = []
    start, size = 0, max(2 * k, 20)
    while start < len(fused):
        chunk = fused[start : start + size]
        standings |= standing_of([memory_id for memory_id, _, _ in chunk])
        for memory_id, score, channels in chunk:
            standing = standings.get(memory_id, UNWEIGHED)
            if not standing.hidden:
                weighed.append((memory_id, score * standing.weight, channels))
        weighed.sort(key=lambda item: (-item[1], item[0]))
        start, size = start + size, size * 2
        if start < len(fused) and len(weighed) >= k and weighed[k - 1][1] > fused[start][1]:
            break
    return weighed[:k], standings


def before_successors(fused: Fused, successors: dict[int, set[int]]) -> Fused:
    """The same hits with every superseded memory moved just below the lowest memory in the list that superseded
    it (its score capped at that one's), so an update outranks the fact it replaced. A global weight on history
    instead cost 0.009 NDCG@10 on LongMemEval (docs/benchmarks.md): it also sank old facts nothing replaced in
    the results."""
    order = list(fused)
    for _ in range(len(order)):  # each pass settles at least one memory; cycles cannot keep it going longer
        place = {memory_id: i for i, (memory_id, _, _) in enumerate(order)}
        moves = [
            (i, max(place[n] for n in later))
            for memory_id, i in place.items()
            if (later := [n for n in successors.get(memory_id, ()) if place.get(n, -1) > i])
        ]
        if not moves:
            break
        old, below = moves[0]
        memory_id, score, channels = order.pop(old)
        order.insert(below, (memory_id, min(score, order[below - 1][1]), channels))
    return order
