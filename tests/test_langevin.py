"""The memory lifecycle's dynamics and potential (slm.lifecycle.langevin), checked as a stochastic process.

Laws are compared with Kolmogorov–Smirnov tests (implemented here: no scipy) on fixed seeds, so every test is
deterministic; each acceptance comes with a rejection of a nearby wrong law at the same sample size, so the
acceptances are not vacuous.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from slm.lifecycle.langevin import (
    DECAY,
    MIN_AGE_DAYS,
    RANK_FALLOFF,
    RHO_0,
    SPREAD,
    STIFFNESS,
    TEMPERATURE,
    ZONES,
    Features,
    activation,
    ball_radius,
    base_level,
    rank_weight,
    rng_for,
    step,
    target,
    zone_of,
)

MEMORIES = 20_000
SEED = 20240611


# --- Kolmogorov–Smirnov, by hand -----------------------------------------------------------------------------------


def normal_cdf(z: np.ndarray) -> np.ndarray:
    return np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in np.ravel(z)]).reshape(np.shape(z))


def kolmogorov_sf(t: float) -> float:
    """P(K > t) for the Kolmogorov distribution: the alternating series for t >= 1, the theta-transformed one (fast
    where the first converges slowly) below."""
    if t <= 0:
        return 1.0
    if t < 1:
        terms = sum(math.exp(-((2 * k - 1) ** 2) * math.pi**2 / (8 * t * t)) for k in range(1, 20))
        return 1.0 - math.sqrt(2 * math.pi) / t * terms
    return 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t) for k in range(1, 100))


def ks_pvalue(sample: np.ndarray, cdf) -> float:
    """One-sample KS against a continuous CDF, asymptotic p-value with Stephens' small-sample correction."""
    n = len(sample)
    f = cdf(np.sort(sample))
    i = np.arange(1, n + 1)
    d = max(np.max(i / n - f), np.max(f - (i - 1) / n))
    return kolmogorov_sf(d * (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)))


def ks_two_sample_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    pooled = np.sort(np.concatenate([a, b]))
    ecdf_a = np.searchsorted(np.sort(a), pooled, "right") / len(a)
    ecdf_b = np.searchsorted(np.sort(b), pooled, "right") / len(b)
    d = np.max(np.abs(ecdf_a - ecdf_b))
    n = len(a) * len(b) / (len(a) + len(b))
    return kolmogorov_sf(d * (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)))


def normal(mean, sd):
    return lambda x: normal_cdf((x - mean) / sd)


def test_the_ks_helper_reproduces_the_kolmogorov_tables():
    assert kolmogorov_sf(1.3581) == pytest.approx(0.05, abs=2e-4)
    assert kolmogorov_sf(1.6276) == pytest.approx(0.01, abs=1e-4)
    assert kolmogorov_sf(1 - 1e-12) == pytest.approx(kolmogorov_sf(1.0), abs=1e-10)  # the two series agree
    rng = np.random.default_rng(1)
    assert ks_pvalue(rng.normal(0, 1, 5000), normal_cdf) > 0.01
    assert ks_pvalue(rng.normal(0.1, 1, 5000), normal_cdf) < 1e-6


# --- helpers -------------------------------------------------------------------------------------------------------


def features(count: int, rng: np.random.Generator, now: float = 20_000.0) -> Features:
    """Plausible memories: up to two years old, used 1-200 times, last used any time in their life."""
    born = now - rng.uniform(0.01, 730, count)
    return Features(
        born=born,
        uses=rng.integers(1, 200, count).astype(float),
        last_used=born + rng.uniform(0, 1, count) * (now - born),
        importance=rng.uniform(0, 1, count),
        trust=rng.uniform(0, 1, count),
        corroborations=rng.integers(0, 10, count).astype(float),
    )


def one(**overrides) -> Features:
    """A single memory with the lifecycle's defaults (importance 1/2, trust 1, no corroborations)."""
    values = {"born": 0.0, "uses": 1.0, "last_used": 0.0, "importance": 0.5, "trust": 1.0, "corroborations": 0.0}
    values.update(overrides)
    return Features(**{key: np.array([float(value)]) for key, value in values.items()})


def run(position: np.ndarray, rho_star: np.ndarray, days: float, steps: int, seed: int) -> np.ndarray:
    for number in range(1, steps + 1):
        position = step(position, rho_star, days, rng_for(seed, number))
    return position


# --- stationarity and ergodicity -----------------------------------------------------------------------------------


