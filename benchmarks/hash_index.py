"""What migration 0008's index on (content_hash, project) over every row costs a write: `remember` on two copies of
one store, with the index and without it, alternately, as paired differences.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.hash_index --store /tmp/slm-export-bench/scale.db \\
        --out benchmarks/results/hash-index-100000.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.report import machine, percentiles, slm_version
from slm import Memory
from slm.storage.connection import open_connection


def copies(store: Path, work: Path) -> tuple[Path, Path]:
    """Two copies of the store: as migrated, and with the index dropped."""
    work.mkdir(parents=True, exist_ok=True)
    with_index, without = work / "with-index.db", work / "without-index.db"
    for target in (with_index, without):
        shutil.copyfile(store, target)
    conn = open_connection(without)
    conn.execute("DROP INDEX memories_hash")
    conn.close()
    return with_index, without


def measure(with_index: Path, without: Path, n: int) -> dict:
    """Each memory is stored in both stores, in alternating order; the first 20 are a warm-up."""
    texts = [m["text"] + f" (hash-index run {i})" for i, m in enumerate(corpus.memories(n + 20))]
    timings: dict[str, list[float]] = {"with": [], "without": []}
    with Memory.open(with_index) as a, Memory.open(without) as b:
        stores = {"with": a, "without": b}
        for i, text in enumerate(texts):
            order = ("with", "without") if i % 2 else ("without", "with")
            for name in order:
                began = time.perf_counter()
                stores[name].remember(text, project="bench")
                if i >= 20:
                    timings[name].append((time.perf_counter() - began) * 1000)
    differences = [w - o for w, o in zip(timings["with"], timings["without"], strict=True)]
    return {
        "remember_ms": {name: percentiles(values) for name, values in timings.items()},
        "paired_difference_ms": {"median": statistics.median(differences), "n": len(differences)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/slm-hash-index"))
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with_index, without = copies(args.store, args.work)
    result = {
        "command": shlex.join(sys.argv),
        "slm": slm_version(),
        "machine": machine(),
        **measure(with_index, without, args.n),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
