"""What logging behaviour costs a recall and a get (issue 23), and how long the signals take to read.

On a store of `--memories` corpus memories, each of `--queries` queries is recalled (k=10) as the MCP server does
it, and then logged: the recall with its context (`record_recall`), a get of its third result (`record_use`), and
a memory written soon after that names its first result (`record_written`, the cite check; the write itself is not
timed). Medians in µs, beside the recall's own median for scale. Then `--interactions` recalls with position-biased
uses are added to the behaviour store directly, and `learning_signals()` (read, link, estimate, weight) is timed.

    SLM_THREADS=1 SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.behaviour_logging \\
        --out benchmarks/results/behaviour-logging.json
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.report import machine, slm_version
from slm import Memory

K = 10


def micros(fn, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - began) * 1e6, result


def logging_costs(mem: Memory, queries: list[str]) -> dict:
    costs: dict[str, list[float]] = {"recall": [], "record_recall": [], "record_use_get": [], "record_written": []}
    for n, query in enumerate(queries):
        took, hits = micros(mem.recall, query, K)
        costs["recall"].append(took)
        took, _ = micros(mem.record_recall, query, K, hits, agent="bench", session="s-1")
        costs["record_recall"].append(took)
        if len(hits) < 3:
            continue
        took, kept = micros(mem.record_use, "get", [hits[2].id], agent="bench")
        assert kept == 1
        costs["record_use_get"].append(took)
        cite = mem.remember(f"Note {n}: see #{hits[0].id} before changing it", agent="bench")
        took, _ = micros(mem.record_written, cite, agent="bench")
        costs["record_written"].append(took)
    return {name: {"p50_us": round(statistics.median(v), 1), "n": len(v)} for name, v in costs.items()}


def signals_cost(mem: Memory, interactions: int, seed: int) -> dict:
    """`interactions` recalls of 10 results, 40 distinct queries, uses with P = (1 / rank) · relevance."""
    rng = random.Random(seed)
    behavior = mem.behavior
    pool = list(range(1, 201))
    relevance = {m: rng.random() for m in pool}
    with behavior.conn.write_transaction():
        for n in range(interactions):
            q = rng.randrange(40)
            results = random.Random(q).sample(pool, 12)[:10]
            rng.shuffle(results)
            stamp = f"2026-01-01T00:00:00.{n:06d}Z"
            recall_id = behavior.record_recall(
                time=stamp, query=f"query {q}", k=10, results=results, agent="sim", protocol="api"
            )
            used = [m for r, m in enumerate(results, 1) if rng.random() < relevance[m] / r]
            behavior.record_uses([(stamp, recall_id, m, "get", None) for m in used])
    took, found = micros(mem.learning_signals)
    return {
        "interactions": interactions,
        "learning_signals_ms": round(took / 1000, 1),
        "examples": len(found.examples),
        "propensities_estimated": found.propensities.estimated,
        "propensities": [round(p, 3) for p in found.propensities.by_rank],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--interactions", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="slm-behaviour-") as folder,
        Memory.open(Path(folder) / "memory.db") as mem,
    ):
        mem.remember_many(corpus.memories(args.memories))
        queries = corpus.queries(args.queries)
        for query in queries[:10]:  # warm-up: the model loaded, the caches filled
            mem.recall(query, K)
        report = {
            "command": shlex.join([sys.executable, "-m", "benchmarks.behaviour_logging", *(argv or sys.argv[1:])]),
            "memories": args.memories,
            "logging": logging_costs(mem, queries),
            "signals": signals_cost(mem, args.interactions, args.seed),
            "machine": machine(),
            "slm": slm_version(),
        }
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("logging", "signals")}, indent=2))
    return report


if __name__ == "__main__":
    main()
