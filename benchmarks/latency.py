"""Latency, throughput and memory benchmark for slm: bulk ingest, warm recall, its parts, and the CLI end to end.

Each store is built in its own process (`--phase build`) and measured in another fresh one (`--phase recall`),
so a peak RSS belongs to one job: the recall figure is what a long-running agent process pays, without the
ingest buffers. Built stores are kept in `--workdir` and reused, so re-measuring recall is cheap.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/latency.py --sizes 1000,10000,100000 \\
        --workdir /tmp/slm-bench --out /tmp/slm-bench/latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import corpus
import numpy as np
from report import machine, percentiles, slm_version

DEFAULT_HOME = "/tmp/slm-bench-home"
CLI_QUERY = "why did we switch the billing service to postgres?"
TARGETS = {  # on the 2-core reference machine; see docs/benchmarks.md
    "recall_p50_ms_100k": 15.0,
    "recall_p95_ms_100k": 40.0,
    "ingest_per_s": 150.0,
    "recall_peak_rss_mb_100k": 400.0,
    "cli_recall_s_10k": 1.0,
}


# -- small measuring helpers ----------------------------------------------------------------------------------
def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """(result, milliseconds) of one call."""
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def peak_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


class CpuNoise:
    """How many cores other processes kept busy while a phase ran.

    On 2 cores one other CPU-bound process slows llama.cpp's 2-thread decode by up to 100x, so every phase
    records this, and a figure measured with `other_cores` well above 0 is not a clean measurement.
    """

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._start = (time.perf_counter(), _busy_seconds(), self._own_seconds())

    def _own_seconds(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system + times.children_user + times.children_system

    def result(self) -> dict:
        wall = time.perf_counter() - self._start[0]
        busy, own = _busy_seconds() - self._start[1], self._own_seconds() - self._start[2]
        return {
            "wall_s": round(wall, 1),
            "own_cores": round(own / wall, 2),
            "other_cores": round(max(0.0, busy - own) / wall, 2),
            "load_average": load_average(),
        }


def _busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (guest time is already inside user time)."""
    import psutil

    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + times.steal


class Accumulator:
    """Wraps a callable and adds up the seconds spent in it: splits ingest time into embedding and the rest."""

    def __init__(self, fn: Callable) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


# -- stores ---------------------------------------------------------------------------------------------------
def store_dir(workdir: Path, size: int) -> Path:
    return workdir / f"store-{size}"


def db_path(workdir: Path, size: int) -> Path:
    return store_dir(workdir, size) / "memory.db"


def ingest_record(workdir: Path, size: int) -> Path:
    """Written only after a build completes: its presence marks a reusable store."""
    return store_dir(workdir, size) / "ingest.json"


