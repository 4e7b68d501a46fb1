"""Running the lifecycle over a store: fold new uses in from the behaviour database, then move every current
memory one Langevin step, all in one transaction (langevin.py has the mathematics).

A step never deletes anything: an archived memory only leaves default recall. Forgetting is not erasure.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from slm.lifecycle import langevin
from slm.storage.behavior import BehaviorRepository
from slm.storage.lifecycle import LifecycleRepository
from slm.trust.ledger import TrustLedger

SEED = "lifecycle.seed"
STEPS = "lifecycle.steps"
LAST_STEP = "lifecycle.last_step"  # days since 1970 of the last step
RECALLS_THROUGH = "lifecycle.recalls_through"  # the last behaviour-database recall folded in
FEEDBACK_THROUGH = "lifecycle.feedback_through"
STEP_EVERY_DAYS = 1 / 24  # the faces run a step after writes, or on a timer, once the last is an hour old
DEFAULT_IMPORTANCE = 0.5


@dataclass(frozen=True)
class StepReport:
    step: int
    days: float  # time since the previous step (since the oldest memory's birth for the first step)
    memories: int
    zones: dict[str, int]
    changed: dict[str, int] = field(default_factory=dict)  # "warm->cold": how many memories crossed so
    uses_folded: int = 0  # recalls and feedback read from the behaviour database
    seconds: float = 0.0
    parts_ms: dict[str, float] = field(default_factory=dict)  # where the time went (Memory adds the commit)


def days(moment: str | datetime) -> float:
    """An ISO-8601 UTC time (or an aware datetime) as days since 1970."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.timestamp() / 86400


def importance_of(meta: dict) -> float:
    """`meta["importance"]` when it is a number from 0 to 1 (the same rule as migration 0006), else 0.5."""
    value = meta.get("importance")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return DEFAULT_IMPORTANCE


def due(repo: LifecycleRepository, now: float) -> bool:
    """The last step is an hour old, or lies in the future (a replay with `--now`): then step from now on."""
    last = repo.get_number(LAST_STEP, -np.inf)
    return now - last >= STEP_EVERY_DAYS or last > now


def fold_uses(repo: LifecycleRepository, behavior: BehaviorRepository | None) -> int:
    """Recalls (a hit at rank i is 1/i of a use) and helpful feedback (HELPFUL_USES) since the last step.

    Only a whole use (a recall's top hit, a helpful mark) moves a memory's last use: the activation counts the
    last use at full weight, and the nine others a recall returned beside its answer were not used.
    """
    if behavior is None:
        return 0
    last_recall, last_feedback = behavior.last_ids()
    recalls = behavior.recalls_after(_watermark(repo, RECALLS_THROUGH, last_recall))
    feedback = behavior.feedback_after(_watermark(repo, FEEDBACK_THROUGH, last_feedback))
    uses: dict[int, tuple[float, float | None]] = {}
    for _, when, results in recalls:
        for rank, memory_id in enumerate(json.loads(results), start=1):
            _add_use(uses, memory_id, 1 / rank, days(when))
    for _, when, memory_id, helpful in feedback:
        if helpful:
            _add_use(uses, memory_id, langevin.HELPFUL_USES, days(when))
    repo.use(uses)
    if recalls:
        repo.set_numbers({RECALLS_THROUGH: recalls[-1][0]})
    if feedback:
        repo.set_numbers({FEEDBACK_THROUGH: feedback[-1][0]})
    return len(recalls) + len(feedback)


def _watermark(repo: LifecycleRepository, key: str, last_id: int) -> int:
    """The last row folded in; 0 if the behaviour database was erased since (its ids started again)."""
    through = int(repo.get_number(key, 0))
    return through if through <= last_id else 0


def _add_use(uses: dict[int, tuple[float, float | None]], memory_id: int, weight: float, when: float) -> None:
    count, last = uses.get(memory_id, (0.0, None))
    if weight >= 1:
        last = when if last is None else max(last, when)
    uses[memory_id] = (count + weight, last)


def step(repo: LifecycleRepository, ledger: TrustLedger, behavior: BehaviorRepository | None, now: float) -> StepReport:
    """One step for every current memory, from the last step's time to `now`; call inside a write transaction.
    The report says where the time went (`parts_ms`), so that benchmarks time the real step, not a copy."""
    lap = _Laps()
    folded = fold_uses(repo, behavior)
    lap("fold_uses")
    states = repo.states()
    lap("read_states")
    trust = ledger.trust_array(states.ids)
    lap("trust")
    number = int(repo.get_number(STEPS, 0)) + 1
    last = repo.get_number(LAST_STEP, -np.inf)
    elapsed = np.maximum(now - np.maximum(states.born, last), 0.0)  # a memory moves from its birth or the last step
    features = langevin.Features(
        born=states.born,
        uses=states.uses,
        last_used=states.last_used,
        importance=states.importance,
        trust=trust,
        corroborations=states.corroborations,
    )
    rng = langevin.rng_for(int(repo.get_number(SEED, 0)), number)
    positions = langevin.step(states.position, langevin.target(features, now), elapsed, rng)
    before, after = langevin.zone_of(states.position), langevin.zone_of(positions)
    lap("langevin")
    repo.save(states.ids, positions, after)
    repo.set_numbers({STEPS: number, LAST_STEP: now})
    lap("write_positions")
    moved = before != after
    crossings = [f"{a}->{b}" for a, b in zip(before[moved].tolist(), after[moved].tolist(), strict=True)]
    return StepReport(
        step=number,
        days=float(elapsed.max(initial=0.0)),
        memories=len(states.ids),
        zones=_counts(after.tolist()),
        changed=_counts(crossings),
        uses_folded=folded,
        seconds=lap.total(),
        parts_ms=lap.parts,
    )


class _Laps:
    """Milliseconds per named part of a step, each from the end of the previous one."""

    def __init__(self) -> None:
        self.began = self.last = time.perf_counter()
        self.parts: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.parts[name] = round((now - self.last) * 1000, 2)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.began


def _counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
