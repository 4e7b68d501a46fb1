"""The Fisher–Rao distance between diagonal Gaussians and the memories' observation summaries (slm.recall.fisher).

The closed form is checked against things that do not share its derivation: the Fisher information computed by
quadrature from the normal density, geodesics found by shooting with the geodesic equation of that metric, and a
50-digit evaluation for nearby points.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.recall.fisher import PRIOR_SPREAD, PRIOR_WEIGHT, Observations, fisher_rao, posterior_variance

SQRT2 = math.sqrt(2.0)
DIMS = (1, 2, 8, 384)


def gaussians(rng: np.random.Generator, count: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations at the scale of MiniLM embeddings (unit vectors, σ near the prior's)."""
    mu = rng.normal(0.0, 1.0 / math.sqrt(dim), (count, dim))
    sigma = np.sqrt(PRIOR_SPREAD / dim) * np.exp(rng.normal(0.0, 0.7, (count, dim)))
    return mu, sigma


def distance_1d(mu1: float, s1: float, mu2: float, s2: float) -> float:
    return float(fisher_rao(np.array([mu1]), np.array([s1]), np.array([mu2]), np.array([s2])))


# --- the metric itself ---------------------------------------------------------------------------------------------


def test_the_metric_is_the_fisher_information_of_the_normal_density():
    """E[score scoreᵀ] by Gauss–Hermite quadrature (exact for these polynomials) is diag(1, 2)/σ²: the metric the
    docstring starts from, and the one the shooting below integrates."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    weights = weights / weights.sum()
    for mu, sigma in [(0.0, 1.0), (3.0, 0.2), (-1.5, 7.0)]:
        x = mu + sigma * nodes
        score = np.stack([(x - mu) / sigma**2, -1 / sigma + (x - mu) ** 2 / sigma**3])
        information = (score * weights) @ score.T
        np.testing.assert_allclose(information, np.diag([1.0, 2.0]) / sigma**2, rtol=1e-12, atol=1e-12 / sigma**2)


# --- metric axioms -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", DIMS)
def test_identity_symmetry_and_triangle_inequality(dim):
    rng = np.random.default_rng(dim)
    (mu_p, s_p), (mu_q, s_q), (mu_r, s_r) = (gaussians(rng, 500, dim) for _ in range(3))
    pq, qp = fisher_rao(mu_p, s_p, mu_q, s_q), fisher_rao(mu_q, s_q, mu_p, s_p)
    qr, pr = fisher_rao(mu_q, s_q, mu_r, s_r), fisher_rao(mu_p, s_p, mu_r, s_r)
    assert pq.shape == (500,)
    assert np.all(fisher_rao(mu_p, s_p, mu_p, s_p) == 0.0)
    assert np.all(pq > 0) and np.all(np.isfinite(pq))
    np.testing.assert_array_equal(pq, qp)  # every operation in the formula is symmetric, so exactly
    assert np.all(pr <= pq + qr + 1e-12 * (pq + qr))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-10, 10), st.floats(1e-3, 1e3)),
        min_size=3,
        max_size=3,
    )
)
def test_triangle_inequality_on_adversarial_univariate_triples(points):
    (mu_a, s_a), (mu_b, s_b), (mu_c, s_c) = points
    ab, bc, ac = distance_1d(mu_a, s_a, mu_b, s_b), distance_1d(mu_b, s_b, mu_c, s_c), distance_1d(mu_a, s_a, mu_c, s_c)
    assert ac <= ab + bc + 1e-9 * (ab + bc) + 1e-12
    assert distance_1d(mu_a, s_a, mu_b, s_b) == distance_1d(mu_b, s_b, mu_a, s_a)


def test_points_along_a_geodesic_make_the_triangle_inequality_an_equality():
    """μ fixed and every σ scaled by λ is a geodesic of the product, so the tolerance above is not hiding slack:
    along it, distances add up exactly, and each step is √2·|ln λ| per dimension."""
    rng = np.random.default_rng(7)
    mu, sigma = gaussians(rng, 1, 384)
    a, b, c = sigma, 1.7 * sigma, 1.7 * 3.1 * sigma
    ab, bc, ac = fisher_rao(mu, a, mu, b), fisher_rao(mu, b, mu, c), fisher_rao(mu, a, mu, c)
    assert ac == pytest.approx(ab + bc, rel=1e-13)
    assert ab == pytest.approx(SQRT2 * math.log(1.7) * math.sqrt(384), rel=1e-13)


def test_mean_fixed_is_the_log_ratio_of_the_standard_deviations():
    for s1, s2 in [(1.0, 2.0), (0.03, 0.0007), (5e-9, 3e4), (2.5, 2.5000001)]:
        assert distance_1d(0.3, s1, 0.3, s2) == pytest.approx(SQRT2 * abs(math.log(s2 / s1)), rel=1e-12)


# --- the closed form against numerically found geodesics ----------------------------------------------------------


def _geodesic_flow(state: np.ndarray) -> np.ndarray:
    """Euler–Lagrange equations of L = e^(-2s) μ'² + 2 s'² (the metric in μ and s = ln σ), per dimension:
    μ'' = 2 μ' s',  s'' = -e^(-2s) μ'² / 2.  State (..., dim, 4) = (μ, s, μ', s')."""
    mu_dot, s_dot, s = state[..., 2], state[..., 3], state[..., 1]
    return np.stack([mu_dot, s_dot, 2 * mu_dot * s_dot, -np.exp(-2 * s) * mu_dot**2 / 2], axis=-1)