def test_many_memories_settle_into_the_documented_stationary_law():
    """20k memories with their own targets (from the real potential), started at the centre and run 10 days in
    quarter-day steps (κ·t = 40: the start is forgotten), are N(ρ*, SPREAD²) around their targets."""
    rng = np.random.default_rng(SEED)
    rho_star = target(features(MEMORIES, rng), 20_000.0)
    z = (run(np.zeros(MEMORIES), rho_star, 0.25, 40, SEED) - rho_star) / SPREAD
    assert ks_pvalue(z, normal_cdf) > 0.01
    assert ks_pvalue(z, normal(0, 2)) < 1e-6  # twice the spread
    assert ks_pvalue(z, normal(0, 1.1)) < 1e-6  # a spread 10 % too wide
    assert ks_pvalue(z, normal(0.1, 1)) < 1e-6  # a centre off by a tenth of the spread


def test_one_memory_over_a_long_time_visits_the_stationary_law():
    """Ergodicity: one memory's trajectory (16k quarter-day steps), read once a day (autocorrelation e^-4 = 0.02,
    near independent), has the stationary law; its lag-one autocorrelation is e^(-κh), the documented stiffness."""
    rho_star, h = np.array([1.7]), 0.25
    path = np.empty(16_000)
    position = np.array([0.0])
    for number in range(len(path)):
        position = step(position, rho_star, h, rng_for(SEED, number))
        path[number] = position[0]
    path = path[200:]  # after 50 days the start is forgotten
    daily = path[::4]
    lag = math.exp(-STIFFNESS)  # between daily readings
    inflation = math.sqrt((1 + lag) / (1 - lag))
    assert abs(daily.mean() - 1.7) < 4 * SPREAD / math.sqrt(len(daily)) * inflation
    assert abs(daily.var() / SPREAD**2 - 1) < 4 * math.sqrt(2 / len(daily)) * inflation
    assert ks_pvalue(daily, normal(1.7, SPREAD)) > 0.01
    assert ks_pvalue(daily, normal(1.7, 1.2 * SPREAD)) < 1e-4
    centred = path - path.mean()
    autocorrelation = np.dot(centred[1:], centred[:-1]) / np.dot(centred, centred)
    assert autocorrelation == pytest.approx(math.exp(-STIFFNESS * h), abs=4 * math.sqrt(1 / len(path)))


# --- exactness of the discretisation -------------------------------------------------------------------------------


def ou_transition(x0: float, rho_star: float, days: float):
    keep = math.exp(-STIFFNESS * days)
    return normal(rho_star + (x0 - rho_star) * keep, SPREAD * math.sqrt(1 - keep**2))


def test_one_big_step_has_the_law_of_many_small_ones():
    """Both match the analytic OU transition; Euler–Maruyama over the big step would not (the test can tell)."""
    x0, rho, h = 3.0, 1.2, 0.3
    start, rho_star = np.full(MEMORIES, x0), np.full(MEMORIES, rho)
    big = step(start, rho_star, h, rng_for(SEED, 1))
    small = run(start, rho_star, h / 30, 30, SEED + 1)
    assert ks_pvalue(big, ou_transition(x0, rho, h)) > 0.01
    assert ks_pvalue(small, ou_transition(x0, rho, h)) > 0.01
    assert ks_two_sample_pvalue(big, small) > 0.01
    euler = normal(x0 - STIFFNESS * h * (x0 - rho), math.sqrt(2 * TEMPERATURE * h))
    assert ks_pvalue(big, euler) < 1e-6
    assert ks_pvalue(small, ou_transition(x0, rho, 1.2 * h)) < 1e-6  # and 20 % more time is visible


def test_step_lengths_per_memory_and_any_length_are_exact():
    """`days` may differ per memory; a step of 1,000 days is the stationary law at once (stable, no overflow)."""
    rng = np.random.default_rng(SEED)
    days = rng.uniform(0.001, 1.0, MEMORIES)
    x0, rho = rng.uniform(-1, 5, MEMORIES), rng.uniform(0.2, 4, MEMORIES)
    moved = step(x0, rho, days, rng_for(SEED, 7))
    keep = np.exp(-STIFFNESS * days)
    z = (moved - rho - (x0 - rho) * keep) / (SPREAD * np.sqrt(1 - keep**2))
    assert ks_pvalue(z, normal_cdf) > 0.01
    far = step(x0, rho, 1000.0, rng_for(SEED, 8))
    assert np.all(np.isfinite(far)) and ks_pvalue((far - rho) / SPREAD, normal_cdf) > 0.01


# --- the Riemannian SDE in ball coordinates ------------------------------------------------------------------------


