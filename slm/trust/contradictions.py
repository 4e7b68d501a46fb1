"""The contradiction check: a cellular sheaf over the current claims about one subject and attribute in one project,
and the part of their disagreement that no value of the fact can explain.

Vertices are the claims and one slot per time cell; restriction maps say how a claim is compared with a slot,
scaled by √trust. `Sheaf.extend` fixes the claims, chooses the slots by least squares and leaves the harmonic part
of the discrepancy: zero when the claims agree, and on the current cell's edges the contradiction, whose energy is
the severity and whose share per claim says which claims carry it. The construction and a worked example:
docs/ARCHITECTURE.md, "Claims and contradictions".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from slm.storage.claims import ClaimRow
from slm.trust.sheaf import Edge, Sheaf

MIN_SEVERITY = 0.2  # below: a source trusted under a tenth as much as the one it disagrees with
MAX_CLAIMS = 32  # current claims per component checked (the newest): with MAX_CELLS, δ stays under 10k rows
MAX_CELLS = 8  # time cells: those of the newest starts; older claims reach all of them
TIE = 0.05  # residual shares this close are a tie: no source stands out as the odd one


@dataclass(frozen=True)
class Finding:
    severity: float  # energy of the harmonic part on the current cell's edges
    residuals: dict[int, float]  # claim id -> the energy on its edges into the current cell, for carriers only

    def carriers(self) -> list[int]:
        return sorted(self.residuals, key=lambda i: (-self.residuals[i], i))


def check(claims: list[ClaimRow], trusts: Mapping[int, float]) -> Finding | None:
    """The contradiction among `claims` (current, one component), or None when they can all hold."""
    claims = sorted(claims, key=lambda c: (c.valid_from, c.id))[-MAX_CLAIMS:]
    if len({(c.value, c.polarity) for c in claims}) < 2:
        return None
    values = {value: i for i, value in enumerate(sorted({c.value for c in claims}))}
    starts = sorted({c.valid_from for c in claims})[-MAX_CELLS:]
    k, n = len(values), len(claims)
    edges, owners = [], []
    for position, claim in enumerate(claims):
        weight = float(np.sqrt(max(trusts.get(claim.id, 1.0), 1e-6)))
        from_claim, from_slot = _maps(claim, values[claim.value], k)
        for cell, start in enumerate(starts):
            if start >= claim.valid_from:
                edges.append(Edge(position, n + cell, weight * from_claim, weight * from_slot))
                owners.append((position, cell))
    sheaf = Sheaf([1] * n + [k] * len(starts), edges)
    extension = sheaf.extend({i: [1.0 if c.polarity > 0 else 0.0] for i, c in enumerate(claims)})
    energy = extension.edge_energy()
    last = len(starts) - 1
    residuals: dict[int, float] = {}
    for (position, cell), part in zip(owners, energy, strict=True):
        if cell == last and part > 1e-9:
            residuals[claims[position].id] = residuals.get(claims[position].id, 0.0) + float(part)
    # in units of the most trusted claim's weight: two equally trusted sources that disagree score 1 at any trust
    severity = sum(residuals.values()) / max(trusts.get(c.id, 1.0) for c in claims)
    if severity < MIN_SEVERITY:
        return None
    return Finding(severity, residuals)


def odd_one_out(finding: Finding, claims: Mapping[int, ClaimRow], verified: Mapping[str, bool]) -> ClaimRow | None:
    """The claim a trust signal should go against: the one carrying clearly the most of the disagreement (the less
    trusted or outvoted source); on a tie, the older one if its author is unverified; else none, because a newer
    fact is not wrong for being newer."""
    ranked = finding.carriers()
    first = claims[ranked[0]]
    if len(ranked) == 1 or finding.residuals[ranked[1]] < (1 - TIE) * finding.residuals[ranked[0]]:
        return first
    tied = [claims[i] for i in ranked if finding.residuals[i] >= (1 - TIE) * finding.residuals[ranked[0]]]
    oldest = min(tied, key=lambda c: (c.valid_from, c.id))
    newer = [c for c in tied if c is not oldest]
    if not verified.get(oldest.principal, False) and all(c.principal != oldest.principal for c in newer):
        return oldest
    return None


def _maps(claim: ClaimRow, index: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(claim -> edge, slot -> edge) restriction maps, before the trust weight."""
    one_hot = np.zeros((k, 1))
    one_hot[index, 0] = 1.0
    if claim.single and claim.polarity > 0:
        return one_hot, np.eye(k)
    return np.ones((1, 1)), one_hot.T
