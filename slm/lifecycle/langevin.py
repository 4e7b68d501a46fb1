"""The memory lifecycle: Riemannian Langevin dynamics in the Poincaré ball under a potential made from use.

Each memory is a signed distance x from the centre of the ball (the centre "in use", the boundary "forgotten"),
pulled toward a target ρ* = softplus(RHO_0 − A) by U(x) = (κ/2)(x − ρ*)², where the activation A adds ACT-R's
base-level activation over the memory's uses (Petrov's closed form) to its importance, trust and corroborations.
In arc length the dynamics are an Ornstein–Uhlenbeck process, which `step` integrates exactly over any interval.
Zones are bands of |x|; a memory's rank weight falls with its distance beyond the active zone. The derivation,
the constants and how they were chosen: docs/ARCHITECTURE.md, "The lifecycle".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# the potential
DECAY = 0.5  # ACT-R's d: a use t days ago contributes t^-d
MIN_AGE_DAYS = 1 / 24  # an hour: uses closer than this count as an hour old (t^-d stays finite)
RHO_0 = 1.0  # the target distance of a memory with activation 0 is softplus(RHO_0) ~ 1.3
W_IMPORTANCE = 2.0
W_TRUST = 1.0
W_CORROBORATION = 0.5
HELPFUL_USES = 3.0  # helpful feedback counts as this many uses; a recall as 1 / its rank
# the dynamics
STIFFNESS = 4.0  # κ per day: a memory covers 1 - e^-4 = 98 % of the way to its target in a day
SPREAD = 0.15  # s = sqrt(T / κ): the stationary standard deviation of the position
TEMPERATURE = STIFFNESS * SPREAD**2
# zones by distance from the centre, and ranking
ZONES = (("active", 1.0), ("warm", 2.0), ("cold", 4.0), ("archived", np.inf))
RANK_FALLOFF = 0.01  # rank weight = exp(-RANK_FALLOFF * distance beyond the active zone); by benchmark, see docs


@dataclass(frozen=True)
class Features:
    """What the potential is made of, one array entry per memory (times in days since 1970)."""

    born: np.ndarray
    uses: np.ndarray  # weighted uses, storing included (so >= 1)
    last_used: np.ndarray
    importance: np.ndarray  # 0..1
    trust: np.ndarray  # 0..1
    corroborations: np.ndarray


def base_level(born: np.ndarray, uses: np.ndarray, last_used: np.ndarray, now: float) -> np.ndarray:
    """ACT-R base-level activation ln Σ t_j^-d, Petrov's hybrid approximation: the last use exactly, the other
    n - 1 uses spread evenly over the memory's life (asymptotically exact for many evenly spaced uses; a slight
    overestimate otherwise), with O(1) state per memory."""
    life = np.maximum(now - born, MIN_AGE_DAYS)
    last = np.clip(now - last_used, MIN_AGE_DAYS, life)
    earlier = np.maximum(uses - 1, 0.0)
    span = life - last
    spread = np.where(
        span > 1e-9,
        (life ** (1 - DECAY) - last ** (1 - DECAY)) / ((1 - DECAY) * np.where(span > 1e-9, span, 1.0)),
        last**-DECAY,  # every use at the last moment
    )
    return np.log(last**-DECAY + earlier * spread)


def activation(features: Features, now: float) -> np.ndarray:
    return (
        base_level(features.born, features.uses, features.last_used, now)
        + W_IMPORTANCE * (features.importance - 0.5)
        + W_TRUST * np.log(np.clip(features.trust, 1e-6, 1.0))
        + W_CORROBORATION * np.log1p(features.corroborations)
    )


def target(features: Features, now: float) -> np.ndarray:
    """ρ*, the distance from the centre the potential pulls toward (softplus keeps it positive and smooth)."""
    return np.logaddexp(0.0, RHO_0 - activation(features, now))


def step(position: np.ndarray, rho_star: np.ndarray, days: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Exact Ornstein–Uhlenbeck transition over `days`, per memory (any length; 0 leaves a position unchanged)."""
    days = np.maximum(days, 0.0)
    pulled = -np.expm1(-STIFFNESS * days)  # 1 - e^-κh, exact near 0
    noise = SPREAD * np.sqrt(-np.expm1(-2 * STIFFNESS * days))
    return position + (rho_star - position) * pulled + noise * rng.standard_normal(len(position))


def rng_for(seed: int, step_number: int) -> np.random.Generator:
    """The noise of one step: fixed by the store's seed and the step's number, so a history replays exactly."""
    return np.random.default_rng([seed, step_number])


def zone_of(position: np.ndarray) -> np.ndarray:
    distance = np.abs(position)
    names = np.array([name for name, _ in ZONES])
    return names[np.searchsorted([bound for _, bound in ZONES[:-1]], distance, side="right")]


def rank_weight(position: np.ndarray | float) -> np.ndarray | float:
    """At most 1: the lifecycle can lower a memory in the order, never lift it above what relevance gives."""
    return np.exp(-RANK_FALLOFF * np.maximum(np.abs(position) - ZONES[0][1], 0.0))


def ball_radius(position: np.ndarray) -> np.ndarray:
    """The point's coordinate in the Poincaré ball: r = tanh(x / 2)."""
    return np.tanh(position / 2)
