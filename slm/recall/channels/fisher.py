"""The Fisher channel: candidates re-ranked by the Fisher–Rao distance between their Gaussians and the
question's (slm.recall.fisher has the mathematics)."""

from __future__ import annotations

import numpy as np

from slm.recall import fisher


def ranked(
    query: fisher.Observations, candidates: list[int], gaussians: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> list[tuple[int, float]]:
    """The candidates by the Fisher–Rao distance between their Gaussians and the query's, nearest first (the
    score is the distance). `gaussians` is (n, mean, m2) of each candidate, as rows in candidate order."""
    if not candidates:
        return []
    n, mean, m2 = gaussians
    sigma = np.sqrt(fisher.posterior_variance(n, m2))
    distance = fisher.fisher_rao(query.mean, np.sqrt(query.variance()), mean, sigma)
    order = np.lexsort((np.asarray(candidates), distance))
    return [(candidates[i], float(distance[i])) for i in order]
