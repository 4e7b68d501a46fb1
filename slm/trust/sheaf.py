"""Cellular sheaves on graphs: the coboundary δ⁰ and the part of a discrepancy that no choice of vertex values can
explain, which is what the contradiction check measures.

A sheaf gives every vertex v a stalk R^{d_v}, every edge e a stalk R^{d_e}, and every end of an edge a restriction
map F_{v◁e}: R^{d_v} → R^{d_e} saying how the vertex's value is compared on that edge. The coboundary of a vertex
assignment x is, on an edge e from `tail` to `head`, (δx)_e = F_{head◁e} x_head − F_{tail◁e} x_tail: what the two
ends disagree about. Assignments with δx = 0 are the global sections, H⁰ = ker δ; with no 2-cells on a graph,
H¹ = C¹ / im δ, the edge discrepancies that are not the coboundary of any assignment. Both dimensions come from
the rank of δ.

`extend` is the question a contradiction check asks: some vertices are observed (their values fixed), the others
are free; choose the free values that make the edges agree best (least squares). What is left, δ of the best
extension, is orthogonal to every change of the free values: the harmonic part, an element of the relative H¹.
It is zero exactly when the observations extend to a global section. Its support is where the contradiction is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

MAX_ENTRIES = 4_000_000  # dense cells of δ (32 MB) beyond which rank and least squares are refused: bound the graph


@dataclass(frozen=True)
class Edge:
    tail: int
    head: int
    from_tail: np.ndarray  # F_{tail◁e}: (edge dim × tail dim)
    from_head: np.ndarray  # F_{head◁e}: (edge dim × head dim)

    @property
    def dim(self) -> int:
        return self.from_tail.shape[0]


@dataclass(frozen=True)
class Extension:
    """The best extension of observed vertex values and what it leaves unexplained."""

    values: dict[int, np.ndarray]  # every vertex: observed as given, free ones solved
    residual: list[np.ndarray]  # per edge: δ of the extension, the harmonic part of the discrepancy
    h0: int  # dim of the free values' freedom: ways to change them without changing any edge
    h1: int  # dim of the relative H¹: independent discrepancies no free value can absorb

    def edge_energy(self) -> np.ndarray:
        return np.array([float(part @ part) for part in self.residual])


class Sheaf:
    def __init__(self, vertex_dims: Sequence[int], edges: Sequence[Edge]) -> None:
        self.vertex_dims = [_dim(d, "vertex stalk") for d in vertex_dims]
        self.edges = [_checked(edge, self.vertex_dims) for edge in edges]
        self.vertex_offsets = np.concatenate([[0], np.cumsum(self.vertex_dims, dtype=int)]).astype(int)
        self.edge_offsets = np.concatenate([[0], np.cumsum([e.dim for e in self.edges], dtype=int)]).astype(int)

    @property
    def vertex_cells(self) -> int:
        return int(self.vertex_offsets[-1])

    @property
    def edge_cells(self) -> int:
        return int(self.edge_offsets[-1])

    def coboundary(self) -> sparse.csr_array:
        """δ⁰ as a sparse (edge cells × vertex cells) matrix: each edge's rows hold −F_tail and +F_head (for a sheaf
        too large for `extend`'s dense δ)."""
        from scipy import sparse  # here, not at the top: importing scipy costs one-shot commands ~0.2 s

        rows, cols, vals = [], [], []
        for edge_rows, vertex_cols, block in self._blocks():
            r, c = np.nonzero(block)
            rows.append(r + edge_rows.start)
            cols.append(c + vertex_cols.start)
            vals.append(block[r, c])
        shape = (self.edge_cells, self.vertex_cells)
        if not rows:
            return sparse.csr_array(shape)
        coo = sparse.coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
        return coo.tocsr()  # duplicate entries (a loop edge) are summed

    def _blocks(self) -> Iterator[tuple[slice, slice, np.ndarray]]:
        """δ⁰ block by block: (its edge's rows, its vertex's columns, −F_tail or +F_head)."""
        for index, edge in enumerate(self.edges):
            rows = slice(int(self.edge_offsets[index]), int(self.edge_offsets[index + 1]))
            for sign, vertex, block in ((-1.0, edge.tail, edge.from_tail), (1.0, edge.head, edge.from_head)):
                yield rows, self._cells(vertex), sign * block

    def extend(self, observed: Mapping[int, np.ndarray]) -> Extension:
        """Fix the observed vertices, choose the others by least squares, and return what stays in disagreement."""
        fixed = np.zeros(self.vertex_cells, dtype=bool)
        given = np.zeros(self.vertex_cells)
        for vertex, value in observed.items():
            cells = self._cells(vertex)
            value = np.asarray(value, dtype=float).reshape(-1)
            if value.shape[0] != cells.stop - cells.start:
                size = cells.stop - cells.start
                raise ValueError(f"vertex {vertex} has a stalk of dimension {size}, not {value.size}")
            fixed[cells], given[cells] = True, value
        delta = self._dense()
        free = delta[:, ~fixed]
        solution, residual = _unexplained(free, -(delta[:, fixed] @ given[fixed]))
        full = given.copy()
        full[~fixed] = solution
        rank = _rank(free)
        values = {v: full[self._cells(v)] for v in range(len(self.vertex_dims))}
        parts = [-residual[a:b] for a, b in zip(self.edge_offsets[:-1], self.edge_offsets[1:], strict=True)]
        return Extension(values, parts, int((~fixed).sum()) - rank, self.edge_cells - rank)

    def _cells(self, vertex: int) -> slice:
        if not 0 <= vertex < len(self.vertex_dims):
            raise ValueError(f"no vertex {vertex}: this sheaf has {len(self.vertex_dims)}")
        return slice(int(self.vertex_offsets[vertex]), int(self.vertex_offsets[vertex + 1]))

    def _dense(self) -> np.ndarray:
        if self.edge_cells * self.vertex_cells > MAX_ENTRIES:
            raise ValueError(
                f"sheaf too large for exact rank: {self.edge_cells} × {self.vertex_cells} cells "
                f"(limit {MAX_ENTRIES:,}); check smaller components"
            )
        delta = np.zeros((self.edge_cells, self.vertex_cells))
        for rows, cols, block in self._blocks():  # not through scipy: that was ~2/3 of a small check's time
            delta[rows, cols] += block
        return delta


