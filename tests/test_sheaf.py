"""Cellular sheaf cohomology on graphs: textbook Betti numbers, twisted cycles, the Laplacian, the harmonic part of a
cochain, and the obstruction left by `extend`. Expected values are computed by hand, from graph formulas, or from an
independent dense construction with exact (rational) rank, never from the module's own output."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.linalg import null_space

from slm.trust import sheaf as sheaf_module
from slm.trust.sheaf import Edge, Sheaf

# ---------------------------------------------------------------------------------------------------------------------
# independent helpers


def constant(n_vertices: int, pairs: list[tuple[int, int]], k: int = 1) -> Sheaf:
    """The constant sheaf R^k: every stalk R^k, every restriction map the identity."""
    eye = np.eye(k)
    return Sheaf([k] * n_vertices, [Edge(t, h, eye, eye) for t, h in pairs])


def cycle(n: int) -> list[tuple[int, int]]:
    return [(i, (i + 1) % n) for i in range(n)]


def twisted_cycle(n: int, twists: tuple[int, ...]) -> Sheaf:
    """Stalk R on C_n, identity maps except the head map −1 on the edges listed in `twists`."""
    edges = [Edge(t, h, np.eye(1), -np.eye(1) if i in twists else np.eye(1)) for i, (t, h) in enumerate(cycle(n))]
    return Sheaf([1] * n, edges)


def rotation(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def components(n_vertices: int, pairs: list[tuple[int, int]]) -> int:
    parent = list(range(n_vertices))

    def find(v: int) -> int:
        while parent[v] != v:
            v = parent[v]
        return v

    for t, h in pairs:
        parent[find(t)] = find(h)
    return len({find(v) for v in range(n_vertices)})


def dense_delta(vertex_dims: list[int], edges: list[tuple[int, int, np.ndarray, np.ndarray]]) -> np.ndarray:
    """δ built cell by cell, independently of the module: row block e holds −F_tail at tail, +F_head at head."""
    vertex_start = [sum(vertex_dims[:v]) for v in range(len(vertex_dims))]
    edge_dims = [np.asarray(ft).shape[0] for _, _, ft, _ in edges]
    delta = np.zeros((sum(edge_dims), sum(vertex_dims)))
    row = 0
    for (tail, head, from_tail, from_head), d in zip(edges, edge_dims, strict=True):
        for i in range(d):
            for j in range(vertex_dims[tail]):
                delta[row + i, vertex_start[tail] + j] -= from_tail[i][j]
            for j in range(vertex_dims[head]):
                delta[row + i, vertex_start[head] + j] += from_head[i][j]
        row += d
    return delta


def exact_rank(matrix: np.ndarray) -> int:
    """Rank by Gaussian elimination over the rationals: exact for the float entries as given."""
    rows = [[Fraction(float(x)) for x in row] for row in np.asarray(matrix)]  # exact: no rounding
    rank, n_cols = 0, len(rows[0]) if rows else 0
    for col in range(n_cols):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][col] != 0:
                factor = rows[r][col] / rows[rank][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def stacked(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


# ---------------------------------------------------------------------------------------------------------------------
# constant sheaves: H⁰ = components, H¹ = |E| − |V| + components

GRAPHS = {
    "path P4": (4, [(0, 1), (1, 2), (2, 3)], (1, 0)),
    "star K1,4": (5, [(0, 1), (0, 2), (3, 0), (0, 4)], (1, 0)),
    "cycle C3": (3, cycle(3), (1, 1)),
    "cycle C4": (4, cycle(4), (1, 1)),
    "cycle C5": (5, cycle(5), (1, 1)),
    "cycle C8": (8, cycle(8), (1, 1)),
    "K4": (4, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)], (1, 3)),
    "two triangles": (6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)], (2, 2)),
    "isolated vertex": (4, [(0, 1), (1, 2)], (2, 0)),
    "doubled edge": (3, [(0, 1), (0, 1), (1, 2)], (1, 1)),
    "antiparallel pair": (2, [(0, 1), (1, 0)], (1, 1)),
    "loop": (1, [(0, 0)], (1, 1)),
    "no edges": (3, [], (3, 0)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_constant_sheaf_betti_numbers_are_graph_invariants(name):
    n, pairs, expected = GRAPHS[name]
    c = components(n, pairs)
    assert expected == (c, len(pairs) - n + c)  # the hand values agree with the graph formulas
    assert constant(n, pairs).betti() == expected


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("name", ["path P4", "cycle C5", "K4", "two triangles", "isolated vertex", "doubled edge"])
def test_constant_stalk_rk_multiplies_betti_numbers_by_k(name, k):
    n, pairs, (h0, h1) = GRAPHS[name]
    assert constant(n, pairs, k).betti() == (k * h0, k * h1)


# ---------------------------------------------------------------------------------------------------------------------
# twisted cycles and holonomy


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_mobius_cycle_has_no_cohomology(n):
    for twist in range(n):  # wherever the twist sits, δ is invertible
        assert twisted_cycle(n, (twist,)).betti() == (0, 0)


@pytest.mark.parametrize(("n", "twists"), [(3, (0, 1)), (4, (0, 2)), (5, (1, 4)), (4, (0, 1, 2, 3))])
def test_an_even_number_of_twists_cancels(n, twists):
    assert twisted_cycle(n, twists).betti() == (1, 1)


def test_an_odd_number_of_twists_does_not_cancel():
    assert twisted_cycle(5, (0, 2, 4)).betti() == (0, 0)


def rotated_cycle(n: int, theta: float) -> Sheaf:
    """Stalk R² on C_n, each edge compares x_tail with R(θ) x_head: a section needs R(θ)^n x_0 = x_0."""
    return Sheaf([2] * n, [Edge(t, h, np.eye(2), rotation(theta)) for t, h in cycle(n)])


@pytest.mark.parametrize("n", [3, 4, 6])
def test_rotation_cycle_has_sections_exactly_when_the_holonomy_closes(n):
    for k in range(n):  # n·θ a multiple of 2π: holonomy is the identity, both dimensions are 2
        assert rotated_cycle(n, 2 * math.pi * k / n).betti() == (2, 2)
    assert rotated_cycle(n, math.pi / n).betti() == (0, 0)  # holonomy −I
    assert rotated_cycle(n, 0.3).betti() == (0, 0)  # a generic angle
    assert rotated_cycle(n, 2 * math.pi / n + 1e-3).betti() == (0, 0)  # close to closing is not closing


def test_reflection_holonomy_keeps_one_direction():
    edges = [
        Edge(0, 1, np.eye(2), np.eye(2)),
        Edge(1, 2, np.eye(2), np.eye(2)),
        Edge(2, 0, np.eye(2), np.diag([1, -1])),
    ]
    assert Sheaf([2, 2, 2], edges).betti() == (1, 1)  # fixed space of diag(1, −1) is one line


# ---------------------------------------------------------------------------------------------------------------------
# non-square restriction maps


def test_projections_to_the_line():
    first = np.array([[1.0, 0.0]])
    second = np.array([[0.0, 1.0]])
    # one edge comparing first coordinates of two planes: δ = [−1 0 1 0], rank 1
    assert Sheaf([2, 2], [Edge(0, 1, first, first)]).betti() == (3, 0)
    # a triangle of planes always comparing first coordinates: a constant-R cycle plus three free directions
    all_first = [Edge(t, h, first, first) for t, h in cycle(3)]
    assert Sheaf([2, 2, 2], all_first).betti() == (4, 1)
    # comparing first, then second, then first coordinates: rows have private columns x1a, x1b, x2a, rank 3
    mixed = [Edge(0, 1, first, first), Edge(1, 2, second, second), Edge(2, 0, first, first)]
    assert Sheaf([2, 2, 2], mixed).betti() == (3, 0)
    # 1-D arrays are read as a single row
    assert Sheaf([2, 2], [Edge(0, 1, np.array([1.0, 0.0]), np.array([0.0, 1.0]))]).betti() == (3, 0)


def test_inclusion_into_a_larger_edge_stalk():
    # R → R² by x ↦ (x, 0) against the identity on R²: rows (y_a − x, y_b), rank 2
    edge = Edge(0, 1, np.array([[1.0], [0.0]]), np.eye(2))
    assert Sheaf([1, 2], [edge]).betti() == (1, 0)
    # a zero-dimensional vertex stalk contributes nothing; the edge stalk R² is then all cohomology but rank 1
    assert Sheaf([0, 1], [Edge(0, 1, np.zeros((2, 0)), np.array([[1.0], [2.0]]))]).betti() == (0, 1)


# ---------------------------------------------------------------------------------------------------------------------
# the coboundary and the Laplacian


def test_coboundary_sign_convention_entry_by_entry():
    e0 = Edge(0, 1, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0], [6.0]]))
    e1 = Edge(1, 0, np.array([[7.0]]), np.array([[8.0, 9.0]]))
    delta = Sheaf([2, 1], [e0, e1]).coboundary()
    assert sparse.issparse(delta)
    assert delta.shape == (3, 3)
    expected = np.array(
        [
            [-1.0, -2.0, 5.0],  # e0: +F_head x_1 − F_tail x_0
            [-3.0, -4.0, 6.0],
            [8.0, 9.0, -7.0],  # e1 runs 1 → 0: +F_head at vertex 0, −F_tail at vertex 1
        ]
    )
    np.testing.assert_array_equal(delta.toarray(), expected)
    x = np.array([1.0, -1.0, 2.0])
    np.testing.assert_allclose(delta @ x, [(10 - (1 - 2)), (12 - (3 - 4)), (8 - 9) - 14])


def test_coboundary_shape_with_empty_pieces():
    assert Sheaf([2, 3], []).coboundary().shape == (0, 5)
    assert Sheaf([], []).coboundary().shape == (0, 0)
    loop = Sheaf([2], [Edge(0, 0, np.eye(2), np.eye(2))])
    np.testing.assert_array_equal(loop.coboundary().toarray(), np.zeros((2, 2)))  # F x − F x on a loop


@pytest.mark.parametrize("name", ["path P4", "cycle C5", "K4", "two triangles", "doubled edge", "isolated vertex"])
def test_constant_laplacian_is_the_graph_laplacian(name):
    n, pairs, (h0, _) = GRAPHS[name]
    graph = np.zeros((n, n))
    for t, h in pairs:  # D − A, counting multi-edges
        graph[t, t] += 1
        graph[h, h] += 1
        graph[t, h] -= 1
        graph[h, t] -= 1
    laplacian = constant(n, pairs).laplacian()
    assert sparse.issparse(laplacian)
    np.testing.assert_allclose(laplacian.toarray(), graph)
    eigenvalues = np.linalg.eigvalsh(graph)
    assert int((np.abs(eigenvalues) < 1e-9).sum()) == h0


def test_signed_laplacian_of_the_mobius_cycle():
    # C_4 with the edge 3 → 0 twisted: off-diagonal +1 on (0, 3), otherwise the cycle's −1
    expected = np.array([[2, -1, 0, 1], [-1, 2, -1, 0], [0, -1, 2, -1], [1, 0, -1, 2]], dtype=float)
    np.testing.assert_allclose(twisted_cycle(4, (3,)).laplacian().toarray(), expected)
    assert np.linalg.eigvalsh(expected).min() > 0.5  # 2 − 2cos(π/4) ≈ 0.586: no kernel, H⁰ = 0


SAMPLE_SHEAVES = {
    "constant K4 R^2": (
        [2, 2, 2, 2],
        [(t, h, np.eye(2), np.eye(2)) for t, h in [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]],
    ),
    "projections": (
        [2, 1, 3],
        [
            (0, 1, np.array([[1.0, -1.0]]), np.array([[2.0]])),
            (1, 2, np.array([[1.0], [0.0]]), np.array([[0.0, 1.0, 1.0], [1.0, 0.0, -1.0]])),
            (2, 0, np.array([[1.0, 1.0, 0.0]]), np.array([[0.0, 3.0]])),
            (0, 2, np.array([[1.0, 0.0]]), np.array([[1.0, 0.0, 0.0]])),
        ],
    ),
    "twisted C5": ([1] * 5, [(t, h, np.eye(1), -np.eye(1) if t == 4 else np.eye(1)) for t, h in cycle(5)]),
}


def build(name: str) -> tuple[Sheaf, np.ndarray]:
    dims, edges = SAMPLE_SHEAVES[name]
    return Sheaf(dims, [Edge(*e) for e in edges]), dense_delta(dims, edges)


@pytest.mark.parametrize("name", list(SAMPLE_SHEAVES))
def test_laplacian_is_delta_transpose_delta_psd_with_kernel_h0(name):
    sheaf, delta = build(name)
    np.testing.assert_array_equal(sheaf.coboundary().toarray(), delta)
    laplacian = sheaf.laplacian().toarray()
    np.testing.assert_allclose(laplacian, delta.T @ delta)
    np.testing.assert_allclose(laplacian, laplacian.T)
    eigenvalues = np.linalg.eigvalsh(laplacian)
    assert eigenvalues.min() > -1e-9
    rank = exact_rank(delta)
    assert int((eigenvalues < 1e-9).sum()) == delta.shape[1] - rank
    assert sheaf.betti() == (delta.shape[1] - rank, delta.shape[0] - rank)


# ---------------------------------------------------------------------------------------------------------------------
# the harmonic part of an edge cochain


@pytest.mark.parametrize("n", [3, 4, 6])
def test_zero_sum_cochain_on_a_cycle_is_a_coboundary(n):
    rng = np.random.default_rng(n)
    cochain = rng.normal(size=n)
    cochain -= cochain.mean()
    np.testing.assert_allclose(constant(n, cycle(n)).harmonic(cochain), np.zeros(n), atol=1e-10)


@pytest.mark.parametrize("n", [3, 4, 6])
def test_circulation_is_all_harmonic(n):
    np.testing.assert_allclose(constant(n, cycle(n)).harmonic(np.ones(n)), np.ones(n), atol=1e-10)


def test_cycle_harmonic_part_is_the_mean_circulation():
    cochain = np.array([3.0, -1.0, 4.0, 2.0])  # mean 2: ker δᵀ on a consistently oriented cycle is span(1)
    np.testing.assert_allclose(constant(4, cycle(4)).harmonic(cochain), np.full(4, 2.0), atol=1e-10)


def test_tree_has_no_harmonic_part():
    n, pairs, _ = GRAPHS["star K1,4"]
    np.testing.assert_allclose(constant(n, pairs).harmonic(np.array([1.0, -2.0, 5.0, 0.5])), np.zeros(4), atol=1e-10)


@pytest.mark.parametrize("name", list(SAMPLE_SHEAVES))
def test_harmonic_decomposition(name):
    sheaf, delta = build(name)
    cochain = np.random.default_rng(7).normal(size=delta.shape[0])
    harmonic = sheaf.harmonic(cochain)
    kernel = null_space(delta.T)  # an orthonormal basis of ker δᵀ, computed independently
    np.testing.assert_allclose(harmonic, kernel @ (kernel.T @ cochain), atol=1e-9)
    np.testing.assert_allclose(delta.T @ harmonic, np.zeros(delta.shape[1]), atol=1e-9)  # orthogonal to im δ
    exact = cochain - harmonic
    x = np.linalg.lstsq(delta, exact, rcond=None)[0]
    np.testing.assert_allclose(delta @ x, exact, atol=1e-9)  # the rest is a coboundary


# ---------------------------------------------------------------------------------------------------------------------
# extend: the obstruction to extending observed values


@pytest.mark.parametrize("n", [3, 4, 5])
def test_consistent_cycle_extends_with_no_obstruction(n):
    extension = constant(n, cycle(n), 2).extend({0: np.array([1.5, -2.0])})
    assert extension.energy < 1e-20
    assert extension.h0 == 0 and extension.h1 == 2  # free cells 2(n − 1), rank of δ on them 2(n − 1)
    np.testing.assert_array_equal(extension.values[0], [1.5, -2.0])


@pytest.mark.parametrize("n", [3, 4, 5])
def test_consistent_cycle_free_vertices_take_the_observed_value(n):
    extension = constant(n, cycle(n), 2).extend({0: np.array([1.5, -2.0])})
    for v in range(n):
        np.testing.assert_allclose(extension.values[v], [1.5, -2.0], atol=1e-10)


def test_twisted_cycle_has_an_obstruction():
    # C_4 with the edge 3 → 0 twisted, x_0 = 1: minimise (x1 − 1)² + (x2 − x1)² + (x3 − x2)² + (−1 − x3)²,
    # a walk from 1 to −1 in four steps: each step −1/2, total energy 4 · 1/4 = 1
    extension = twisted_cycle(4, (3,)).extend({0: [1.0]})
    assert extension.energy == pytest.approx(1.0)
    np.testing.assert_allclose(extension.edge_energy(), np.full(4, 0.25))
    np.testing.assert_allclose(stacked(extension.residual), np.full(4, -0.5))
    assert (extension.h0, extension.h1) == (0, 1)
    np.testing.assert_array_equal(extension.values[0], [1.0])


def test_twisted_cycle_best_extension_values():
    extension = twisted_cycle(4, (3,)).extend({0: [1.0]})
    np.testing.assert_allclose([extension.values[v][0] for v in range(4)], [1.0, 0.5, 0.0, -0.5], atol=1e-10)


def test_extension_values_reproduce_the_residual():
    sheaf, delta = build("projections")
    extension = sheaf.extend({1: [2.0]})
    values = np.concatenate([extension.values[v] for v in range(3)])
    np.testing.assert_allclose(delta @ values, stacked(extension.residual), atol=1e-9)


def test_twisted_cycle_extends_zero():
    extension = twisted_cycle(5, (2,)).extend({0: [0.0]})
    assert extension.energy < 1e-20
    for v in range(5):
        np.testing.assert_allclose(extension.values[v], [0.0], atol=1e-12)


def test_path_with_both_ends_observed():
    # 0 — 1 — 2 with x0 = 2, x2 = 4: the residual (x1 − 2, 4 − x1) is least at x1 = 3, leaving (1, 1)
    extension = constant(3, [(0, 1), (1, 2)]).extend({0: [2.0], 2: [4.0]})
    np.testing.assert_allclose(stacked(extension.residual), [1.0, 1.0], atol=1e-10)
    assert extension.energy == pytest.approx(2.0)
    assert (extension.h0, extension.h1) == (0, 1)
    np.testing.assert_array_equal(extension.values[0], [2.0])
    np.testing.assert_array_equal(extension.values[2], [4.0])


def test_extend_relative_betti_numbers():
    # two components 0 — 1 and 2 — 3, observe 0: free columns 1, 2, 3, δ on them has rank 2
    extension = constant(4, [(0, 1), (2, 3)]).extend({0: [1.0]})
    assert (extension.h0, extension.h1) == (1, 0)
    # nothing observed: the absolute Betti numbers (K4: (1, 3))
    n, pairs, expected = GRAPHS["K4"]
    assert (lambda e: (e.h0, e.h1))(constant(n, pairs).extend({})) == expected
    # everything observed: no free cells, every edge cell is relative cohomology, the residual is δ of the values
    everything = constant(2, [(0, 1)]).extend({0: [1.0], 1: [3.0]})
    assert (everything.h0, everything.h1) == (0, 1)
    np.testing.assert_allclose(stacked(everything.residual), [2.0])
    # projections leave a free direction at the free plane
    first = np.array([[1.0, 0.0]])
    planes = Sheaf([2, 2], [Edge(0, 1, first, first)]).extend({0: [1.0, 5.0]})
    assert (planes.h0, planes.h1) == (1, 0)


@pytest.mark.parametrize("name", list(SAMPLE_SHEAVES))
def test_extend_residual_is_orthogonal_to_the_free_columns(name):
    sheaf, delta = build(name)
    dims = SAMPLE_SHEAVES[name][0]
    observed = {0: np.arange(1.0, dims[0] + 1)}
    extension = sheaf.extend(observed)
    residual = stacked(extension.residual)
    free = delta[:, dims[0] :]
    np.testing.assert_allclose(free.T @ residual, np.zeros(free.shape[1]), atol=1e-9)
    rank = exact_rank(free)
    assert (extension.h0, extension.h1) == (free.shape[1] - rank, delta.shape[0] - rank)
    assert extension.energy == pytest.approx(float(extension.edge_energy().sum()))
    assert extension.energy == pytest.approx(float(residual @ residual))
    np.testing.assert_array_equal(extension.values[0], observed[0])
    assert set(extension.values) == set(range(len(dims)))


# ---------------------------------------------------------------------------------------------------------------------
# bad input


def test_bad_restriction_map_shapes():
    with pytest.raises(ValueError, match=r"restriction maps \(2, 2\) and \(1, 1\) do not map stalks"):
        Sheaf([2, 1], [Edge(0, 1, np.eye(2), np.eye(1))])  # edge stalks of different dimension
    with pytest.raises(ValueError, match="dimension 2 and 1"):
        Sheaf([2, 1], [Edge(0, 1, np.eye(1), np.eye(1))])  # tail map takes R¹, the tail stalk is R²
    with pytest.raises(ValueError, match="do not map stalks"):
        Sheaf([2, 2], [Edge(0, 1, np.eye(2), np.ones((2, 3)))])


@pytest.mark.parametrize(("tail", "head"), [(0, 2), (-1, 0), (5, 1)])
def test_edge_vertex_out_of_range(tail, head):
    with pytest.raises(ValueError, match=r"names a vertex outside 0\.\.1"):
        Sheaf([1, 1], [Edge(tail, head, np.eye(1), np.eye(1))])


@pytest.mark.parametrize("dim", [-1, 1.5, 2.0, "2", True, None])
def test_bad_vertex_dims(dim):
    with pytest.raises(ValueError, match="non-negative integer"):
        Sheaf([1, dim], [])


def test_numpy_integer_dims_are_accepted():
    assert Sheaf([np.int64(2)], []).betti() == (2, 0)


def test_wrong_observed_value_length():
    with pytest.raises(ValueError, match="vertex 1 has a stalk of dimension 2, not 3"):
        constant(3, [(0, 1)], 2).extend({1: [1.0, 2.0, 3.0]})


@pytest.mark.parametrize("vertex", [3, -1])
def test_observed_vertex_out_of_range(vertex):
    with pytest.raises(ValueError, match=f"no vertex {vertex}: this sheaf has 3"):
        constant(3, [(0, 1)]).extend({vertex: [1.0]})


@pytest.mark.parametrize("shape", [(2,), (4,), (3, 1)])
def test_wrong_cochain_length(shape):
    with pytest.raises(ValueError, match="an edge cochain here has 3 entries"):
        constant(3, cycle(3)).harmonic(np.zeros(shape))


def test_too_large_sheaf_is_refused(monkeypatch):
    monkeypatch.setattr(sheaf_module, "MAX_ENTRIES", 15)
    big = constant(4, cycle(4))  # 4 × 4 = 16 dense cells
    with pytest.raises(ValueError, match="sheaf too large for exact rank"):
        big.betti()
    with pytest.raises(ValueError, match="sheaf too large"):
        big.harmonic(np.ones(4))
    with pytest.raises(ValueError, match="sheaf too large"):
        big.extend({0: [1.0]})
    assert big.laplacian().shape == (4, 4)  # the sparse objects are still available
    assert constant(3, cycle(3)).betti() == (1, 1)  # 9 cells: under the limit


# ---------------------------------------------------------------------------------------------------------------------
# properties on random small sheaves


@st.composite
def random_sheaves(draw):
    n = draw(st.integers(1, 5))
    dims = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    entry = st.integers(-2, 2)
    edges = []
    for _ in range(draw(st.integers(0, 7))):
        tail, head = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        d = draw(st.integers(0, 3))
        from_tail = np.array(
            draw(st.lists(st.lists(entry, min_size=dims[tail], max_size=dims[tail]), min_size=d, max_size=d)),
            dtype=float,
        ).reshape(d, dims[tail])
        from_head = np.array(
            draw(st.lists(st.lists(entry, min_size=dims[head], max_size=dims[head]), min_size=d, max_size=d)),
            dtype=float,
        ).reshape(d, dims[head])
        edges.append((tail, head, from_tail, from_head))
    observed_vertices = draw(st.sets(st.integers(0, n - 1)))
    return dims, edges, observed_vertices


@settings(max_examples=80, deadline=None)
@given(random_sheaves())
def test_random_sheaf_rank_nullity_and_exact_betti(case):
    dims, edges, _ = case
    sheaf = Sheaf(dims, [Edge(*e) for e in edges])
    delta = dense_delta(dims, edges)
    np.testing.assert_array_equal(sheaf.coboundary().toarray(), delta)
    h0, h1 = sheaf.betti()
    assert h0 - h1 == sheaf.vertex_cells - sheaf.edge_cells == delta.shape[1] - delta.shape[0]
    rank = exact_rank(delta) if delta.size else 0
    assert (h0, h1) == (delta.shape[1] - rank, delta.shape[0] - rank)


@settings(max_examples=80, deadline=None)
@given(random_sheaves())
def test_random_sheaf_extend_residual_orthogonality(case):
    dims, edges, observed_vertices = case
    sheaf = Sheaf(dims, [Edge(*e) for e in edges])
    delta = dense_delta(dims, edges)
    observed = {v: np.arange(1.0, dims[v] + 1) * (v + 1) for v in observed_vertices}
    extension = sheaf.extend(observed)
    residual = stacked(extension.residual)
    assert residual.shape == (delta.shape[0],)
    free_columns = [c for v in range(len(dims)) if v not in observed for c in range(sum(dims[:v]), sum(dims[: v + 1]))]
    free = delta[:, free_columns]
    np.testing.assert_allclose(free.T @ residual, np.zeros(len(free_columns)), atol=1e-8)
    fixed_part = np.zeros(delta.shape[1])
    for v, value in observed.items():
        fixed_part[sum(dims[:v]) : sum(dims[: v + 1])] = value
    offset = delta @ fixed_part  # the residual of least squares is unique: |δ_free y + δ_fixed g| at its minimum
    best = np.linalg.pinv(free) @ -offset if free.size else np.zeros(len(free_columns))
    np.testing.assert_allclose(residual, free @ best + offset, atol=1e-8)
    rank = exact_rank(free) if free.size else 0
    assert (extension.h0, extension.h1) == (len(free_columns) - rank, delta.shape[0] - rank)
    assert extension.energy == pytest.approx(float(extension.edge_energy().sum()), abs=1e-9)
    for v, value in observed.items():
        np.testing.assert_array_equal(extension.values[v], value)
