"""The learner: three weights that say how far each behavioural layer may move a result against the ranking
before learning, and the layers' evidence, updated one recall at a time in the order they were made. Each recall is
scored with what was learned before it and only then learned from (prequential, Dawid 1984), so the guard's
comparison with the ranking before learning is always on interactions the model had not seen; the learned ranking
is let in while it wins by MARGIN and backs off when it stops (docs/ARCHITECTURE.md, "Learning")."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from slm.recall.learning.preferences import Preferences
from slm.recall.learning.project_context import ProjectContext, recent_projects
from slm.recall.learning.replay import HALF_LIFE, Facts, Shown, offset
from slm.recall.learning.workflows import Workflows

LAYERS = ("preference", "project", "workflow")
MIN_EVALUATED = 30  # recalls with a use scored before the guard may let the learned ranking in
MARGIN = 0.02  # how much better (relative) it must score on them
GUARD_HALF_LIFE = 100  # the guard's memory, in scored recalls: a learner that stops helping is out within ~100
STEP = 0.3  # AdaGrad's step
RIDGE = 0.01
SESSION_CONTEXT = 5  # a recall's context: its session's latest recalls before it
DECAY_EVERY = 20  # recalls between two agings of the evidence
FORMAT = 2


@dataclass
class Guard:
    """Recency-weighted scores of recent recalls, each scored before it was learned from: as ranked before learning
    (`base`) and as the learned ranking would have ranked it (`learned`); inverse-propensity NDCG@10 of its uses."""

    base: float = 0.0
    learned: float = 0.0
    weight: float = 0.0
    scored: int = 0

    def observe(self, base: float, learned: float) -> None:
        keep = 0.5 ** (1 / GUARD_HALF_LIFE)
        self.base, self.learned = self.base * keep + base, self.learned * keep + learned
        self.weight, self.scored = self.weight * keep + 1.0, self.scored + 1

    @property
    def active(self) -> bool:
        return self.scored >= MIN_EVALUATED and self.learned > self.base * (1 + MARGIN)

    @property
    def reason(self) -> str:
        if self.scored < MIN_EVALUATED:
            return f"waiting for {MIN_EVALUATED - self.scored} more recalls with a result used"
        if self.active:
            return "beats recall without learning on your recent interactions"
        return "does not beat recall without learning on your recent interactions"

    def means(self) -> tuple[float, float]:
        return (self.base / self.weight, self.learned / self.weight) if self.weight else (0.0, 0.0)


@dataclass
class Model:
    weights: np.ndarray = field(default_factory=lambda: np.zeros(len(LAYERS)))
    squares: np.ndarray = field(default_factory=lambda: np.zeros(len(LAYERS)))  # AdaGrad's sums of squared steps
    preferences: Preferences = field(default_factory=Preferences)
    projects: ProjectContext = field(default_factory=ProjectContext)
    workflows: Workflows = field(default_factory=Workflows)
    guard: Guard = field(default_factory=Guard)
    processed: int = 0  # the last recall learned from
    trained: dict = field(default_factory=dict)

    def learn(self, batch: list[Shown], every: dict[int, Shown], facts: Facts) -> None:
        """Score, then learn from, each recall of `batch` in order (`every`: them and their sessions' earlier ones);
        the evidence ages every DECAY_EVERY recalls, so a long batch (learning afresh) weighs its old recalls less."""
        for n, r in enumerate(batch, 1):
            if r.positives:
                z = features(self, list(r.results), facts, context_of(r, every, facts))
                o = np.array([offset(rank) for rank in r.base_ranks])
                self.guard.observe(_ndcg(r, o), _ndcg(r, o + z @ self.weights))
                self._step(r, z, o)
            self.preferences.add(r, facts)
            self.projects.add(r, facts)
            self.workflows.add(r, every.get(r.previous) if r.previous is not None else None, facts)
            self.processed = r.id
            if n % DECAY_EVERY == 0 or n == len(batch):
                self._age(n - (n - 1) // DECAY_EVERY * DECAY_EVERY)

    def _age(self, recalls: int) -> None:
        factor = 0.5 ** (recalls / HALF_LIFE)
        self.preferences.decay(factor)
        self.projects.decay(factor)
        self.workflows.decay(factor)

    def _step(self, r: Shown, z: np.ndarray, o: np.ndarray) -> None:
        """One AdaGrad step on the pairwise logistic loss of the recall's (used, not used) pairs, with the ranking
        before learning as offset: w moves only as far as the layers explain what that ranking got wrong."""
        used = np.array([i in r.positives for i in r.results])
        if used.all():
            return
        gain = np.array([r.positives[i] for i in r.results if i in r.positives])
        against = 1.0 + np.array([r.negatives.get(i, 0.0) for i in r.results])[~used]
        dz = z[used][:, None, :] - z[~used][None, :, :]
        do = o[used][:, None] - o[~used][None, :]
        c = gain[:, None] * against[None, :]
        p = 1.0 / (1.0 + np.exp(-(do + dz @ self.weights)))
        gradient = np.einsum("ij,ijk->k", c * (p - 1.0), dz) / c.sum() + RIDGE * self.weights
        self.squares += gradient**2
        self.weights = np.clip(self.weights - STEP * gradient / (np.sqrt(self.squares) + 1e-8), 0.0, None)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "layers": list(LAYERS),
            "weights": [round(float(w), 6) for w in self.weights],
            "squares": [round(float(s), 6) for s in self.squares],
            "preferences": self.preferences.to_dict(),
            "projects": self.projects.to_dict(),
            "workflows": self.workflows.to_dict(),
            "guard": self.guard.__dict__,
            "processed": self.processed,
            "trained": self.trained,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Model | None:
        """The model stored; None for one another version of slm made (it is learned again from the log)."""
        if raw.get("format") != FORMAT or raw.get("layers") != list(LAYERS):
            return None
        return cls(
            np.array(raw["weights"], dtype=np.float64),
            np.array(raw["squares"], dtype=np.float64),
            Preferences.from_dict(raw["preferences"]),
            ProjectContext.from_dict(raw["projects"]),
            Workflows.from_dict(raw["workflows"]),
            Guard(**raw["guard"]),
            int(raw["processed"]),
            dict(raw.get("trained", {})),
        )


@dataclass(frozen=True)
class Context:
    """What a recall's personal features read besides its candidates."""

    query: str
    workspace: str | None
    named: str | None  # the project the caller filtered by: the project layer has nothing to add
    recent: list[str]  # projects of what the session used lately
    follows: np.ndarray | None  # signature of the session's previous recall


def features(model: Model, memory_ids: list[int], facts: Facts, context: Context) -> np.ndarray:
    """(candidates, layers): each layer's feature of each candidate."""
    if not memory_ids:
        return np.zeros((0, len(LAYERS)))
    keys = facts.query_entities(context.query)
    columns = [model.preferences.feature(memory_ids, facts, context.query, keys)]
    if context.named is None:
        likely = model.projects.distribution(context.workspace, context.recent, keys)
        columns.append(model.projects.feature(memory_ids, facts, likely))
    else:
        columns.append(np.zeros(len(memory_ids)))
    columns.append(model.workflows.feature(memory_ids, facts, model.workflows.expected(context.follows)))
    return np.stack(columns, axis=1)


def context_of(r: Shown, every: dict[int, Shown], facts: Facts) -> Context:
    """The context recall `r` was asked in, as the log kept it: its session's earlier recalls."""
    chain = []
    at = every.get(r.previous) if r.previous is not None else None
    while at is not None and len(chain) < SESSION_CONTEXT:
        chain.append(at)
        at = every.get(at.previous) if at.previous is not None else None
    follows = facts.signature(chain[0].results) if chain else None
    return Context(r.query, r.workspace, r.named, recent_projects(chain[::-1], facts), follows)


def _ndcg(r: Shown, scores: np.ndarray) -> float:
    """Inverse-propensity NDCG@10 of `r`'s used results when its results are ordered by `scores` (Joachims et al.,
    WSDM 2017): an unbiased estimate of how well that order would have served the recall."""
    order = np.argsort(-scores, kind="stable")
    rank = {r.results[n]: position for position, n in enumerate(order, 1)}
    gains = sorted(r.positives.values(), reverse=True)
    ideal = sum(g / math.log2(1 + n) for n, g in enumerate(gains[:10], 1))
    got = sum(g / math.log2(1 + rank[i]) for i, g in r.positives.items() if rank.get(i, 99) <= 10)
    return got / ideal if ideal else 0.0
