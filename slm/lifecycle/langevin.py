"""The memory lifecycle: Riemannian Langevin dynamics in the Poincaré ball under a potential made from use.

Each memory is a point on a geodesic through the centre of the Poincaré ball; only its distance from the centre
matters (the centre is "in use", the boundary "forgotten"). In the ball coordinate r in (-1, 1) the metric is
g(r) = 4 / (1 - r²)²; the signed geodesic coordinate x = 2 artanh(r) is arc length, so |x| is the hyperbolic
distance from the centre.

The potential is U(x) = (κ/2) (x - ρ*)², pulling the memory toward a target distance ρ* set by its use:

    activation  A = B + W_IMPORTANCE (importance - 1/2) + W_TRUST ln(trust) + W_CORROBORATION ln(1 + corroborations)
    target      ρ* = softplus(RHO_0 - A)

where B is ACT-R's base-level activation ln Σ_j t_j^(-d) over the memory's uses (storing, recalls, helpful
feedback), t_j the days since use j, in Petrov's (2006) closed-form approximation, so that neither recency nor
frequency is a hand-tuned decay of its own. With the constants below, a memory of default importance and full
trust that is never used after it is stored leaves the active zone within a day, the warm zone within a week,
and is archived after about 13 months (ρ* = 4 at 403 days); near a zone's bound, the noise moves it back and
forth between steps.

Riemannian Langevin dynamics for the Gibbs density π ∝ exp(-U/T) with respect to the Riemannian volume is, in r,

    dr = [-g⁻¹ U'(r) - (T/2) g⁻² g'(r)] dt + sqrt(2T / g(r)) dW
       = [-(1 - r²)/2 · ∂U/∂x - (T/2) r (1 - r²)] dt + (1 - r²)/2 · sqrt(2T) dW,

which in arc length is the Ornstein–Uhlenbeck process dx = -κ (x - ρ*) dt + sqrt(2T) dW. Its stationary density
is N(ρ*, T/κ) in x (the Riemannian volume is dx), i.e. p(r) = φ((2 artanh r - ρ*)/s) · 2 / (s (1 - r²)) with
s² = T/κ. `step` integrates it exactly over any interval h (no discretisation error, stable for any h):

    x ← ρ* + (x - ρ*) e^(-κh) + s sqrt(1 - e^(-2κh)) ξ,    ξ ~ N(0, 1) from a generator seeded per step.

Zones are bands of distance |x|; a memory's rank weight falls with its distance beyond the active zone.
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