def langevin_in_the_ball(r: np.ndarray, rho: float, days: float, dt: float, seed: int, correction: bool = True):
    """Euler–Maruyama on the docstring's SDE in r:
    dr = [-(1 - r²)/2 · κ(x - ρ*) - (T/2) r (1 - r²)] dt + (1 - r²)/2 · sqrt(2T) dW,  x = 2 artanh r."""
    rng = np.random.default_rng(seed)
    for _ in range(round(days / dt)):
        shrink = 1 - r**2
        drift = -shrink / 2 * STIFFNESS * (2 * np.arctanh(r) - rho)
        if correction:
            drift -= TEMPERATURE / 2 * r * shrink
        r = r + drift * dt + shrink / 2 * math.sqrt(2 * TEMPERATURE * dt) * rng.standard_normal(len(r))
    assert np.all(np.abs(r) < 1)
    return r


def docstring_density_cdf(rho: float):
    """The CDF of the docstring's p(r) = φ((2 artanh r - ρ*)/s) · 2/(s (1 - r²)), integrated numerically."""
    grid = np.tanh(np.linspace(rho - 9 * SPREAD, rho + 9 * SPREAD, 20_001) / 2)
    phi = np.exp(-(((2 * np.arctanh(grid) - rho) / SPREAD) ** 2) / 2) / math.sqrt(2 * math.pi)
    density = phi * 2 / (SPREAD * (1 - grid**2))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
    return grid, cdf


def test_the_sde_in_the_ball_has_the_documented_stationary_law():
    """Simulated in r (dt = 0.002 day, 2 days from r = tanh(ρ*/2)), the positions have the density the docstring
    gives, which is N(ρ*, SPREAD²) pushed forward by r = tanh(x/2) (KS is invariant under that map)."""
    rho = 2.0
    grid, cdf = docstring_density_cdf(rho)
    np.testing.assert_allclose(cdf, normal_cdf((2 * np.arctanh(grid) - rho) / SPREAD), atol=1e-6)
    r = langevin_in_the_ball(np.full(MEMORIES, ball_radius(np.array(rho))), rho, 2.0, 0.002, SEED)
    assert ks_pvalue(r, lambda v: np.interp(v, grid, cdf)) > 0.01
    assert ks_pvalue(2 * np.arctanh(r), normal(rho, 1.2 * SPREAD)) < 1e-6


def test_without_the_metric_correction_the_law_is_measurably_different():
    """Dropping -(T/2) r (1 - r²) leaves an Itô drift +T tanh(x/2) in x: the centre moves by about
    SPREAD²·tanh(ρ*/2) = 0.017 (0.11 SPREAD at ρ* = 2), which 20k memories detect with overwhelming odds."""
    rho = 2.0
    r = langevin_in_the_ball(np.full(MEMORIES, ball_radius(np.array(rho))), rho, 2.0, 0.002, SEED, correction=False)
    x = 2 * np.arctanh(r)
    assert ks_pvalue(x, normal(rho, SPREAD)) < 1e-6
    assert x.mean() - rho == pytest.approx(SPREAD**2 * math.tanh(rho / 2), rel=0.3)


def test_the_sde_in_the_ball_has_the_ou_transition_in_arc_length():
    """Not only the stationary law: out of equilibrium too (from x = 3 for a quarter day), the process in r is the
    exact step's OU process in x."""
    x0, rho, days = 3.0, 1.2, 0.25
    r = langevin_in_the_ball(np.full(MEMORIES, math.tanh(x0 / 2)), rho, days, 0.001, SEED)
    assert ks_pvalue(2 * np.arctanh(r), ou_transition(x0, rho, days)) > 0.01
    assert ks_pvalue(2 * np.arctanh(r), ou_transition(x0, rho, 1.2 * days)) < 1e-6


def test_ball_radius_is_the_poincare_coordinate_of_the_arc_length():
    x = np.linspace(-6, 6, 121)
    r = ball_radius(x)
    assert np.all(np.abs(r) < 1) and np.all(np.diff(r) > 0)
    np.testing.assert_allclose(2 * np.arctanh(r), x, atol=1e-12)
    # the distance from the centre in the Poincaré ball (curvature -1) is |x|
    np.testing.assert_allclose(np.arccosh(1 + 2 * r**2 / (1 - r**2)), np.abs(x), rtol=1e-9, atol=1e-7)


# --- determinism ---------------------------------------------------------------------------------------------------


