"""What reading and saving the learner's state costs (issue 23): `learned_state("model")` is read on every recall.

For a model of each of `--sizes` weights (a JSON object of that many entries) and a `settings` row beside it, the
medians of `--reads` reads and `--saves` upserts, in µs, on a SQLite store and (with `--postgres`) on a throwaway
PostgreSQL's. The read is one primary-key lookup and a `json.loads`; the decode dominates for a large model.

    SLM_THREADS=1 .venv/bin/python -m benchmarks.learned_state --postgres --out benchmarks/results/learned-state.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import machine, slm_version
from benchmarks.throwaway_postgres import Databases
from slm import Memory, validation


def median_micros(fn, times: int) -> float:
    taken = []
    for _ in range(times):
        began = time.perf_counter_ns()
        fn()
        taken.append(time.perf_counter_ns() - began)
    return round(statistics.median(taken) / 1000, 1)


def costs(where, sizes: list[int], reads: int, saves: int) -> dict:
    found = {}
    with Memory.open(where) as mem:
        behavior = mem.behavior
        behavior.save_learned_state("settings", {"enabled": True}, validation.event_time())
        for size in sizes:
            model = {"weights": {f"entity-{i}": i / size for i in range(size)}}
            behavior.save_learned_state("model", model, validation.event_time())
            median_micros(lambda: behavior.learned_state("model"), 100)  # warm-up
            found[size] = {
                "read_us": median_micros(lambda: behavior.learned_state("model"), reads),
                "save_us": median_micros(
                    lambda m=model: behavior.save_learned_state("model", m, validation.event_time()), saves
                ),
                "json_bytes": len(json.dumps(model, separators=(",", ":"))),
            }
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    report = {"command": shlex.join([sys.executable, "-m", "benchmarks.learned_state", *(argv or sys.argv[1:])])}
    with tempfile.TemporaryDirectory(prefix="slm-learned-") as folder:
        report["sqlite"] = costs(Path(folder) / "memory.db", args.sizes, args.reads, args.saves)
    if args.postgres:
        databases = Databases()
        try:
            report["postgres"] = costs(databases.fresh("learned"), args.sizes, args.reads, args.saves)
        finally:
            databases.close()
    report |= {"machine": machine(), "slm": slm_version()}
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k in ("sqlite", "postgres")}, indent=2))
    return report


if __name__ == "__main__":
    main()
