"""What a learned ranking trains on (issue 23): labelled examples (recall, memory, label, weight) read from the
behaviour store, never from the position a result was shown at alone (docs/ARCHITECTURE.md, "Behaviour").

Positive: `helpful` feedback; a use (opened, updated, cited by a memory the same agent wrote soon after) of what
a recall showed. Negative: unhelpful feedback; a skip — shown above the lowest-ranked positive and not used
(Joachims, 2002). Explicit feedback overrides a use or a skip of the same result (the latest feedback wins).
Position bias: a positive is weighted by 1/θ(rank), the inverse of the chance a result at its rank is looked at
(clipped at MAX_WEIGHT), a skip by θ(rank). θ is estimated from the log itself, with no randomisation of what
users see: the position-based click model P(use) = θ(rank)·γ(query, memory) fitted by EM (Wang et al., WSDM 2018)
on the (query, memory) pairs shown at two or more ranks, which a store's shifting ranking and agents' repeated
queries make on their own (intervention harvesting, Agarwal et al., WSDM 2019); below MIN_EVIDENCE such
impressions the prior θ(r) = 1/r stands in. Feedback and uses by a principal whose trust is below LOW_TRUST are
left out, and so is an agent's `helpful` on a memory it wrote (by principal, or by name after an import).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from slm.storage.behavior import BehaviorRepository, FeedbackRow, RecallRow
from slm.storage.memories import MemoryRepository
from slm.trust import model as trust_model
from slm.trust.ledger import TrustLedger, principal_of

LOW_TRUST = 0.25  # below a fresh claimed name's 1/3 and a fresh authenticated agent's 1/2: trust lost, not earned
MAX_WEIGHT = 10.0  # inverse propensities are clipped here: one use at rank 40 must not outweigh a hundred at the top
MIN_EVIDENCE = 200  # impressions of pairs shown at ≥ 2 ranks before the estimate replaces the prior curve
PRIOR_STRENGTH = 5.0  # pseudo-impressions of the prior curve at each rank: a rank seen rarely keeps near 1/r
EM_ITERATIONS = 100
POSITIVE_KINDS = ("helpful", "get", "update", "cite")
NEGATIVE_KINDS = ("unhelpful", "skip")


@dataclass(frozen=True)
class Propensities:
    """How likely a result at each rank (1 = first) is to be looked at, relative to the first."""

    by_rank: tuple[float, ...]
    estimated: bool  # False: the prior curve 1/rank, for want of evidence
    evidence: int  # the impressions the estimate rests on

    def at(self, rank: int) -> float:
        return self.by_rank[rank - 1] if rank <= len(self.by_rank) else 1.0 / rank


@dataclass(frozen=True)
class Example:
    """One labelled result: `label` 1 (relevant) or 0, `weight` its position-bias correction."""

    recall_id: int | None  # None: feedback no recent recall of the agent's showed
    memory_id: int
    label: int
    weight: float
    rank: int | None  # where the recall showed it (1 = first)
    kinds: tuple[str, ...]  # the signals behind it: helpful, get, update, cite; unhelpful, skip
    query: str | None
    agent: str
    time: str


@dataclass(frozen=True)
class Signals:
    examples: list[Example]
    propensities: Propensities
    left_out: dict[str, int] = field(default_factory=dict)  # low_trust, self_endorsement: signals not trained on


def query_key(query: str) -> str:
    """Queries asked again in other words of case and spacing are the same query."""
    return re.sub(r"\s+", " ", query.strip().lower())


def prior_propensities(max_rank: int) -> Propensities:
    return Propensities(tuple(1.0 / r for r in range(1, max_rank + 1)), estimated=False, evidence=0)


def estimate_propensities(impressions: Iterable[tuple[str, int, int, bool]], max_rank: int) -> Propensities:
    """θ(rank) from (query key, memory id, rank, used) impressions, by EM on the position-based click model over
    the (query, memory) pairs shown at two or more ranks; the prior curve below MIN_EVIDENCE of those."""
    groups: dict[tuple[str, int], list[tuple[int, bool]]] = defaultdict(list)
    for query, memory_id, rank, used in impressions:
        if 1 <= rank <= max_rank:
            groups[(query, memory_id)].append((rank, used))
    moved = [seen for seen in groups.values() if len({rank for rank, _ in seen}) > 1]
    count = sum(len(seen) for seen in moved)
    prior = np.array(prior_propensities(max_rank).by_rank)
    if count < MIN_EVIDENCE:
        return Propensities(tuple(prior), estimated=False, evidence=count)
    group = np.concatenate([np.full(len(seen), g) for g, seen in enumerate(moved)])
    ranks = np.array([rank for seen in moved for rank, _ in seen]) - 1
    used = np.array([u for seen in moved for _, u in seen], dtype=float)
    per_rank = np.bincount(ranks, minlength=max_rank)
    per_group = np.bincount(group, minlength=len(moved))
    theta = prior.copy()
    gamma = np.clip(np.bincount(group, used, len(moved)) / per_group, 0.05, 0.95)
    for _ in range(EM_ITERATIONS):
        t, g = theta[ranks], gamma[group]
        unused = 1.0 - t * g
        looked = np.where(used == 1, 1.0, t * (1 - g) / unused)  # looked at (and, if unused, not relevant)
        relevant = np.where(used == 1, 1.0, (1 - t) * g / unused)  # relevant (and, if unused, not looked at)
        theta = (np.bincount(ranks, looked, max_rank) + PRIOR_STRENGTH * prior) / (per_rank + PRIOR_STRENGTH)
        gamma = (np.bincount(group, relevant, len(moved)) + 0.5) / (per_group + 1.0)
    theta = np.clip(theta / theta[0], 1e-3, 1.0)
    return Propensities(tuple(float(x) for x in theta), estimated=True, evidence=count)


def collect(
    behavior: BehaviorRepository,
    trust: TrustLedger,
    memories: MemoryRepository,
    after: int = 0,
    propensities: Propensities | None = None,
    through: int | None = None,
) -> Signals:
    """Every labelled example the behaviour store holds, weighted against position bias (module docstring). With
    `after`, only those of the recalls after that id (no unlinked feedback); with `propensities`, those weights
    instead of an estimate from the recalls read (the learner estimates them now and then, not at each update); with
    `through`, only recalls up to that id."""
    last = float("inf") if through is None else through
    recalls = [r for r in behavior.recalls_since(after) if r.id <= last]
    voices: dict[str, bool] = {}

    def heard(agent: str, agent_id: int | None, protocol: str) -> bool:
        principal = principal_of(agent, agent_id, protocol)
        if principal not in voices:
            voices[principal] = principal == trust_model.USER or trust.trust(principal) >= LOW_TRUST
        return voices[principal]

    left_out = {"low_trust": 0, "self_endorsement": 0}
    kept_recalls = {}
    for recall in recalls:
        if heard(recall.agent, recall.agent_id, recall.protocol):
            kept_recalls[recall.id] = recall
    used: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for use in behavior.uses_since(after):
        if use.recall_id > last:
            continue
        if use.recall_id in kept_recalls:
            used[use.recall_id][use.memory_id].append(use.kind)
        else:
            left_out["low_trust"] += 1
    judged: dict[int | None, dict[int, FeedbackRow]] = defaultdict(dict)
    feedback = [
        row
        for row in behavior.feedback_rows()
        if (not after or (row.recall_id or 0) > after) and (row.recall_id or 0) <= last
    ]
    own = _own(feedback, trust, memories)
    for row in feedback:
        if not heard(row.agent, row.agent_id, row.protocol):
            left_out["low_trust"] += 1
        elif row.helpful and row.id in own:
            left_out["self_endorsement"] += 1
        else:
            recall_id = row.recall_id if row.recall_id in kept_recalls else None
            judged[recall_id][row.memory_id] = row  # the latest feedback wins
    if propensities is None:
        impressions = [
            (query_key(r.query), memory_id, rank, memory_id in used[r.id] or _helpful(judged, r.id, memory_id))
            for r in kept_recalls.values()
            for rank, memory_id in enumerate(r.results, 1)
        ]
        max_rank = max((len(r.results) for r in kept_recalls.values()), default=1)
        propensities = estimate_propensities(impressions, max(max_rank, 1))
    examples = [e for r in kept_recalls.values() for e in _examples(r, used[r.id], judged[r.id], propensities)]
    examples += [
        Example(None, row.memory_id, int(row.helpful), 1.0, None, (_verdict(row),), None, row.agent, row.time)
        for row in judged[None].values()
    ]
    return Signals(examples, propensities, left_out)


def _helpful(judged: dict, recall_id: int, memory_id: int) -> bool:
    row = judged.get(recall_id, {}).get(memory_id)
    return row is not None and row.helpful


def _verdict(row: FeedbackRow) -> str:
    return "helpful" if row.helpful else "unhelpful"


def _examples(
    recall: RecallRow, used: dict[int, list[str]], judged: dict[int, FeedbackRow], propensities: Propensities
) -> list[Example]:
    """A recall's labelled results: its uses and feedback, and the skips above the lowest-ranked positive."""
    rank_of = {}
    for rank, memory_id in enumerate(recall.results, 1):
        rank_of.setdefault(memory_id, rank)
    positive = {m for m in used} | {m for m, row in judged.items() if row.helpful}
    lowest = max((rank_of[m] for m in positive if m in rank_of), default=0)
    found = []
    for memory_id, rank in rank_of.items():
        theta = propensities.at(rank)
        row = judged.get(memory_id)
        kinds = tuple(dict.fromkeys(used.get(memory_id, [])))
        if row is not None:
            label, kinds = int(row.helpful), (_verdict(row), *kinds)
        elif kinds:
            label = 1
        elif rank < lowest:
            label, kinds = 0, ("skip",)
        else:
            continue  # shown below everything used: perhaps never looked at, no evidence either way
        weight = theta if kinds == ("skip",) else min(1.0 / theta, MAX_WEIGHT)
        found.append(Example(recall.id, memory_id, label, weight, rank, kinds, recall.query, recall.agent, recall.time))
    return found


def _own(feedback: list[FeedbackRow], trust: TrustLedger, memories: MemoryRepository) -> set[int]:
    """The ids of the feedback rows an agent gave on a memory it wrote (the owner's on its own are a preference,
    and kept)."""
    helpful = [row for row in feedback if row.helpful]
    ids = sorted({row.memory_id for row in helpful})
    authors = trust.repo.memories(ids)
    names = {row.id: row.agent for row in memories.get_many(ids)}
    own = set()
    for row in helpful:
        principal = principal_of(row.agent, row.agent_id, row.protocol)
        if principal == trust_model.USER:
            continue
        author = authors.get(row.memory_id)
        if (author is not None and author.principal == principal) or names.get(row.memory_id) == row.agent:
            own.add(row.id)
    return own
