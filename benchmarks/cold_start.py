"""One-shot `slm recall` and `slm remember` as fresh processes on a large store, two versions paired (issue 20).

Each version gets its own copy of the store and imports slm from its own tree; every run starts `slm` afresh, the
two versions in random order within each pair, so a busy machine slows both alike. Reported: medians of wall and
CPU seconds, the paired wall ratio, and the load average. `slm --help` is the floor (Python, the CLI framework).
Each version's vector file is copied with the store if one lies beside it, else written by one untimed recall (run
either way), and each tree's bytecode is compiled first (as an install does: with PYTHONDONTWRITEBYTECODE a tree
without it compiles every module on every run); `--no-file-runs` also times the after-version's recalls that find
no vector file (they read vec0 and write the file again).

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/cold_start.py --store /tmp/exp/scale/scale.db \\
        --before /tmp/slm-base --after . --workdir /tmp/slm-cold --out benchmarks/results/cold-start-100000.json
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import corpus
from benchmarks.report import machine

ENTRY = "from slm.cli.main import main; main()"
STAGES = """
import json, sys, time
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import click; mark("click")
import slm.cli.main, slm.cli.memory_commands; mark("CLI modules")
import numpy; mark("numpy")
import slm.core.memory; mark("engine modules")
mem = slm.core.memory.Memory.open(sys.argv[1], protocol="cli"); mark("open the store")
import llama_cpp; mark("llama_cpp import")
mem.embedder; mark("model load")
hits = mem.recall(sys.argv[2]); mark("recall")
json.dumps([h.to_dict() for h in hits]); mem.close(); mark("JSON, close")
print(json.dumps({b[0]: (b[1] - a[1]) * 1e3 for a, b in zip(marks, marks[1:])}))
"""


def run(tree: Path, args: list[str]) -> dict:
    """One fresh `slm` process: its wall and CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # cwd: `python -c` puts the working directory ahead of PYTHONPATH, which would import another tree's slm
    proc = subprocess.run([sys.executable, "-c", ENTRY, *args], env=env, cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"slm {' '.join(args[:2])} failed in {tree}: {proc.stderr[-1500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def paired(trees: dict[str, Path], command: Callable[[str, int], list[str]], runs: int, seed: int) -> dict:
    """`runs` pairs, each version once per pair in random order, both given `command(version, pair)`."""
    rng = random.Random(seed)
    timings: dict[str, list[dict]] = {name: [] for name in trees}
    for i in range(runs):
        order = list(trees)
        rng.shuffle(order)
        for name in order:
            timings[name].append(run(trees[name], command(name, i)))
    ratios = [a["wall_s"] / b["wall_s"] for a, b in zip(timings["after"], timings["before"], strict=True)]
    return {name: _medians(t) for name, t in timings.items()} | {
        "wall_ratio_after_over_before": statistics.median(ratios)
    }


def _medians(timings: list[dict]) -> dict:
    return {
        key: {"median": statistics.median(t[key] for t in timings), "min": min(t[key] for t in timings)}
        for key in ("wall_s", "cpu_s")
    } | {"runs": len(timings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a closed store to copy (memory.db)")
    parser.add_argument("--before", type=Path, required=True, help="tree of the baseline version")
    parser.add_argument("--after", type=Path, required=True, help="tree of the new version")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-file-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stages", type=int, default=0, help="also time the after-version's stages this many times")
    args = parser.parse_args()

    trees = {"before": args.before, "after": args.after}
    dbs = {}
    for name in trees:
        folder = args.workdir / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        dbs[name] = folder / "memory.db"
        shutil.copy(args.store, dbs[name])
        vectors = args.store.with_name(args.store.name + ".vectors")
        if vectors.exists():  # a copy saves writing it; a version that cannot map it writes its own below
            shutil.copy(vectors, dbs[name].with_name(dbs[name].name + ".vectors"))
    questions = corpus.queries(args.runs + 1, seed=args.seed)
    for name, tree in trees.items():
        compileall.compile_dir(tree / "slm", quiet=1)
        run(tree, ["recall", questions[-1], "--db", str(dbs[name]), "--json"])  # writes the vector file if need be
    loads = [os.getloadavg()[0]]

    news = _news(args.runs, args.seed)
    results: dict = {"machine": machine(), "store": str(args.store), "trees": {k: str(v) for k, v in trees.items()}}
    results["help"] = paired(trees, lambda name, i: ["--help"], args.runs, args.seed)
    results["recall"] = paired(
        trees, lambda name, i: ["recall", questions[i], "--db", str(dbs[name]), "--json"], args.runs, args.seed
    )
    loads.append(os.getloadavg()[0])
    results["remember"] = paired(
        trees, lambda name, i: ["remember", news[i], "--db", str(dbs[name]), "--json"], args.runs, args.seed
    )
    loads.append(os.getloadavg()[0])
    vector_path = dbs["after"].with_name(dbs["after"].name + ".vectors")
    no_file = []
    for i in range(args.no_file_runs):
        vector_path.unlink(missing_ok=True)
        no_file.append(run(args.after, ["recall", questions[i], "--db", str(dbs["after"]), "--json"]))
    results["recall_without_vector_file"] = _medians(no_file) if no_file else None
    results["load_average_1min"] = {"median": statistics.median(loads), "max": max(loads)}
    if args.stages:
        results["after_stages"] = stages(args.after, dbs["after"], questions[: args.stages])
        print("stages (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in results["after_stages"]["ms"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for key in ("help", "recall", "remember"):
        r = results[key]
        wall, cpu = (
            f"{r['before'][k]['median'] * 1e3:.0f} -> {r['after'][k]['median'] * 1e3:.0f} ms"
            for k in ("wall_s", "cpu_s")
        )
        print(f"{key:9s} wall {wall}  cpu {cpu}  paired wall ratio {r['wall_ratio_after_over_before']:.3f}")
    print(f"load average {results['load_average_1min']}")


def stages(tree: Path, db: Path, questions: list[str]) -> dict:
    """Where a cold recall's time goes: one fresh process per question, each stage timed in order (imports first,
    so each figure is what that stage adds), medians in ms; `python` is the interpreter's own start (`-c pass`)."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    runs, starts = [], []
    for question in questions:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        starts.append((time.perf_counter() - start) * 1e3)
        done = subprocess.run(
            [sys.executable, "-c", STAGES, str(db), question], env=env, cwd=tree, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"the stage run failed: {done.stderr[-1500:]}")
        runs.append(json.loads(done.stdout))
    medians = {"python": statistics.median(starts)} | {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {"ms": medians, "runs": len(runs), "load_average_1min": os.getloadavg()[0]}


def _news(n: int, seed: int) -> list[str]:
    """Distinct new notes, one a pair (both versions store the same one, in their own copy)."""
    rng = random.Random(seed)
    services = ["billing", "checkout", "search", "auth", "mail", "ledger", "orders", "catalog"]
    changes = ["retries webhooks with jitter", "caches tax rates for ten minutes", "logs in JSON", "runs on arm64"]
    return [f"From run {seed}, note {i}: the {rng.choice(services)} service {rng.choice(changes)}." for i in range(n)]


if __name__ == "__main__":
    main()