def test_a_seed_and_a_step_number_fix_the_noise():
    position, rho_star = np.linspace(-1, 5, 1000), np.full(1000, 1.3)
    once = step(position, rho_star, 0.5, rng_for(7, 12))
    np.testing.assert_array_equal(once, step(position, rho_star, 0.5, rng_for(7, 12)))
    for other in (rng_for(7, 13), rng_for(8, 12), rng_for(12, 7)):  # the next step, another store, swapped
        assert np.all(step(position, rho_star, 0.5, other) != once)
    np.testing.assert_array_equal(run(position, rho_star, 0.1, 20, 7), run(position, rho_star, 0.1, 20, 7))


# --- zones and rank ------------------------------------------------------------------------------------------------


def test_zones_by_distance_with_each_bound_in_the_outer_zone():
    bounds = [bound for _, bound in ZONES]
    assert bounds == [1.0, 2.0, 4.0, np.inf]
    x = np.array([0.0, 0.5, np.nextafter(1.0, 0), 1.0, 1.5, np.nextafter(2.0, 0), 2.0, 3.9, 4.0, 1e6, np.inf])
    expected = ["active"] * 3 + ["warm"] * 3 + ["cold"] * 2 + ["archived"] * 3
    assert zone_of(x).tolist() == expected
    assert zone_of(-x).tolist() == expected


def test_rank_weight_is_one_in_the_active_zone_and_falls_beyond():
    x = np.linspace(-8, 8, 1601)
    weight = rank_weight(x)
    assert np.all(weight <= 1.0) and np.all(weight > 0)
    np.testing.assert_array_equal(weight[np.abs(x) <= 1.0], 1.0)
    np.testing.assert_array_equal(weight, rank_weight(-x))
    outside = x[x >= 0]
    assert np.all(np.diff(rank_weight(outside)) <= 0) and np.all(np.diff(rank_weight(outside[outside > 1])) < 0)
    assert float(rank_weight(3.0)) == pytest.approx(math.exp(-RANK_FALLOFF * 2.0), rel=1e-15)


# --- the potential -------------------------------------------------------------------------------------------------


def exact_base_level(ages: np.ndarray) -> float:
    return math.log(np.sum(np.maximum(ages, MIN_AGE_DAYS) ** -DECAY))


def b(born: float, uses: float, last_used: float, now: float) -> float:
    return float(base_level(np.array([born]), np.array([uses]), np.array([last_used]), now)[0])


@pytest.mark.parametrize("age", [0.0, 0.01, 1 / 24, 0.5, 1.0, 30.0, 365.0, 3650.0])
def test_a_single_use_is_the_exact_act_r_sum(age):
    now = 20_000.0
    age = now - (now - age)  # the age the code sees, after rounding in days since 1970
    assert b(now - age, 1.0, now - age, now) == pytest.approx(exact_base_level(np.array([age])), rel=1e-14, abs=1e-15)
    assert b(now - 2 * age - 5, 1.0, now - age, now) == pytest.approx(exact_base_level(np.array([age])), abs=1e-14)


@pytest.mark.parametrize("uses", [2, 10, 100, 1000, 10_000])
def test_evenly_spread_uses_converge_to_the_exact_sum(uses):
    """Uses at ages last, last + h, ..., life (storing included), h = span/(n - 1). The approximation replaces
    the n - 1 earlier terms t^-d by the integral over [last, life] divided by h; for a decreasing t^-d that
    over-estimates the sum by between 0 and last^-d - life^-d (Riemann sums bracket the integral), so the error in
    B is at most ln(1 + (last^-d - life^-d) / Σ) = O(1/n). Not exact for few uses: 0.04 too high at n = 2."""
    now, life, last = 20_000.0, 200.0, 0.5
    ages = np.linspace(last, life, uses)
    exact, approximate = exact_base_level(ages), b(now - life, float(uses), now - last, now)
    total = math.exp(exact)
    assert 0 <= approximate - exact <= math.log1p((last**-DECAY - life**-DECAY) / total) + 1e-12
    if uses == 10_000:
        assert approximate - exact < 1e-3
    if uses == 2:
        assert approximate - exact > 0.04  # pins the caveat in the docstring of this test


def test_more_and_more_recent_use_raise_the_base_level():
    now, born = 20_000.0, 19_000.0
    by_uses = [b(born, uses, now - 3, now) for uses in (1, 2, 5, 20, 100, 1000)]
    assert np.all(np.diff(by_uses) > 0)
    by_recency = [b(born, 10.0, last, now) for last in (born, born + 100, born + 900, now - 1, now - 0.01)]
    assert np.all(np.diff(by_recency) > 0)
    all_at_once = [b(now - 2, uses, now - 2, now) for uses in (1, 2, 5)]  # every use at the same moment
    assert all_at_once == pytest.approx([math.log(uses * 2**-DECAY) for uses in (1, 2, 5)], rel=1e-12)