def build_phase(args: argparse.Namespace) -> dict:
    """Bulk-ingest the first `size` corpus memories into a fresh store with one `remember_many` call."""
    from slm import Memory

    folder = store_dir(args.workdir, args.size)
    shutil.rmtree(folder, ignore_errors=True)
    items = corpus.memories(args.size)
    noise = CpuNoise()
    with Memory.open(db_path(args.workdir, args.size)) as mem:
        _, model_ms = timed(lambda: mem.embedder)
        embed = mem.embedder.embed = Accumulator(mem.embedder.embed)
        chunk = mem.embedder.chunk_spans = Accumulator(mem.embedder.chunk_spans)
        with progress_bar(f"ingest {args.size:,}", len(items)) as advance:
            ids, total_ms = timed(lambda: mem.remember_many(items, batch_size=args.batch_size, progress=advance))
        stats = mem.stats()
    seconds = total_ms / 1000
    return {
        "size": args.size,
        "seed": corpus.SEED,
        "corpus": corpus.describe(items),
        "stored": stats["memories"],
        "distinct_ids": len(set(ids)),
        "chunks": stats["chunks"],
        "batch_size": args.batch_size,
        "seconds": round(seconds, 1),
        "per_second": round(stats["memories"] / seconds, 1),
        "embed_seconds": round(embed.seconds, 1),
        "chunk_spans_seconds": round(chunk.seconds, 1),
        "other_seconds": round(seconds - embed.seconds - chunk.seconds, 1),
        "model_load_ms": round(model_ms, 1),
        "db_mb": round(stats["size_bytes"] / 2**20, 1),
        "peak_rss_mb": peak_rss_mb(),
        "cpu": noise.result(),
        "slm": slm_version(),
    }


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich bar on a terminal; in a log (a background run) a line every 5%, so progress can be polled."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if sys.stdout.isatty():
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)
        return
    done, start, step = 0, time.perf_counter(), max(1, total // 20)

    def advance(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if done // step > before // step or done == total:
            rate = done / (time.perf_counter() - start)
            print(f"{label}: {done:,}/{total:,} ({rate:.0f}/s, load {load_average()})", flush=True)

    yield advance


# -- recall ---------------------------------------------------------------------------------------------------
def recall_phase(args: argparse.Namespace) -> dict:
    """Warm recall latency in a fresh process, its parts, and the vector channel checked against sqlite-vec."""
    from slm import Memory

    questions = corpus.queries(args.warmup + args.queries)
    warmup, measured = questions[: args.warmup], questions[args.warmup :]
    noise = CpuNoise()
    rss_start = current_rss_mb()
    with Memory.open(db_path(args.workdir, args.size)) as mem:
        _, model_ms = timed(lambda: mem.embedder)
        _, index_ms = timed(mem.store.synced_index)
        _, first_ms = timed(lambda: mem.recall(warmup[0]))
        for question in warmup[1:]:
            mem.recall(question)
        latencies = [timed(lambda q=q: mem.recall(q, k=10))[1] for q in measured]
        rss_after_recall = {"peak_rss_mb": peak_rss_mb(), "current_rss_mb": current_rss_mb()}
        filtered = [timed(lambda i=i, q=q: mem.recall(q, k=10, project=_project(i)))[1] for i, q in enumerate(measured)]
        parts = breakdown(mem, measured)
        exact = exact_check(mem, measured)
    return {
        "size": args.size,
        "queries": len(measured),
        "warmup": len(warmup),
        "rss_before_open_mb": rss_start,
        "model_load_ms": round(model_ms, 1),
        "index_load_ms": round(index_ms, 1),
        "first_recall_ms": round(first_ms, 1),
        "recall": percentiles(latencies),
        "recall_project_filter": percentiles(filtered),
        "after_recalls": rss_after_recall,
        "parts": parts,
        "exact": exact,
        "peak_rss_mb_end": peak_rss_mb(),
        "cpu": noise.result(),
        "slm": slm_version(),
    }


def _project(i: int) -> str:
    return corpus.PROJECTS[i % len(corpus.PROJECTS)]


def breakdown(mem, questions: list[str]) -> dict:
    """Each stage of `Memory.recall` timed on its own, per query, so we know where the time goes.

    The query is embedded twice: first right after the previous query's vector search, as in back-to-back
    recalls (numpy's BLAS threads may still be spinning then), then again for its cost alone. The `*_project`
    stages are the two channels with a project filter, as `recall(project=...)` runs them.
    """
    from slm.recall import fusion
    from slm.recall.channels import keyword as keyword_channel
    from slm.recall.channels import vector as vector_channel
    from slm.storage.memories import MemoryFilter

    depth, index, unfiltered = fusion.CHANNEL_DEPTH, mem.store.synced_index(), MemoryFilter()
    stages: dict[str, list[float]] = {}
    for i, question in enumerate(questions):
        flt, ms = MemoryFilter(project=_project(i)), {}
        _, ms["embed_after_vector_search"] = timed(partial(mem.embedder.embed_one, question))
        _, ms["embed_one"] = timed(partial(mem.embedder.embed_one, question))
        vector, ms["query_vector"] = timed(partial(mem.store.query_vector, question))
        keyword, ms["keyword"] = timed(partial(keyword_channel.ranked, mem.repo, question, unfiltered, depth))
        nearest, ms["vector"] = timed(lambda v=vector: mem.store.synced_index().search(v, depth))
        _, ms["hydrate"] = timed(partial(_hydrate, mem, keyword, nearest))
        _, ms["keyword_project"] = timed(partial(keyword_channel.ranked, mem.repo, question, flt, depth))
        _, ms["vector_project"] = timed(partial(vector_channel.ranked, index, mem.repo, vector, flt, depth))
        for name, value in ms.items():
            stages.setdefault(name, []).append(value)
    return {name: percentiles(samples) for name, samples in stages.items()}


def _hydrate(mem, keyword: list, nearest: list) -> list:
    """What `Memory.recall` does after the two channels: fuse, then fetch the rows of the best k."""
    from slm.recall import fusion, hits

    fused = fusion.fuse({"keyword": keyword, "vector": nearest}, 10)
    return hits.to_hits(mem.repo.get_many([i for i, _, _ in fused]), fused)


def exact_check(mem, questions: list[str], k: int = 10) -> dict:
    """Recall@k of the numpy mirror against sqlite-vec's exact KNN, and both timed at the same k."""
    index = mem.store.synced_index()
    found, vec_ms, mirror_ms = [], [], []
    for question in questions:
        vector = mem.store.query_vector(question)
        _, ms = timed(lambda v=vector: sqlite_vec_knn(mem.conn, v, k))
        vec_ms.append(ms)
        mirror, ms = timed(lambda v=vector: index.search(v, k))
        mirror_ms.append(ms)
        truth = exact_memories(mem.conn, vector, k)
        found.append(len(truth & {memory_id for memory_id, _ in mirror}) / len(truth))
    sqlite_vec, numpy_mirror = percentiles(vec_ms), percentiles(mirror_ms)
    return {
        "k": k,
        "recall_at_k": round(float(np.mean(found)), 4),
        "worst_query_recall": round(float(np.min(found)), 4),
        "sqlite_vec_knn": sqlite_vec,
        "numpy_mirror": numpy_mirror,
        "speedup_p50": round(sqlite_vec["p50_ms"] / max(numpy_mirror["p50_ms"], 1e-3), 1),
    }


def sqlite_vec_knn(conn, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """sqlite-vec's own brute-force KNN over chunk vectors: (chunk rowid, L2 distance), nearest first."""
    return conn.execute(
        "SELECT rowid, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ?",
        (np.ascontiguousarray(vector, np.float32).tobytes(), k),
    ).fetchall()


def exact_memories(conn, vector: np.ndarray, k: int) -> set[int]:
    """The k nearest memories by sqlite-vec (a memory's best chunk counts), widening the chunk KNN as needed."""
    depth = k
    while True:
        chunks = sqlite_vec_knn(conn, vector, depth)
        ids = [row[0] for row in chunks]
        owner = dict(
            conn.execute(f"SELECT id, memory_id FROM chunks WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        )
        memories = list(dict.fromkeys(owner[chunk_id] for chunk_id in ids))
        if len(memories) >= k or len(chunks) < depth:
            return set(memories[:k])
        depth *= 2


# -- the CLI as a fresh process --------------------------------------------------------------------------------
def cli_phase(args: argparse.Namespace) -> dict:
    """`slm recall … --json` end to end, as an agent's shell tool would run it (hyperfine when installed)."""
    slm = str(Path(sys.executable).with_name("slm"))
    db = str(db_path(args.workdir, args.cli_size))
    base = [slm, "recall", CLI_QUERY, "--db", db, "--json"]
    commands = {
        "recall": base,
        "recall_limit_5": [*base, "--limit", "5"],
        "help": [slm, "--help"],
    }  # the floor: interpreter start and CLI imports, no model, no database
    runner = hyperfine if shutil.which("hyperfine") else own_timer
    noise = CpuNoise()
    timings = {name: runner(command, args.cli_runs) for name, command in commands.items()}
    return {
        "size": args.cli_size,
        "tool": runner.__name__,
        "runs": args.cli_runs,
        **timings,
        "cpu": noise.result(),
        "slm": slm_version(),
    }


def hyperfine(command: list[str], runs: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        subprocess.run(
            [
                "hyperfine",
                "-N",
                "--warmup",
                "2",
                "--runs",
                str(runs),
                "--export-json",
                export.name,
                shlex.join(command),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        result = json.loads(Path(export.name).read_text())["results"][0]
    return {
        "command": shlex.join(command),
        "median_s": round(result["median"], 3),
        "mean_s": round(result["mean"], 3),
        "min_s": round(result["min"], 3),
        "max_s": round(result["max"], 3),
    }


def own_timer(command: list[str], runs: int) -> dict:
    seconds = []
    for _ in range(runs):
        _, ms = timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
        seconds.append(ms / 1000)
    return {
        "command": shlex.join(command),
        "median_s": round(float(np.median(seconds)), 3),
        "mean_s": round(float(np.mean(seconds)), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
    }


# -- orchestration ----------------------------------------------------------------------------------------------


def run_phase(args: argparse.Namespace, phase: str, size: int, out: Path) -> dict:
    """Run one phase in a fresh interpreter (its own peak RSS, nothing warm) and read back its JSON."""
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--size",
        str(size),
        "--workdir",
        str(args.workdir),
        "--queries",
        str(args.queries),
        "--warmup",
        str(args.warmup),
        "--batch-size",
        str(args.batch_size),
        "--cli-size",
        str(args.cli_size),
        "--cli-runs",
        str(args.cli_runs),
        "--out",
        str(out),
    ]
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def ensure_store(args: argparse.Namespace, size: int) -> dict:
    """The store's ingest record, building the store first unless a finished one from the same corpus exists."""
    record = ingest_record(args.workdir, size)
    reuse = not args.rebuild and record.exists() and json.loads(record.read_text()).get("seed") == corpus.SEED
    if not reuse:
        run_phase(args, "build", size, record)
    return json.loads(record.read_text()) | {"reused": reuse}


def run_all(args: argparse.Namespace) -> dict:
    results: dict = {"machine": machine(), "slm_home": os.environ["SLM_HOME"], "targets": TARGETS, "sizes": {}}
    for size in args.sizes:
        ingest = ensure_store(args, size)
        recall = run_phase(args, "recall", size, args.workdir / f"recall-{size}.json")
        results["sizes"][str(size)] = {"ingest": ingest, "recall": recall}
    if args.cli_size:
        if args.cli_size not in args.sizes:
            ensure_store(args, args.cli_size)
        results["cli"] = cli_phase(args)
    return results


def summary(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="slm latency benchmark")
    for column in (
        "size",
        "ingest/s",
        "build RSS MB",
        "recall p50",
        "p95",
        "p99",
        "recall RSS MB",
        "recall@10",
        "sqlite-vec KNN p50",
        "mirror p50",
        "other cores",
    ):
        table.add_column(column, justify="right")
    for size, row in results["sizes"].items():
        ingest, recall = row["ingest"], row["recall"]
        table.add_row(
            f"{int(size):,}",
            f"{ingest['per_second']:.0f}",
            f"{ingest['peak_rss_mb']:.0f}",
            f"{recall['recall']['p50_ms']:.1f}",
            f"{recall['recall']['p95_ms']:.1f}",
            f"{recall['recall']['p99_ms']:.1f}",
            f"{recall['after_recalls']['peak_rss_mb']:.0f}",
            f"{recall['exact']['recall_at_k']:.3f}",
            f"{recall['exact']['sqlite_vec_knn']['p50_ms']:.1f}",
            f"{recall['exact']['numpy_mirror']['p50_ms']:.2f}",
            f"{recall['cpu']['other_cores']:.2f}",
        )
    console = Console(width=None if sys.stdout.isatty() else 150)
    console.print(table)
    if "cli" in results:
        cli = results["cli"]
        console.print(
            f"slm recall --json at {cli['size']:,}: median {cli['recall']['median_s']:.3f} s; "
            f"--limit 5: {cli['recall_limit_5']['median_s']:.3f} s; "
            f"slm --help: {cli['help']['median_s']:.3f} s"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200, help="measured recall queries per size")
    parser.add_argument("--warmup", type=int, default=20, help="recall queries run before measuring")
    parser.add_argument("--batch-size", type=int, default=64, help="remember_many batch_size")
    parser.add_argument("--cli-size", type=int, default=10_000, help="store size for the CLI timing (0: skip)")
    parser.add_argument("--cli-runs", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slm-bench"))
    parser.add_argument("--out", type=Path, help="JSON results file (default: WORKDIR/latency.json)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild stores even when WORKDIR has them")
    parser.add_argument(
        "--phase",
        choices=("all", "build", "recall", "cli"),
        default="all",
        help="internal: one phase in this process (the default runs each in a fresh one)",
    )
    parser.add_argument("--size", type=int, help="the store size, for a single phase")
    return parser.parse_args(argv)


PHASES = {"build": build_phase, "recall": recall_phase, "cli": cli_phase}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.phase in ("build", "recall") and args.size is None:
        raise SystemExit(f"--phase {args.phase} needs --size")
    os.environ.setdefault("SLM_HOME", DEFAULT_HOME)
    args.workdir = args.workdir.resolve()
    out = args.out or args.workdir / "latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.phase == "all":
        results = run_all(args)
        out.write_text(json.dumps(results, indent=2))
        summary(results)
        print(f"results: {out}")
    else:
        out.write_text(json.dumps(PHASES[args.phase](args), indent=2))


if __name__ == "__main__":
    main()
