"""Query-embedding latency and batch throughput vs llama.cpp thread count, on an idle and on a busy machine.

slm's Embedder runs llama.cpp with n_threads = os.cpu_count(). On 2 cores, one other CPU-bound process (a test
run, a build, the agent itself) leaves one of those threads waiting for a core at every synchronisation point.
This measures how much that costs, with busy-loop processes started here as the competing load.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/threads.py --out /tmp/slm-bench/threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import corpus
import numpy as np

HOG = "while True: pass"


def load_embedder(threads: int):
    """slm's own Embedder (same model and settings), switched to `threads` llama.cpp threads."""
    from slm import config
    from slm.embedding.conversion import ensure_default_model
    from slm.embedding.embedder import Embedder

    embedder = Embedder(ensure_default_model(config.data_dir()))
    embedder._llm._ctx.set_n_threads(threads, threads)
    return embedder


def measure(embedder, questions: list[str], texts: list[str]) -> dict:
    """Median single-query embed time and memories/s for 64-text batches (as `remember_many` sends them)."""
    embedder.embed(questions[:3])
    single = []
    for question in questions:
        start = time.perf_counter()
        embedder.embed_one(question)
        single.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    for at in range(0, len(texts), 64):
        embedder.embed(texts[at : at + 64])
    return {
        "query_p50_ms": round(float(np.median(single)), 1),
        "query_max_ms": round(max(single), 1),
        "batch_per_s": round(len(texts) / (time.perf_counter() - start), 1),
    }


def with_hogs(count: int, fn):
    """Run `fn` while `count` busy-loop processes compete for the cores."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]
    try:
        time.sleep(0.5 if hogs else 0)
        return fn()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--max-hogs", type=int, default=2, help="measure with 0..N competing busy processes")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("SLM_HOME", "/tmp/slm-bench-home")
    questions, texts = corpus.queries(args.queries), [m["text"] for m in corpus.memories(args.texts)]
    results = []
    for threads in sorted({1, os.cpu_count() or 1}):
        embedder = load_embedder(threads)
        for hogs in range(args.max_hogs + 1):
            row = {"threads": threads, "busy_processes": hogs, "load_average": round(os.getloadavg()[0], 2)}
            row |= with_hogs(hogs, lambda e=embedder: measure(e, questions, texts))
            print(row, flush=True)
            results.append(row)
        embedder.close()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