def _shoot(start: np.ndarray, velocity: np.ndarray, steps: int) -> np.ndarray:
    """RK4 over t in [0, 1]; returns the whole path, shape (steps + 1, ..., dim, 4)."""
    state = np.concatenate([start, velocity], axis=-1)
    path, h = [state], 1.0 / steps
    for _ in range(steps):
        k1 = _geodesic_flow(state)
        k2 = _geodesic_flow(state + h / 2 * k1)
        k3 = _geodesic_flow(state + h / 2 * k2)
        k4 = _geodesic_flow(state + h * k3)
        state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(state)
    return np.stack(path)


def numerical_geodesic_distance(mu1, s1, mu2, s2, steps: int = 100) -> float:
    """Length of the geodesic from (mu1, s1) to (mu2, s2) in the product of half-planes, found by Newton shooting
    on the initial velocity of each dimension (the equations decouple); the length integrates the joint speed
    √(Σ e^(-2s) μ'² + 2 s'²) along the path, so the root-sum-of-squares rule is not assumed."""
    start = np.stack([np.asarray(mu1, float), np.log(s1)], axis=-1)
    end = np.stack([np.asarray(mu2, float), np.log(s2)], axis=-1)
    velocity = end - start  # the straight line in (μ, ln σ) as a first guess
    eps = 1e-6

    def miss_of(v: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return _shoot(start, v, steps)[-1][..., :2] - end

    miss = miss_of(velocity)
    for _ in range(40):
        if np.max(np.abs(miss)) < 1e-13:
            break
        # central differences for the Jacobian of the end point in the initial velocity (per dimension, 2x2)
        probes = np.stack([velocity + eps * sign * e for e in np.eye(2) for sign in (1, -1)])
        ends = _shoot(np.broadcast_to(start, probes.shape), probes, steps)[-1][..., :2]
        jacobian = np.stack([(ends[0] - ends[1]) / (2 * eps), (ends[2] - ends[3]) / (2 * eps)], axis=-1)
        newton = np.linalg.solve(jacobian, miss[..., None])[..., 0]
        for damping in 0.5 ** np.arange(30):  # backtrack until the miss shrinks: far points need it
            trial = miss_of(velocity - damping * newton)
            if np.all(np.isfinite(trial)) and np.max(np.abs(trial)) < np.max(np.abs(miss)):
                break
        velocity, miss = velocity - damping * newton, trial
    else:
        raise AssertionError(f"shooting did not converge: miss {miss}")
    path = _shoot(start, velocity, steps)
    speed = np.sqrt((np.exp(-2 * path[..., 1]) * path[..., 2] ** 2 + 2 * path[..., 3] ** 2).sum(axis=-1))
    return float(((speed[1:] + speed[:-1]) / 2).sum() / steps)


@pytest.mark.parametrize(
    ("mu1", "s1", "mu2", "s2"),
    [
        (0.0, 1.0, 1.0, 1.0),  # equal σ: the geodesic bulges upward, not the straight line
        (0.0, 1.0, 3.0, 0.4),
        (-0.5, 0.05, 0.2, 0.9),
        (2.0, 3.0, -4.0, 1.5),
        (0.0, 1.0, 0.0, 5.0),  # vertical: the straight line is already the geodesic
    ],
)
def test_univariate_closed_form_matches_a_shot_geodesic(mu1, s1, mu2, s2):
    expected = numerical_geodesic_distance([mu1], [s1], [mu2], [s2])
    assert distance_1d(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-7)


def test_product_closed_form_matches_a_shot_geodesic_in_several_dimensions():
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.normal(0, 1, 5), rng.normal(0, 1, 5)
    s1, s2 = np.exp(rng.normal(0, 0.6, 5)), np.exp(rng.normal(0, 0.6, 5))
    expected = numerical_geodesic_distance(mu1, s1, mu2, s2)
    assert float(fisher_rao(mu1, s1, mu2, s2)) == pytest.approx(expected, rel=1e-7)


def test_no_path_is_shorter_than_the_closed_form():
    """The closed form is a lower bound on the length of any path: straight lines in (μ, σ) and (μ, ln σ), and
    randomly bent ones (the midpoint rule on 2,000 segments is accurate far beyond the margins here)."""
    rng = np.random.default_rng(11)
    t = np.linspace(0, 1, 2001)[:, None]
    for _ in range(20):
        (m1, m2), (l1, l2) = rng.normal(0, 2, 2), rng.normal(0, 1, 2)
        closed = distance_1d(m1, math.exp(l1), m2, math.exp(l2))
        bend = np.sin(np.pi * t * np.arange(1, 4)) @ rng.normal(0, 0.3, (3, 2))
        for mu, log_sigma in [
            (m1 + (m2 - m1) * t[:, 0], np.log(math.exp(l1) + (math.exp(l2) - math.exp(l1)) * t[:, 0])),
            (m1 + (m2 - m1) * t[:, 0], l1 + (l2 - l1) * t[:, 0]),
            (m1 + (m2 - m1) * t[:, 0] + bend[:, 0], l1 + (l2 - l1) * t[:, 0] + bend[:, 1]),
        ]:
            mid = np.exp(-(log_sigma[1:] + log_sigma[:-1]) / 2)
            length = np.sum(np.sqrt(mid**2 * np.diff(mu) ** 2 + 2 * np.diff(log_sigma) ** 2))
            assert length >= closed * (1 - 1e-6)


# --- invariances ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", DIMS)
def test_invariant_under_a_per_dimension_affine_change_of_the_data(dim):
    """x -> a x + b per dimension maps N(μ, σ²) to N(a μ + b, a² σ²), and Fisher–Rao is invariant under
    reparametrising the sample space: translation, scaling (of either sign) and both together."""
    rng = np.random.default_rng(100 + dim)
    (mu_p, s_p), (mu_q, s_q) = gaussians(rng, 200, dim), gaussians(rng, 200, dim)
    base = fisher_rao(mu_p, s_p, mu_q, s_q)
    shift = rng.normal(0, 1, dim)
    scale = np.exp(rng.normal(0, 2, dim)) * rng.choice([-1.0, 1.0], dim)
    np.testing.assert_allclose(fisher_rao(mu_p + shift, s_p, mu_q + shift, s_q), base, rtol=1e-10)
    stretch = abs(scale)
    np.testing.assert_allclose(fisher_rao(scale * mu_p, stretch * s_p, scale * mu_q, stretch * s_q), base, rtol=1e-12)
    affine = fisher_rao(scale * mu_p + shift, stretch * s_p, scale * mu_q + shift, stretch * s_q)
    np.testing.assert_allclose(affine, base, rtol=1e-9)


def test_invariant_under_permuting_dimensions_and_equal_to_the_root_sum_of_per_dimension_distances():
    rng = np.random.default_rng(5)
    (mu_p, s_p), (mu_q, s_q) = gaussians(rng, 50, 384), gaussians(rng, 50, 384)
    whole = fisher_rao(mu_p, s_p, mu_q, s_q)
    order = rng.permutation(384)
    shuffled = fisher_rao(mu_p[:, order], s_p[:, order], mu_q[:, order], s_q[:, order])
    np.testing.assert_allclose(shuffled, whole, rtol=1e-13)
    per_dim = np.stack([fisher_rao(mu_p[:, [k]], s_p[:, [k]], mu_q[:, [k]], s_q[:, [k]]) for k in range(384)], axis=1)
    np.testing.assert_allclose(np.sqrt((per_dim**2).sum(axis=1)), whole, rtol=1e-13)
    # and the blocks of a split compose the same way: d(p, q)² = d(first half)² + d(second half)²
    halves = [fisher_rao(mu_p[:, h], s_p[:, h], mu_q[:, h], s_q[:, h]) for h in (slice(0, 100), slice(100, None))]
    np.testing.assert_allclose(np.hypot(*halves), whole, rtol=1e-13)


def test_one_query_against_a_candidate_matrix_broadcasts_like_a_loop():
    rng = np.random.default_rng(9)
    (mu_q, s_q), (mu_c, s_c) = gaussians(rng, 1, 384), gaussians(rng, 30, 384)
    together = fisher_rao(mu_q[0], s_q[0], mu_c, s_c)
    one_by_one = [float(fisher_rao(mu_q[0], s_q[0], mu_c[i], s_c[i])) for i in range(30)]
    assert together.shape == (30,)
    np.testing.assert_allclose(together, one_by_one, rtol=1e-15)


# --- limits --------------------------------------------------------------------------------------------------------


def test_distance_between_different_means_grows_without_bound_as_sigma_shrinks():
    """At equal σ the distance is √2·arccosh(1 + Δμ²/(4σ²)) ~ √2·ln(Δμ²/(2σ²)): unbounded, but finite and smooth
    in float64 down to σ = 1e-12 (and the log-asymptote is reached, not just approached by a NaN-free number)."""
    sigmas = np.logspace(0, -12, 49)
    distances = np.array([distance_1d(0.0, s, 1.0, s) for s in sigmas])
    assert np.all(np.isfinite(distances)) and np.all(np.diff(distances) > 0)
    asymptote = SQRT2 * np.log(1.0 / (2 * sigmas**2))
    assert abs(distances[-1] - asymptote[-1]) < 1e-10 and distances[-1] > 75
    # d=384, the same: every dimension a pair of near-Dirac masses at different points
    mu_p, mu_q = np.zeros(384), np.full(384, 0.05)
    tiny = fisher_rao(mu_p, np.full(384, 1e-12), mu_q, np.full(384, 1e-12))
    assert np.isfinite(tiny) and tiny > fisher_rao(mu_p, np.full(384, 1e-6), mu_q, np.full(384, 1e-6))


def test_gaussians_with_fixed_different_means_become_indistinguishable_as_sigma_grows():
    sigmas = np.logspace(-2, 8, 41)
    distances = np.array([distance_1d(0.0, s, 1.0, s) for s in sigmas])
    assert np.all(np.diff(distances) < 0) and distances[-1] < 1.1e-8
    assert distances[-1] == pytest.approx(1.0 / 1e8, rel=1e-6)  # √2·√(2x) with x = Δμ²/(4σ²): Δμ/σ


# --- accuracy for nearby points ------------------------------------------------------------------------------------


def reference_distance(mu1, s1, mu2, s2) -> float:
    """√2·Σ arccosh(1 + x) to 50 digits, from the exact binary values of the float inputs."""
    with localcontext() as ctx:
        ctx.prec = 50
        total = Decimal(0)
        for values in zip(*(np.atleast_1d(v) for v in (mu1, s1, mu2, s2)), strict=True):
            a, b, c, d = (Decimal(float(v)) for v in values)
            x = ((a - c) ** 2 / 2 + (b - d) ** 2) / (2 * b * d)
            total += 2 * (1 + x + (x * (x + 2)).sqrt()).ln() ** 2
        return float(total.sqrt())


@pytest.mark.parametrize("delta", [1e-3, 1e-6, 1e-9, 1e-12, 1e-15])
def test_nearby_points_keep_full_relative_precision(delta):
    """arccosh(1 + x) written naively loses everything once x is below the float epsilon; the log1p form must not."""
    mu, sigma = 0.37, 0.026
    mu2, sigma2 = mu + delta * sigma, sigma * (1 + 0.5 * delta)
    got = distance_1d(mu, sigma, mu2, sigma2)
    expected = reference_distance(mu, sigma, mu2, sigma2)
    assert got == pytest.approx(expected, rel=1e-13)
    x = ((mu - mu2) ** 2 / 2 + (sigma - sigma2) ** 2) / (2 * sigma * sigma2)
    if delta <= 1e-6:  # the tolerance above would catch the naive form
        assert abs(SQRT2 * math.acosh(1 + x) - expected) > 1e-8 * expected


def test_nearby_points_in_384_dimensions_against_the_reference_and_the_metric():
    rng = np.random.default_rng(13)
    (mu, sigma) = gaussians(rng, 1, 384)
    d_mu, d_sigma = 1e-9 * rng.normal(0, 1, 384), 1e-9 * rng.normal(0, 1, 384) * sigma[0]
    got = float(fisher_rao(mu[0], sigma[0], mu[0] + d_mu, sigma[0] + d_sigma))
    assert got == pytest.approx(reference_distance(mu[0], sigma[0], mu[0] + d_mu, sigma[0] + d_sigma), rel=1e-12)
    # to first order, the length of the displacement in the Fisher metric diag(1, 2)/σ²
    assert got == pytest.approx(math.sqrt(np.sum((d_mu**2 + 2 * d_sigma**2) / sigma[0] ** 2)), rel=1e-6)


# --- observations and the posterior spread -------------------------------------------------------------------------


def test_welford_updates_match_the_batch_summary():
    rng = np.random.default_rng(17)
    vectors = 10.0 + rng.normal(0, 0.03, (200, 384))  # an offset far above the spread: a one-pass sum would suffer
    for first in (1, 7):
        seen = Observations.of(vectors[:first])
        for vector in vectors[first:]:
            seen = seen.add(vector)
        batch = Observations.of(vectors)
        assert seen.n == batch.n == 200.0
        np.testing.assert_allclose(seen.mean, batch.mean, rtol=1e-14)
        np.testing.assert_allclose(seen.m2, batch.m2, rtol=1e-9)
        np.testing.assert_allclose(batch.m2, 199 * vectors.var(axis=0, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("dim", DIMS)
def test_one_observation_has_exactly_the_prior_spread(dim):
    seen = Observations.of(np.random.default_rng(dim).normal(0, 1, (1, dim)))
    assert seen.n == 1.0 and np.all(seen.m2 == 0.0)
    np.testing.assert_array_equal(seen.variance(), np.full(dim, PRIOR_SPREAD / dim))
    assert seen.variance().sum() == pytest.approx(PRIOR_SPREAD, rel=1e-12)  # PRIOR_SPREAD is the total over dims


def test_the_posterior_is_the_weighted_average_of_the_sample_variance_and_the_prior():
    """(m2 + w·p)/(n - 1 + w) = ((n - 1)·s² + w·p)/(n - 1 + w): n - 1 degrees of freedom against w."""
    rng = np.random.default_rng(19)
    vectors = rng.normal(0, 0.02, (6, 384))
    seen, prior = Observations.of(vectors), PRIOR_SPREAD / 384
    sample = vectors.var(axis=0, ddof=1)
    expected = (5 * sample + PRIOR_WEIGHT * prior) / (5 + PRIOR_WEIGHT)
    np.testing.assert_allclose(seen.variance(), expected, rtol=1e-12)
    assert np.all(np.minimum(sample, prior) <= seen.variance()) and np.all(seen.variance() <= np.maximum(sample, prior))


def test_many_observations_converge_to_their_own_spread():
    rng = np.random.default_rng(23)
    # around the prior (0.27/8 = 0.034 here) and up to 30x from it; post - s² = w (p - s²)/(n - 1 + w), so at
    # n = 50,000 the relative gap is at most 2·0.033/50,000/1e-3 = 1.3e-3
    true_variance = np.array([1e-3, 3e-3, 1e-2, 3.4e-2, 0.1, 0.3, 1.0])
    vectors = rng.normal(0.5, np.sqrt(true_variance), (50_000, 7))
    gaps = []
    for n in (50, 500, 50_000):
        seen = Observations.of(vectors[:n])
        sample = vectors[:n].var(axis=0, ddof=1)
        gaps.append(np.max(np.abs(seen.variance() - sample) / sample))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1.5e-3
    np.testing.assert_allclose(Observations.of(vectors).variance(), true_variance, rtol=0.03)  # ~6 sd of s²/σ²


def test_posterior_variance_broadcasts_over_candidates():
    rng = np.random.default_rng(29)
    n = np.array([1.0, 2.0, 5.0, 40.0])
    m2 = rng.uniform(0, 0.01, (4, 384))
    m2[0] = 0.0
    together = posterior_variance(n, m2)
    assert together.shape == (4, 384)
    for i in range(4):
        np.testing.assert_array_equal(together[i], posterior_variance(float(n[i]), m2[i]))
    np.testing.assert_array_equal(together[0], np.full(384, PRIOR_SPREAD / 384))
    np.testing.assert_array_equal(posterior_variance(3.0, m2), posterior_variance(np.full(4, 3.0), m2))
