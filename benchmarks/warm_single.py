"""Warm recall in one process alone: p50 / p95 of `Memory.recall(q, k=10)` over `corpus.queries` (issue 20).

`benchmarks/warm_recall.py` pairs two versions in two worker processes, which also disturb each other; this one
times one tree by itself, for the absolute figure. Run it for each tree in turn, on the same store copy:

    SLM_HOME=/tmp/slm-bench-home PYTHONSAFEPATH=1 PYTHONPATH=TREE .venv/bin/python benchmarks/warm_single.py TREE STORE
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time


def main() -> None:
    tree, store = sys.argv[1], sys.argv[2]
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
    took.sort()
    p50, p95 = statistics.median(took), took[int(0.95 * len(took))]
    print(json.dumps({"tree": tree, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
