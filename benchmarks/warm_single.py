"""Warm recall in one process alone: p50 / p95 of `Memory.recall(q, k=10)` over `corpus.queries` (issue 20), and
what the int8 scan's pool costs in quality: the vector channel's recall@10 and @100 and the whole recall's top 10,
each against the same search made exact (a pool covering every row).

`benchmarks/warm_recall.py` pairs two versions in two worker processes, which also disturb each other; this one
times one tree by itself, for the absolute figure. Run it for each tree in turn, on the same store copy:

    SLM_HOME=/tmp/slm-bench-home PYTHONSAFEPATH=1 PYTHONPATH=TREE \
        .venv/bin/python benchmarks/warm_single.py TREE STORE [N]

N limits the quality check to the first N questions: at 1M each exact search copies the whole float32 matrix.

The quality check needs a tree with the int8 scan (`vector_index.MIN_POOL`); it also asks 100 questions made of
the store's own memories (their first 12 words), which sit closer to their neighbours than the corpus questions.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time


def main() -> None:
    tree, store = sys.argv[1], sys.argv[2]
    checked = int(sys.argv[3]) if len(sys.argv) > 3 else None  # questions for the quality check (default: all)
    sys.path.insert(0, tree)
    from benchmarks import corpus
    from slm import Memory

    questions = corpus.queries(220)
    took = []
    with Memory.open(store) as mem:
        for question in questions[:20]:  # warm-up: the model, the mirror, the keyword thread
            mem.recall(question, k=10)
        for question in questions[20:]:
            start = time.perf_counter()
            mem.recall(question, k=10)
            took.append((time.perf_counter() - start) * 1e3)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the exact search maps it all
        quality = pool_against_exact(mem, (questions[20:] + own_questions(mem, 100))[:checked])
    took.sort()
    p50, p95 = statistics.median(took), took[int(0.95 * len(took))]
    figures = {"tree": tree, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "peak_rss_mb": round(rss_mb)}
    figures["load"] = os.getloadavg()[0]
    print(json.dumps(figures | quality))


def own_questions(mem, n: int) -> list[str]:
    from slm.storage.memories import MemoryFilter

    ids = mem.store.repo.ids_matching(MemoryFilter())[::997][:n]
    return [" ".join(memory.content.split()[:12]) for memory in mem.get_many([int(i) for i in ids])]


def pool_against_exact(mem, questions: list[str]) -> dict:
    """Recall@10 and @100 of the vector channel, and the share of whole recalls with the same top 10 in the same
    order, with the int8 pool against the exact search; ties at the k-th score count as found."""
    from slm.embedding import vector_index
    from slm.recall.channels import vector
    from slm.storage.memories import MemoryFilter

    if not hasattr(vector_index, "MIN_POOL"):
        return {}
    index, repo = mem.store.synced_index(), mem.store.repo
    found = {10: 0, 100: 0}
    same_top = 0
    for question in questions:
        query = mem.store.query_vector(question)
        pooled = vector.ranked(index, repo, query, MemoryFilter(live=True), 100)
        pooled_top = [hit.id for hit in mem.recall(question, k=10)]
        kept, vector_index.MIN_POOL = vector_index.MIN_POOL, 10**9
        try:
            exact = vector.ranked(index, repo, query, MemoryFilter(live=True), 100)
            exact_top = [hit.id for hit in mem.recall(question, k=10)]
        finally:
            vector_index.MIN_POOL = kept
        same_top += pooled_top == exact_top
        scores = dict(exact)
        for k in found:
            wanted = exact[:k]
            if not wanted:  # nothing to find: nothing missed
                found[k] += 1
                continue
            kth = wanted[-1][1]
            found[k] += sum(scores.get(i, -1.0) >= kth - 1e-6 for i, _ in pooled[:k]) / len(wanted)
    n = len(questions)
    return {
        "questions_checked": n,
        "vector_recall_at_10": round(found[10] / n, 4),
        "vector_recall_at_100": round(found[100] / n, 4),
        "same_top_10": same_top,
    }


if __name__ == "__main__":
    main()
