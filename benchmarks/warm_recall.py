"""Warm recall, old code against new (issue 20): two worker processes, one per code tree, on the same store and
queries, each query asked of both moments apart in random order, so a loaded machine disturbs both alike.

Reports each side's p50/p95, the paired per-query difference and ratio, whether both returned the same ids in
the same order with the same scores for every query, and where a recall's time goes, stage by stage (wall time,
and the CPU time of the thread that ran the stage, which other processes disturb far less).

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/warm_recall.py --store /tmp/b/scale.db \\
        --base /tmp/b/base --new . --out benchmarks/results/warm-recall-100000.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from functools import wraps
from pathlib import Path

K = 10
# What a stage is: (module, attribute) of what runs it; nested stages are inside their parents' times.
STAGES = {
    "total": ("slm.core.recaller", "recall"),
    "query analysis": ("slm.recall.query", "analyse"),
    "BM25 (keyword thread)": ("slm.storage.memories", "MemoryRepository.keyword_search"),
    "waiting for BM25": ("concurrent.futures", "Future.result"),
    "query embedding": ("slm.core.store", "Store.query_vector"),
    "vector scan (channel)": ("slm.recall.channels.vector", "ranked"),
    "time words": ("slm.recall.pipeline", "Recall.time_window"),
    "gather candidates": ("slm.recall.candidates", "gather"),
    "  sessions": ("slm.storage.memories", "MemoryRepository.session_members"),
    "  rows (get_many, also hits)": ("slm.storage.memories", "MemoryRepository.get_many"),
    "  cosines": ("slm.embedding.vector_index", "VectorIndex.cosines"),
    "features": ("slm.recall.features", "matrix"),
    "ranker": ("slm.recall.explained", "Scored.of"),
    "weigh (trust, lifecycle)": ("slm.recall.weighing", "weigh"),
    "  standings": ("slm.recall.pipeline", "Recall.standings"),
    "successors": ("slm.recall.weighing", "before_successors"),
    "explain hits": ("slm.recall.explained", "Scored.explained"),
    "hits": ("slm.recall.pipeline", "to_hits"),
}


# -- the worker: one code tree, one open store -----------------------------------------------------------------
def worker(store: str) -> None:
    """Answer one JSON request per stdin line: {"query": ...} -> {"ms", "ids", "scores"}; {"bm25": ...} -> the
    keyword channel's BM25 alone, {"ms", "cpu_ms", "rows"}; {"stages": [...]} -> each stage's wall and CPU
    time in each of those recalls."""
    from benchmarks.report import slm_version
    from slm import Memory

    with Memory.open(store, create=False) as mem:
        print(json.dumps({"slm": slm_version()}), flush=True)
        wrapped: dict[str, list[float]] = {}
        for line in sys.stdin:
            request = json.loads(line)
            if "stages" in request:
                answer = stages(mem, request["stages"], wrapped)
            elif "bm25" in request:
                answer = bm25(mem, request["bm25"])
            else:
                began = time.perf_counter()
                hits = mem.recall(request["query"], K)
                ms = (time.perf_counter() - began) * 1000
                answer = {"ms": ms, "ids": [h.id for h in hits], "scores": [h.score for h in hits]}
            print(json.dumps(answer), flush=True)


def stages(mem, queries: list[str], spent: dict[str, list[float]]) -> dict:
    """Each stage's (wall, CPU) ms in each recall, by wrapping what runs it once per process (stages this code
    does not have are left out)."""
    import importlib

    for name, (module, attribute) in STAGES.items():
        owner = importlib.import_module(module)
        *path, leaf = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if name not in spent and hasattr(owner, leaf):
            spent[name] = [0.0, 0.0]
            setattr(owner, leaf, _timed(getattr(owner, leaf), spent[name]))
    per: dict[str, list[list[float]]] = defaultdict(list)
    for query in queries:
        for times in spent.values():
            times[0] = times[1] = 0.0
        mem.recall(query, K)
        for name, times in spent.items():
            per[name].append(list(times))
    return per


def bm25(mem, query: str) -> dict:
    """The keyword channel's BM25 as a default recall asks for it (its own thread's connection and depth)."""
    from slm.recall import candidates
    from slm.recall import query as analysis
    from slm.storage.memories import MemoryFilter

    match = analysis.analyse(query).match
    if match is None:
        return {"ms": 0.0, "cpu_ms": 0.0, "rows": []}
    mem.store.keyword_worker()
    wall, cpu = time.perf_counter(), time.thread_time()
    rows = mem.store.keyword_repo.keyword_search(match, MemoryFilter(live=True), candidates.KEYWORD_DEPTH)
    cpu, wall = (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
    return {"ms": wall, "cpu_ms": cpu, "rows": rows}


def _timed(function, into: list[float]):
    @wraps(function)
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            into[0] += (time.perf_counter() - wall) * 1000
            into[1] += (time.thread_time() - cpu) * 1000

    return timed


# -- the driver ------------------------------------------------------------------------------------------------
class Side:
    """A worker process over one code tree."""

    def __init__(self, name: str, code: Path, store: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(code)}
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--store", str(store)]
        self.name = name
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.slm = self.read()["slm"]

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker died: see its error above")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def paired(sides: list[Side], queries: list[str], reps: int, seed: int) -> dict:
    """Every query asked of both sides in random order, `reps` times; the last answers compared."""
    rng = random.Random(seed)
    times: dict[str, list[float]] = {side.name: [] for side in sides}
    answers: dict[str, dict[str, dict]] = {side.name: {} for side in sides}
    for _ in range(reps):
        for query in queries:
            for side in rng.sample(sides, len(sides)):
                answer = side.ask({"query": query})
                times[side.name].append(answer["ms"])
                answers[side.name][query] = answer
    base, new = (side.name for side in sides)
    same_ids = [q for q in queries if answers[base][q]["ids"] == answers[new][q]["ids"]]
    same_scores = [q for q in same_ids if answers[base][q]["scores"] == answers[new][q]["scores"]]
    differences = [n - b for b, n in zip(times[base], times[new], strict=True)]
    ratios = [n / b for b, n in zip(times[base], times[new], strict=True)]
    return {
        "latency_ms": {name: _percentiles(values) for name, values in times.items()},
        "paired_difference_ms": _percentiles(differences),
        "paired_ratio_p50": round(statistics.median(ratios), 3),
        "identical": {
            "queries": len(queries),
            "same_ids_same_order": len(same_ids),
            "same_scores": len(same_scores),
            "differing": [q for q in queries if q not in same_ids][:20],
        },
    }


def paired_bm25(sides: list[Side], queries: list[str], reps: int, seed: int) -> dict:
    """BM25 alone, paired the same way; its rows and scores compared."""
    rng = random.Random(seed)
    wall: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu: dict[str, list[float]] = {side.name: [] for side in sides}
    rows: dict[str, dict[str, list]] = {side.name: {} for side in sides}
    for _ in range(reps):
        for query in queries:
            for side in rng.sample(sides, len(sides)):
                answer = side.ask({"bm25": query})
                wall[side.name].append(answer["ms"])
                cpu[side.name].append(answer["cpu_ms"])
                rows[side.name][query] = answer["rows"]
    base, new = (side.name for side in sides)
    return {
        "wall_ms": {name: _percentiles(values) for name, values in wall.items()},
        "cpu_ms": {name: _percentiles(values) for name, values in cpu.items()},
        "paired_cpu_difference_ms": _percentiles([n - b for b, n in zip(cpu[base], cpu[new], strict=True)]),
        "same_rows_and_scores": sum(rows[base][q] == rows[new][q] for q in queries),
        "queries": len(queries),
    }


def paired_stages(sides: list[Side], queries: list[str], chunk: int = 10) -> dict:
    """The stage table, both sides taking turns every `chunk` queries; medians over the recalls."""
    samples: dict[str, dict[str, list[list[float]]]] = {side.name: defaultdict(list) for side in sides}
    for start in range(0, len(queries), chunk):
        for side in sides if (start // chunk) % 2 == 0 else sides[::-1]:
            for name, values in side.ask({"stages": queries[start : start + chunk]}).items():
                samples[side.name][name] += values
    return {
        side: {
            name: {
                "wall": round(statistics.median(w for w, _ in values), 3),
                "cpu": round(statistics.median(c for _, c in values), 3),
                "wall_mean": round(statistics.fmean(w for w, _ in values), 3),
                "cpu_mean": round(statistics.fmean(c for _, c in values), 3),
            }
            for name, values in by_stage.items()
        }
        for side, by_stage in samples.items()
    }


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "n": len(ordered),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a copy of a store: both workers open it")
    parser.add_argument("--base", type=Path, help="the old code tree (a worktree of the base commit)")
    parser.add_argument("--new", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--queries", type=int, default=220, help="from benchmarks/corpus.py; the first --warmup warm")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--stage-queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", action="store_true", help="internal: serve recalls on stdin")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(str(args.store))
    run(args, argv)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import corpus
    from benchmarks.report import machine

    questions = corpus.queries(args.queries)
    warmup, measured = questions[: args.warmup], questions[args.warmup :]
    sides = [Side("base", args.base, args.store), Side("new", args.new.resolve(), args.store)]
    load_before = os.getloadavg()
    for side in sides:
        for query in warmup:
            side.ask({"query": query})
    report = {
        "command": shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv),
        "store": str(args.store),
        "k": K,
        "warmup": len(warmup),
        "reps": args.reps,
        "code": {side.name: side.slm for side in sides},
        **paired(sides, measured, args.reps, args.seed),
        "bm25": paired_bm25(sides, measured, args.reps, args.seed),
        "stages": paired_stages(sides, measured[: args.stage_queries]),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "machine": machine(),
    }
    for side in sides:
        side.close()
    print(json.dumps({key: report[key] for key in ("latency_ms", "paired_difference_ms", "paired_ratio_p50")}))
    print(json.dumps(report["identical"]), json.dumps(report["load_average"]))
    print(json.dumps(report["bm25"]))
    print(f"{'stage (median ms per recall)':30s} {'base wall':>10s} {'base cpu':>9s} {'new wall':>9s} {'new cpu':>8s}")
    for name in STAGES:
        row = [
            report["stages"][side].get(name, {"wall": float("nan"), "cpu": float("nan")}) for side in ("base", "new")
        ]
        print(f"{name:30s}", " ".join(f"{r['wall']:9.2f} {r['cpu']:9.2f}" for r in row))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
