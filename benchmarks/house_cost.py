"""Did the house reorganisation (issue 19) change what recall and remember cost? Two versions, paired, at 10k.

One 10k-memory store is built once and copied, one copy per version. Two long-lived workers, each importing its
own slm (PYTHONPATH = a git worktree), open their copy and warm up; the driver then sends every request to both,
in random order, each call after an idle gap (so neither version runs while the other's BLAS or llama.cpp
threads still spin), and records the paired difference after − before of the in-process timings. Its median,
with a bootstrap 95% interval (resampling queries or texts), is the figure: a loaded machine moves both sides.

    git -C /work/main worktree add /work/wt-bench-before e31eefa
    git -C /work/main worktree add /work/wt-bench-after 8c69e12
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/house_cost.py \\
        --before /work/wt-bench-before --after /work/wt-bench-after --workdir /tmp/slm-house \\
        --out benchmarks/results/house-cost-10000.json

Workers run llama.cpp and BLAS on one thread each (`--threads 1`): on two cores shared with other work, two
threads stall at llama.cpp's barrier (docs/benchmarks.md). `--profile` also runs cProfile over 200 recalls in
each worker (done anyway when after is slower beyond noise).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import corpus
import numpy as np
import psutil
from report import machine, percentiles

K = 10
VERSIONS = ("before", "after")
WARM_RECALLS = 20
WARM_WRITES = 5
BUILD_BATCH = 500
NOISE_SHARE = 0.03  # a paired median difference below 3% of the before median is within noise


# -- worker: one slm version, one store, JSON lines on stdin/stdout ---------------------------------------------
def worker(db: Path) -> None:
    """Open the store, warm up, then time each request in-process and reply the milliseconds."""
    reply_to = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever slm or llama.cpp prints must not corrupt the replies
    sys.stdout = sys.stderr
    from report import slm_version

    import slm
    from slm import Memory

    mem = Memory.open(db, create=False)
    mem.embedder  # noqa: B018 - loads the model
    for query in corpus.queries(WARM_RECALLS, seed=corpus.SEED + 99):
        mem.recall(query, K)  # the first one loads the vector mirror
    ready = {"ready": True, "slm_file": slm.__file__, "slm": slm_version(), "pid": os.getpid()}
    reply_to.write(json.dumps(ready) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "quit":
            break
        if op == "profile":
            reply = profile(mem, request["queries"], Path(request["out"]))
        else:
            cpu, began = time.process_time(), time.perf_counter()
            if op == "recall":
                result: Any = [hit.id for hit in mem.recall(request["query"], K)]
            else:
                result = int(mem.remember(request["text"], project=request["project"], agent=request["agent"]))
            ms = (time.perf_counter() - began) * 1000
            reply = {"ms": ms, "cpu_ms": (time.process_time() - cpu) * 1000, "result": result}
        reply_to.write(json.dumps(reply) + "\n")
    mem.close()


def profile(mem: Any, queries: list[str], out: Path) -> dict:
    """cProfile over recalls of `queries`; the stats go to `out`."""
    import cProfile

    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for query in queries:
        mem.recall(query, K)
    profiler.disable()
    profiler.dump_stats(out)
    return {"seconds": time.perf_counter() - began, "stats": str(out)}


def build(db: Path, size: int) -> None:
    """The shared store: `size` corpus memories, remembered in batches."""
    from report import slm_version

    from slm import Memory

    items, began = corpus.memories(size), time.perf_counter()
    with Memory.open(db) as mem:
        for start in range(0, size, BUILD_BATCH):
            mem.remember_many(items[start : start + BUILD_BATCH])
            done = min(size, start + BUILD_BATCH)
            rate = done / (time.perf_counter() - began)
            print(f"build: {done:,}/{size:,} ({rate:.0f}/s, load {os.getloadavg()[0]:.2f})", flush=True)
    record = {"size": size, "seconds": round(time.perf_counter() - began, 1), "slm": slm_version()}
    db.with_suffix(".built.json").write_text(json.dumps(record, indent=1) + "\n")


# -- driver ---------------------------------------------------------------------------------------------------
class Worker:
    """A worker process of one version, spoken to in JSON lines."""

    def __init__(self, name: str, tree: Path, db: Path, log: Path, threads: int) -> None:
        env = worker_env(tree, threads)
        self.name, self.log = name, log
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--db", str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            env=env,
            cwd=tree,
            text=True,
            bufsize=1,
        )
        self.ready = self._read()

    def ask(self, request: dict) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        return self._read()

    def _read(self) -> dict:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker died; see {self.log}")
        return json.loads(line)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def worker_env(tree: Path, threads: int) -> dict[str, str]:
    """This environment with `tree`'s slm first on the path and, unless `threads` is 0, that many threads."""
    env = os.environ | {"PYTHONPATH": str(tree)}
    if threads:
        env |= {name: str(threads) for name in ("SLM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    return env


class Noise:
    """Load average samples and how many cores processes other than ours kept busy."""

    def __init__(self, workers: dict[str, Worker]) -> None:
        self.workers, self.loads = workers, [os.getloadavg()[0]]
        self.start = (time.perf_counter(), _busy_seconds(), self._ours())

    def _ours(self) -> float:
        me = psutil.Process().cpu_times()
        return me.user + me.system + sum(w.cpu_seconds() for w in self.workers.values())

    def sample(self) -> None:
        self.loads.append(os.getloadavg()[0])

    def result(self) -> dict:
        wall = time.perf_counter() - self.start[0]
        busy, ours = _busy_seconds() - self.start[1], self._ours() - self.start[2]
        return {
            "wall_s": round(wall, 1),
            "our_cores": round(ours / wall, 2),
            "other_cores": round(max(0.0, busy - ours) / wall, 2),
            "load_1min": {
                "min": round(min(self.loads), 2),
                "median": round(statistics.median(self.loads), 2),
                "max": round(max(self.loads), 2),
                "samples": len(self.loads),
            },
        }


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + times.steal


def paired(workers: dict[str, Worker], requests: list[dict], gap: float, rng: random.Random, noise: Noise) -> list:
    """Each request to both versions in random order, each call after `gap` idle seconds: one row per request."""
    rows = []
    for i, request in enumerate(requests):
        row: dict[str, Any] = {"key": request.pop("key")}
        for name in rng.sample(VERSIONS, 2):
            time.sleep(gap)
            row[name] = workers[name].ask(request)
        rows.append(row)
        if i % 25 == 0:
            noise.sample()
    return rows


def bootstrap_median(diffs: np.ndarray, keys: np.ndarray, rng: np.random.Generator, n: int = 4000) -> list[float]:
    """95% interval of the median difference, resampling keys (a query asked twice counts once)."""
    groups = [diffs[keys == key] for key in np.unique(keys)]
    medians = [
        np.median(np.concatenate([groups[j] for j in rng.integers(len(groups), size=len(groups))])) for _ in range(n)
    ]
    return [round(float(np.percentile(medians, 2.5)), 3), round(float(np.percentile(medians, 97.5)), 3)]


def summarise(rows: list[dict], seed: int) -> dict:
    """Per-version percentiles, the paired median difference with its interval, and a verdict."""
    before = np.array([row["before"]["ms"] for row in rows])
    after = np.array([row["after"]["ms"] for row in rows])
    diffs, keys = after - before, np.array([row["key"] for row in rows])
    median = float(np.median(diffs))
    low, high = bootstrap_median(diffs, keys, np.random.default_rng(seed))
    base = float(np.median(before))
    if low > 0 and median > NOISE_SHARE * base:
        verdict = "after slower beyond noise"
    elif high < 0 and -median > NOISE_SHARE * base:
        verdict = "after faster beyond noise"
    else:
        verdict = "within noise"
    return {
        "before": percentiles(before.tolist()),
        "after": percentiles(after.tolist()),
        "cpu_ms": {
            name: percentiles([row[name]["cpu_ms"] for row in rows]) for name in VERSIONS
        },  # process CPU, all threads
        "paired_diff_ms": {"median": round(median, 3), "ci95": [low, high], "n": len(rows)},
        "paired_diff_share_of_before_p50": round(median / base, 4),
        "ratio_of_medians": round(float(np.median(after)) / base, 4),
        "same_results": round(float(np.mean([row["before"]["result"] == row["after"]["result"] for row in rows])), 4),
        "verdict": verdict,
    }


def top_functions(stats_file: str, limit: int = 25) -> str:
    """The heaviest functions of a cProfile dump by cumulative time, as pstats prints them."""
    import io
    import pstats

    text = io.StringIO()
    pstats.Stats(stats_file, stream=text).strip_dirs().sort_stats("cumulative").print_stats(limit)
    return text.getvalue()


def prepare(args: argparse.Namespace) -> dict[str, Path]:
    """Build the shared store once (with the after code), then fresh copies for this run, one per version."""
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / "store.db"
    if args.rebuild or not store.with_suffix(".built.json").exists():
        for stale in args.workdir.glob("store.*"):
            stale.unlink()
        env = worker_env(args.after, args.threads)
        command = [sys.executable, __file__, "--build", "--db", str(store), "--size", str(args.size)]
        subprocess.run(command, env=env, cwd=args.after, check=True)
    copies = {}
    for name in VERSIONS:
        folder = args.workdir / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for part in args.workdir.glob("store.*"):  # the database, and its behaviour database and WAL if any
            shutil.copy2(part, folder / part.name)
        copies[name] = folder / "store.db"
    return copies


def drive(args: argparse.Namespace) -> dict:
    copies = prepare(args)
    trees = {"before": args.before, "after": args.after}
    workers = {
        name: Worker(name, trees[name], copies[name], args.workdir / f"{name}.log", args.threads) for name in VERSIONS
    }
    try:
        for name, w in workers.items():
            print(f"{name}: {w.ready['slm_file']} at {w.ready['slm']['commit']}", flush=True)
        rng = random.Random(args.seed)
        queries = corpus.queries(args.queries)
        new = corpus.memories(args.size + WARM_WRITES + args.writes)[args.size :]
        writes = [{"op": "remember", "text": m["text"], "project": m["project"], "agent": m["agent"]} for m in new]
        noise = Noise(workers)
        paired(workers, [{**w, "key": -1} for w in writes[:WARM_WRITES]], args.gap, rng, noise)  # warm-up
        recall_requests = [
            {"op": "recall", "query": q, "key": i} for _ in range(args.reps) for i, q in enumerate(queries)
        ]
        rng.shuffle(recall_requests)
        recall_rows = paired(workers, recall_requests, args.gap, rng, noise)
        print(f"recall: {len(recall_rows)} pairs, load {os.getloadavg()[0]:.2f}", flush=True)
        write_requests = [{**w, "key": i} for i, w in enumerate(writes[WARM_WRITES:])]
        write_rows = paired(workers, write_requests, args.gap, rng, noise)
        print(f"remember: {len(write_rows)} pairs, load {os.getloadavg()[0]:.2f}", flush=True)
        cpu = noise.result()
        results = {"recall": summarise(recall_rows, args.seed), "remember": summarise(write_rows, args.seed)}
        profiles = {}
        if args.profile or any(r["verdict"] == "after slower beyond noise" for r in results.values()):
            sample = corpus.queries(200, seed=corpus.SEED + 7)
            for name, w in workers.items():
                out = args.workdir / f"recall-{name}.prof"
                profiles[name] = w.ask({"op": "profile", "queries": sample, "out": str(out)})
                profiles[name]["top_cumulative"] = top_functions(str(out))
    finally:
        for w in workers.values():
            w.close()
    return {
        "command": shlex.join([f"SLM_HOME={os.environ.get('SLM_HOME', '')}", sys.executable, *sys.argv]),
        "memories": args.size,
        "k": K,
        "queries": args.queries,
        "reps": args.reps,
        "writes": args.writes,
        "gap_s": args.gap,
        "threads": args.threads or "as in the environment",
        "seed": args.seed,
        "versions": {name: {"tree": str(trees[name]), **w.ready["slm"]} for name, w in workers.items()},
        **results,
        "cpu": cpu,
        "profiles": profiles,
        "machine": machine(),
        "build": json.loads((args.workdir / "store.built.json").read_text()),
    }


def print_table(report: dict) -> None:
    print(f"{'op':9s} {'before p50/p95':>17s} {'after p50/p95':>17s} {'paired median [95% CI]':>30s}  verdict")
    for op in ("recall", "remember"):
        r = report[op]
        b, a, d = r["before"], r["after"], r["paired_diff_ms"]
        interval = f"{d['median']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"
        print(
            f"{op:9s} {b['p50_ms']:7.2f} / {b['p95_ms']:7.2f} {a['p50_ms']:7.2f} / {a['p95_ms']:7.2f} "
            f"{interval:>30s}  {r['verdict']} (ratio {r['ratio_of_medians']:.3f}, same results {r['same_results']})"
        )
    print(f"cpu: {report['cpu']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--before", type=Path, default=Path("/work/wt-bench-before"), help="worktree of before")
    parser.add_argument("--after", type=Path, default=Path("/work/wt-bench-after"), help="worktree of after")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slm-house"))
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.15, help="idle seconds before each timed call")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="llama.cpp and BLAS threads per worker (0: as the environment says); 1 keeps a shared machine's load "
        "from starving llama.cpp's thread barrier",
    )
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--rebuild", action="store_true", help="build the shared store again")
    parser.add_argument("--profile", action="store_true", help="cProfile 200 recalls in each version")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.db)
    if args.build:
        return build(args.db, args.size)
    report = drive(args)
    print_table(report)
    for name, found in report["profiles"].items():
        print(f"\n== profile {name}: {found['seconds']:.2f} s\n{found['top_cumulative']}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