def test_importance_trust_and_corroboration_pull_the_target_inward():
    now = 100.0
    for name, values in [
        ("importance", [0.0, 0.25, 0.5, 1.0]),
        ("trust", [0.0, 0.01, 0.5, 1.0]),
        ("corroborations", [0, 1, 5, 50]),
    ]:
        targets = [float(target(one(born=50.0, uses=4.0, last_used=90.0, **{name: v}), now)[0]) for v in values]
        assert np.all(np.diff(targets) < 0), name
    assert float(target(one(born=99.0, last_used=99.0), now)[0]) == pytest.approx(math.log1p(math.e))  # activation 0


def test_the_target_is_positive_and_finite_over_the_whole_domain():
    rng = np.random.default_rng(SEED)
    count, now = 100_000, 20_000.0
    born = now - 10 ** rng.uniform(-4, 4, count)
    extreme = Features(
        born=born,
        uses=10 ** rng.uniform(0, 6, count),
        last_used=born + rng.uniform(-1, 2, count) * (now - born),  # before birth and in the future, too
        importance=rng.uniform(0, 1, count),
        trust=rng.uniform(0, 1, count) * rng.integers(0, 2, count),  # half of them with trust exactly 0
        corroborations=10 ** rng.uniform(0, 6, count) - 1,
    )
    rho_star = target(extreme, now)
    assert np.all(np.isfinite(activation(extreme, now))) and np.all(rho_star > 0) and np.all(np.isfinite(rho_star))


def test_a_memory_in_use_is_active_and_a_forgotten_one_is_beyond_warm():
    now = 20_000.0
    used = float(target(one(born=now - 30, uses=20.0, last_used=now - 1 / 24), now)[0])
    assert zone_of(np.array([used]))[0] == "active" and used == pytest.approx(0.211, abs=1e-3), (
        f"30 days old, 20 uses, last an hour ago: B = ln(24^0.5 + 19·mean t^-0.5) = 2.45, ρ* = {used:.3f}"
    )
    weekly = float(target(one(born=now - 7, uses=8.0, last_used=now - 1), now)[0])
    assert zone_of(np.array([weekly]))[0] == "active", f"used daily for a week: ρ* = {weekly:.3f}"
    year = float(target(one(born=now - 365, last_used=now - 365), now)[0])
    assert zone_of(np.array([year]))[0] == "cold" and year == pytest.approx(3.969, abs=1e-3), (
        f"stored a year ago, never used: B = -0.5 ln 365 = -2.95, ρ* = softplus(1 + 2.95) = {year:.3f}"
    )
    # with SPREAD = 0.15 around ρ* = 3.97, 42 % of such memories sit beyond 4 (archived) at any moment
    settled = run(np.full(MEMORIES, year), np.full(MEMORIES, year), 1.0, 5, SEED)
    archived = np.mean(zone_of(settled) == "archived")
    assert archived == pytest.approx(1 - float(normal_cdf(np.array((4.0 - year) / SPREAD))), abs=0.02)


# --- zero and negative steps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0.0, -1.0, -1e9])
def test_no_time_moves_nothing(days):
    """Up to rounding: the step computes ρ* + (x - ρ*)·1, which can differ from x in the last bit."""
    rng = np.random.default_rng(SEED)
    position, rho_star = rng.uniform(-5, 5, 1000), rng.uniform(0, 5, 1000)
    moved = step(position, rho_star, days, rng_for(SEED, 1))
    scale = np.maximum(np.abs(position), rho_star)
    assert np.all(np.abs(moved - position) <= 4 * np.spacing(scale))
    per_memory = np.where(np.arange(1000) % 2 == 0, days, 0.5)
    mixed = step(position, rho_star, per_memory, rng_for(SEED, 1))
    assert np.all(np.abs(mixed - position)[::2] <= 4 * np.spacing(scale[::2])) and np.all(mixed[1::2] != position[1::2])


def test_no_time_leaves_positions_bitwise_unchanged():
    position, rho_star = np.array([0.1, 2.9, -0.3]), np.array([1.3, 0.7, 1.1])
    np.testing.assert_array_equal(step(position, rho_star, 0.0, rng_for(SEED, 1)), position)


def test_the_constants_are_consistent():
    assert math.isclose(TEMPERATURE, STIFFNESS * SPREAD**2)  # s² = T/κ: the SDE in r above uses T, step uses s
    assert math.log1p(math.exp(RHO_0)) == pytest.approx(1.3, abs=0.02)  # "softplus(RHO_0) ~ 1.3"
    assert 0 < DECAY < 1  # Petrov's integral divides by 1 - d
