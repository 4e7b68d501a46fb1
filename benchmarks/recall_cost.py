"""What each recall option costs on a large store: variants interleaved on the same queries, as paired differences.

Each query is asked once per variant per repetition, the variants in random order, after a warm-up; a variant's
overhead is the median of its per-query difference from the baseline (the same query, moments apart), which a
loaded machine disturbs far less than a difference of medians.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.recall_cost --store /tmp/slm-bench-graph/scale.db \\
        --out benchmarks/results/recall-cost-100000.json
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.report import machine, percentiles, slm_version
from slm import Memory
from slm.recall import fusion

K = 10
FIVE = (*fusion.DEFAULT_CHANNELS, "fisher")
VARIANTS = {  # name -> Memory.recall options; "plain" (no trust, no lifecycle) is the baseline
    "plain": {"trust": False, "lifecycle": False},
    "trust": {"lifecycle": False},
    "default": {},  # trust and lifecycle
    "fused": {"ranker": "rrf"},  # the channels fused by RRF, the default before the learned ranker (issue 18)
    "default+fisher": {"channels": FIVE},
    "fisher-for-vector": {"channels": ("keyword", "fisher", "graph", "temporal")},
}


def measure(mem: Memory, queries: list[str], reps: int, seed: int) -> dict:
    rng = random.Random(seed)
    for query in queries[:10]:
        for options in VARIANTS.values():
            mem.recall(query, K, **options)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    diffs: dict[str, list[float]] = {name: [] for name in VARIANTS if name != "plain"}
    for _ in range(reps):
        for query in queries:
            took = {}
            for name in rng.sample(list(VARIANTS), len(VARIANTS)):
                began = time.perf_counter()
                mem.recall(query, K, **VARIANTS[name])
                took[name] = (time.perf_counter() - began) * 1000
                times[name].append(took[name])
            for name in diffs:
                diffs[name].append(took[name] - took["plain"])
    return {
        "latency_ms": {name: percentiles(values) for name, values in times.items()},
        "overhead_vs_plain_p50_ms": {name: round(statistics.median(values), 3) for name, values in diffs.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", type=Path, required=True, help="an slm database (an older one is migrated: use a copy)"
    )
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with Memory.open(args.store, create=False) as mem:
        report = {
            "command": shlex.join([sys.executable, "-m", "benchmarks.recall_cost", *(argv or sys.argv[1:])]),
            "store": str(args.store),
            "memories": mem.repo.count(),
            "queries": args.queries,
            "reps": args.reps,
            "variants": VARIANTS,
            **measure(mem, corpus.queries(args.queries), args.reps, args.seed),
            "machine": machine(),
            "slm_version": slm_version(),
        }
    for name, values in report["latency_ms"].items():
        overhead = report["overhead_vs_plain_p50_ms"].get(name)
        extra = f"  paired overhead p50 {overhead:+.2f} ms" if overhead is not None else "  (baseline)"
        print(f"{name:18s} p50 {values['p50_ms']:7.2f} ms  p95 {values['p95_ms']:7.2f} ms{extra}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
