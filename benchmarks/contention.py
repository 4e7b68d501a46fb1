"""Recall while other slm processes write: the p50 with two writing neighbours against the p50 alone (issue 20).

The measuring process (the Python API, default threads) recalls the same questions alone, then while `--writers`
other processes each store one memory after another into the same store, also with default threads. Every process
imports slm from `--tree`, so two versions can be compared on one machine in one session.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/contention.py --tree . --workdir /tmp/slm-contention \\
        --out benchmarks/results/contention.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

WRITER = """
import itertools, os, sys
from slm import Memory
with Memory.open(sys.argv[1]) as mem:
    for i in itertools.count():
        mem.remember(f"writer {os.getpid()} note {i}: the deploy of service {i % 37} moved to region {i % 5}")
"""


def build(tree: Path, db: Path, memories: int) -> None:
    code = (
        "import sys\nfrom benchmarks import corpus\nfrom slm import Memory\n"
        "with Memory.open(sys.argv[1]) as mem:\n"
        "    mem.remember_many(corpus.memories(int(sys.argv[2])))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db), str(memories)], env=_env(tree), check=True)


def measure(db: Path, questions: list[str]) -> list[float]:
    from slm import Memory

    with Memory.open(db) as mem:
        for question in questions[:10]:
            mem.recall(question, 10)
        took = []
        for question in questions:
            began = time.perf_counter()
            mem.recall(question, 10)
            took.append((time.perf_counter() - began) * 1000)
    return took


def _env(tree: Path) -> dict:
    return os.environ | {"PYTHONPATH": f"{tree.resolve()}{os.pathsep}{Path(__file__).resolve().parents[1]}"}


def _summary(took: list[float]) -> dict:
    ordered = sorted(took)
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(ordered[int(0.95 * len(ordered))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=Path("."), help="the slm checkout every process imports")
    parser.add_argument("--memories", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slm-contention"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sys.path[:0] = [str(args.tree.resolve()), str(Path(__file__).resolve().parents[1])]
    from benchmarks import corpus

    args.workdir.mkdir(parents=True, exist_ok=True)
    pristine = args.workdir / f"store-{args.memories}.db"
    if not pristine.exists():
        build(args.tree, pristine, args.memories)
    db = args.workdir / "measured.db"  # a fresh copy each run: the writers grow it
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, db)
    questions = corpus.queries(args.queries)
    alone = measure(db, questions)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db)], env=_env(args.tree), stderr=subprocess.DEVNULL)
        for _ in range(args.writers)
    ]
    try:
        time.sleep(5)  # the writers load the model and start writing
        loaded = measure(db, questions)
    finally:
        for writer in writers:
            writer.kill()
    result = {
        "tree": str(args.tree.resolve()),
        "memories": args.memories,
        "writers": args.writers,
        "alone": _summary(alone),
        "with_writers": _summary(loaded),
        "ratio_p50": round(statistics.median(loaded) / statistics.median(alone), 2),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
