"""The contradiction check: a cellular sheaf over the current claims about one subject and attribute in one project,
and the part of their disagreement that no value of the fact can explain (docs/ARCHITECTURE.md, "Claims and
contradictions", has a worked example).

The graph. Vertices are the claims, and one "slot" for each time cell: the spans between the times the claims
start, the last one open. A slot stands for the fact's unknown true value during its cell. Each claim is joined
to every slot from its start on; a claim's time (and so the slots it reaches) comes from its text or its memory.

The stalks. A slot holds a value over the component's k distinct values, R^k. A claim holds one number: 1 when it
asserts its value, 0 when it denies it. The restriction maps say how a claim is compared with the slot:

- an asserted value of a single-valued attribute ("the database is MySQL") is compared in full: the edge stalk is
  R^k, the claim maps 1 to the one-hot vector of its value, the slot maps by the identity. The slot agrees only
  if it is that value and no other;
- a denial ("does not use Redis") and any claim of a many-valued attribute ("depends on requests") speak about
  their own value only: the edge stalk is R, the slot maps by the projection on that value's coordinate.

Every map of a claim's edges is scaled by the square root of the claim's trust, so a distrusted source pulls the
slots less and carries more of the disagreement.

The check. The claims are observed, the slots free: `Sheaf.extend` chooses the slot values that best agree with
every claim (least squares) and returns δ of that extension, the harmonic part of the discrepancy, which lies in
the relative H¹. Agreeing claims and paraphrases (one canonical value) leave it zero; an update never reaches it,
because superseded claims are closed before the check (only current claims are vertices). What is left on the
current cell's edges is the contradiction: its energy is the severity, its share per claim says which claims
carry it. Its unit is the most trusted claim's weight: two equally trusted claims of different values give
severity 1, a claim against an equally trusted denial of it 0.5.
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
