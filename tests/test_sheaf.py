"""Cellular sheaves on graphs: the coboundary, and the obstruction left by `extend` (twisted cycles, relative Betti
numbers). Expected values are computed by hand or from an independent dense construction with exact (rational)
rank, never from the module's own output."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

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
# the coboundary


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
def test_coboundary_is_the_independent_construction(name):
    sheaf, delta = build(name)
    np.testing.assert_array_equal(sheaf.coboundary().toarray(), delta)


def test_restriction_maps_as_one_row_or_from_an_empty_stalk():
    # 1-D arrays are read as a single row
    one_row = Sheaf([2, 2], [Edge(0, 1, np.array([1.0, 0.0]), np.array([0.0, 1.0]))])
    np.testing.assert_array_equal(one_row.coboundary().toarray(), [[-1.0, 0.0, 0.0, 1.0]])
    # a zero-dimensional vertex stalk contributes no column
    empty = Sheaf([0, 1], [Edge(0, 1, np.zeros((2, 0)), np.array([[1.0], [2.0]]))])
    np.testing.assert_array_equal(empty.coboundary().toarray(), [[1.0], [2.0]])


# ---------------------------------------------------------------------------------------------------------------------
# extend: the obstruction to extending observed values


@pytest.mark.parametrize("n", [3, 4, 5])
def test_consistent_cycle_extends_with_no_obstruction(n):
    extension = constant(n, cycle(n), 2).extend({0: np.array([1.5, -2.0])})
    assert extension.edge_energy().sum() < 1e-20
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
    assert extension.edge_energy().sum() == pytest.approx(1.0)
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
    assert extension.edge_energy().sum() < 1e-20
    for v in range(5):
        np.testing.assert_allclose(extension.values[v], [0.0], atol=1e-12)


def test_path_with_both_ends_observed():
    # 0 — 1 — 2 with x0 = 2, x2 = 4: the residual (x1 − 2, 4 − x1) is least at x1 = 3, leaving (1, 1)
    extension = constant(3, [(0, 1), (1, 2)]).extend({0: [2.0], 2: [4.0]})
    np.testing.assert_allclose(stacked(extension.residual), [1.0, 1.0], atol=1e-10)
    assert extension.edge_energy().sum() == pytest.approx(2.0)
    assert (extension.h0, extension.h1) == (0, 1)
    np.testing.assert_array_equal(extension.values[0], [2.0])
    np.testing.assert_array_equal(extension.values[2], [4.0])


def test_extend_relative_betti_numbers():
    # two components 0 — 1 and 2 — 3, observe 0: free columns 1, 2, 3, δ on them has rank 2
    extension = constant(4, [(0, 1), (2, 3)]).extend({0: [1.0]})
    assert (extension.h0, extension.h1) == (1, 0)
    # nothing observed: the absolute Betti numbers (K4: (1, 3))
    k4 = constant(4, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]).extend({})
    assert (k4.h0, k4.h1) == (1, 3)
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
    assert float(extension.edge_energy().sum()) == pytest.approx(float(residual @ residual))
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
    assert Sheaf([np.int64(2)], []).vertex_cells == 2


def test_wrong_observed_value_length():
    with pytest.raises(ValueError, match="vertex 1 has a stalk of dimension 2, not 3"):
        constant(3, [(0, 1)], 2).extend({1: [1.0, 2.0, 3.0]})


@pytest.mark.parametrize("vertex", [3, -1])
def test_observed_vertex_out_of_range(vertex):
    with pytest.raises(ValueError, match=f"no vertex {vertex}: this sheaf has 3"):
        constant(3, [(0, 1)]).extend({vertex: [1.0]})


def test_too_large_sheaf_is_refused(monkeypatch):
    monkeypatch.setattr(sheaf_module, "MAX_ENTRIES", 15)
    big = constant(4, cycle(4))  # 4 × 4 = 16 dense cells
    with pytest.raises(ValueError, match="sheaf too large for exact rank"):
        big.extend({0: [1.0]})
    assert big.coboundary().shape == (4, 4)  # the sparse coboundary is still available
    assert constant(3, cycle(3)).extend({0: [1.0]}).h1 == 1  # 9 cells: under the limit


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
def test_random_sheaf_coboundary_and_exact_betti(case):
    dims, edges, _ = case
    sheaf = Sheaf(dims, [Edge(*e) for e in edges])
    delta = dense_delta(dims, edges)
    np.testing.assert_array_equal(sheaf.coboundary().toarray(), delta)
    np.testing.assert_array_equal(sheaf._dense(), delta)  # what `extend` solves with, built without scipy
    nothing_observed = sheaf.extend({})  # relative to no observation: the absolute Betti numbers
    h0, h1 = nothing_observed.h0, nothing_observed.h1
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
    assert float(extension.edge_energy().sum()) == pytest.approx(float(residual @ residual), abs=1e-9)
    for v, value in observed.items():
        np.testing.assert_array_equal(extension.values[v], value)