def _unexplained(matrix: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x minimising |Ax − b|, and b − Ax: the part of b outside the column space of A."""
    if matrix.shape[1] == 0 or matrix.shape[0] == 0:
        return np.zeros(matrix.shape[1]), target.copy()
    solution = np.linalg.lstsq(matrix, target, rcond=None)[0]
    return solution, target - matrix @ solution


def _rank(matrix: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(matrix)) if matrix.size else 0


def _dim(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"a {what} dimension is a non-negative integer, not {value!r}")
    return int(value)


def _checked(edge: Edge, dims: list[int]) -> Edge:
    for end in (edge.tail, edge.head):
        if not 0 <= end < len(dims):
            raise ValueError(f"edge ({edge.tail}, {edge.head}) names a vertex outside 0..{len(dims) - 1}")
    tail = np.atleast_2d(np.asarray(edge.from_tail, dtype=float))
    head = np.atleast_2d(np.asarray(edge.from_head, dtype=float))
    if tail.shape[1] != dims[edge.tail] or head.shape[1] != dims[edge.head] or tail.shape[0] != head.shape[0]:
        raise ValueError(
            f"edge ({edge.tail}, {edge.head}): restriction maps {tail.shape} and {head.shape} do not map stalks of "
            f"dimension {dims[edge.tail]} and {dims[edge.head]} into one edge stalk"
        )
    return Edge(edge.tail, edge.head, tail, head)
