"""Bayesian trust: a Beta(alpha, beta) posterior per principal, decaying evidence, a change-point detector.

Trust is the posterior mean alpha / (alpha + beta). Evidence is what the signals added on top of the prior; before
each update it is discounted by GAMMA per unit of the new signal's weight and halved every HALF_LIFE_DAYS, so the
last ~1 / (1 - GAMMA) units of evidence dominate and an agent cannot bank good behaviour for ever. A one-sided
CUSUM on the signal stream (Page, 1954) detects a shift towards bad behaviour: it adds each signal's bad weight
(zero for a good signal) less a slack, and when it passes CUSUM_ALARM, most of the good evidence is dropped at
once, so a sleeper that behaved for months and then turns loses its trust within a few writes instead of slowly.
Good signals only wear the statistic down by the slack: praise for a sleeper's old memories cannot hide a run of
bad new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAMMA = 0.97  # evidence kept per unit of new evidence: a window of ~33 units
HALF_LIFE_DAYS = 30.0  # evidence halves in a month of silence
CUSUM_SLACK = 0.25  # bad weight per signal that counts as noise; each signal, good or bad, takes this off
CUSUM_ALARM = 3.0  # two signalled instruction-like writes, or two corrections by the user, with little good between
CHANGE_KEEP = 0.1  # the share of good evidence kept at a change point
USER = "user"
USER_TRUST = 1.0  # the person who owns the store is not scored
USER_VOICE = 2.0  # ... and a signal the user raises counts double one from a fully trusted agent


@dataclass(frozen=True)
class Prior:
    alpha: float
    beta: float


PRIORS = {
    "verified": Prior(2.0, 2.0),  # an authenticated agent starts at 0.5
    "claimed": Prior(1.0, 2.0),  # a name nobody proved starts at 0.33, so it reaches quarantine sooner
}

# Signal -> evidence per occurrence (> 0 good, < 0 bad), before scaling by the trust of whoever raised it.
# `docs/ARCHITECTURE.md` explains each; the poisoning benchmark measures them.
SIGNALS = {
    "corroborated": 1.0,  # another principal wrote the same fact independently (x its trust)
    "helpful": 1.0,  # someone else marked the memory helpful after recalling it (x their trust)
    "approved": 2.0,  # the user approved it out of quarantine
    "superseded": -1.0,  # corrected by the user or a principal trusted at least as much (x their trust)
    "contradicted": -0.5,  # its claim carries most of a contradiction found by the sheaf check
    "deleted_soon": -1.0,  # deleted within a day of writing by the user or a principal trusted as much (x trust)
    "rejected": -3.0,  # the user rejected it from quarantine
    "instruction": -2.0,  # text aimed at agents ("ignore previous instructions"), from the author's 2nd flag in 30 days
    "directive": -0.5,  # a risky command (curl | sh, TLS checks off), likewise; at most once per call
    "burst": -0.5,  # each write beyond BURST_WRITES in BURST_SECONDS
    "duplicate": -0.5,  # the same or a near-identical text the principal already wrote
    "out_of_project": -0.3,  # a write outside the projects it usually writes to
}


@dataclass(frozen=True)
class Posterior:
    alpha: float
    beta: float
    drift: float = 0.0  # the CUSUM statistic
    signals: int = 0

    @property
    def trust(self) -> float:
        return self.alpha / (self.alpha + self.beta)


def standing(principal: str, trust: float) -> float:
    """What a principal's word is worth when it vouches for or judges others' memories: an authenticated agent's
    trust (the user issued its token), but for a claimed name only the trust it earned above its prior — names
    cost nothing to make, so a fresh one vouches for nothing."""
    if kind_of(principal) != "claimed":
        return trust
    floor = fresh(principal).trust
    return max(0.0, (trust - floor) / (1 - floor))


def kind_of(principal: str) -> str:
    if principal == USER:
        return "user"
    return "verified" if principal.startswith("agent:") else "claimed"


def prior_of(principal: str) -> Prior:
    return PRIORS[kind_of(principal)]


def fresh(principal: str) -> Posterior:
    prior = prior_of(principal)
    return Posterior(prior.alpha, prior.beta)


def update(posterior: Posterior, prior: Prior, weight: float, elapsed_days: float) -> tuple[Posterior, bool]:
    """The posterior after one signal of `weight`, `elapsed_days` after the last; True when it is a change point."""
    aged = 0.5 ** (max(elapsed_days, 0.0) / HALF_LIFE_DAYS)
    keep = aged * GAMMA ** abs(weight)
    good = (posterior.alpha - prior.alpha) * keep + max(weight, 0.0)
    bad = (posterior.beta - prior.beta) * keep + max(-weight, 0.0)
    drift = max(0.0, posterior.drift * aged + max(-weight, 0.0) - CUSUM_SLACK)
    changed = drift >= CUSUM_ALARM
    if changed:
        good, drift = good * CHANGE_KEEP, 0.0
    return Posterior(prior.alpha + good, prior.beta + bad, drift, posterior.signals + 1), changed


# -- memories ----------------------------------------------------------------------------------------------------
MEMORY_PRIOR = 3.0  # a memory starts as 3 pseudo-observations of its author's trust
MAX_SUPPORT = 3.0  # vouchers can add at most as much as the prior: no crowd lifts a memory on its own
QUARANTINE_BELOW = 0.2
FULL_WEIGHT_AT = 1 / 3  # trust at which recall stops down-weighting: a new unverified agent ranks in full


def memory_trust(author, support, doubt, approved):
    """Its author's trust, moved up by support (the current trust of each principal that corroborated it or
    marked it helpful) and down by doubt (instruction-like content). Numbers or numpy arrays (for a lifecycle
    step, which reads every memory's trust at once).

    Read at recall time from current trusts, so when an agent's trust collapses every memory it ever wrote, and
    every memory it vouched for, is re-scored at once.
    """
    support = np.minimum(support, MAX_SUPPORT)
    return np.where(approved, USER_TRUST, (MEMORY_PRIOR * author + support) / (MEMORY_PRIOR + support + doubt))


def quarantined(trust: float) -> bool:
    return trust < QUARANTINE_BELOW


def rank_weight(trust: float) -> float:
    """What a memory's fused relevance is multiplied by: 1 at or above FULL_WEIGHT_AT, falling linearly below."""
    return min(1.0, trust / FULL_WEIGHT_AT)
