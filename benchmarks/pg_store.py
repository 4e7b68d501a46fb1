"""slm on PostgreSQL against slm on SQLite, the same store on both (issue 24): recall p50/p95, writes, 4 writers.

1. The SQLite store (a copy) is exported with its vectors (`slm export --include-embeddings`) and imported into a
   fresh PostgreSQL database (`slm import --db postgresql://…`): the same memories, versions and vectors on both.
   Both commands are timed.
2. Recall: one process opens both stores and asks each the same queries (benchmarks/corpus.py), alternating query
   by query so that a busy machine slows both alike; after a warm-up, p50/p95 per backend. The first recall of
   each (the vector mirror read from sqlite-vec's table, or pgvector's over the socket) is reported apart.
3. Writes: `remember`, one memory at a time, the same texts on both, alternating: p50/p95 and memories/s
   (embedding included: the same model and threads on both).
4. Writers: 4 `slm mcp` processes writing one store at once (benchmarks/concurrency.run_agents) on each backend.

The PostgreSQL server is a throwaway pgserver (PostgreSQL 16, pgvector 0.6) on this machine unless `--postgres`
names another's maintenance database; it runs with fsync off (see throwaway_postgres), so write figures are the
database's work, not a disk's flushes, on both sides (SQLite runs synchronous=NORMAL in WAL: no fsync per commit).

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.pg_store --store /tmp/base-stores/100k.db \\
        --out benchmarks/results/pg-store-100k.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.concurrency import run_agents
from benchmarks.throwaway_postgres import Databases


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def summary_ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(1000 * statistics.median(values), 2),
        "p95_ms": round(1000 * percentile(values, 0.95), 2),
    }


def slm(*args: str) -> float:
    """Run `slm ARGS` as its own process; its wall time."""
    began = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("slm")), *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def load(sqlite_store: Path, url: str, work: Path) -> dict:
    """Export the SQLite store with its vectors and import it into the PostgreSQL database."""
    export = work / "store.jsonl"
    export_s = slm("export", "--db", str(sqlite_store), "--include-embeddings", "-o", str(export))
    import_s = slm("import", "--db", url, str(export))
    return {"export_s": round(export_s, 1), "import_s": round(import_s, 1), "export_bytes": export.stat().st_size}


def recall(stores: dict[str, str], queries: int, warmup: int, k: int) -> dict:
    """Warm recall on every store, query by query in alternation."""
    from slm import Memory

    asked = corpus.queries(warmup + queries)
    opened = {name: Memory.open(where, create=False) for name, where in stores.items()}
    try:
        first = {}
        for name, mem in opened.items():
            began = time.perf_counter()
            mem.recall(asked[0], k)
            first[name] = round(time.perf_counter() - began, 3)
        times: dict[str, list[float]] = {name: [] for name in opened}
        same = 0
        for i, query in enumerate(asked[1:]):
            ids = {}
            for name, mem in opened.items():
                began = time.perf_counter()
                ids[name] = [h.id for h in mem.recall(query, k)]
                if i >= warmup - 1:
                    times[name].append(time.perf_counter() - began)
            same += len({tuple(v) for v in ids.values()}) == 1
        return {
            "first_recall_s": first,
            "warm": {name: summary_ms(values) for name, values in times.items()},
            "same_ids_share": round(same / (len(asked) - 1), 3),
        }
    finally:
        for mem in opened.values():
            mem.close()


def writes(stores: dict[str, str], count: int) -> dict:
    """`remember` one memory at a time, the same texts on every store, alternating."""
    from slm import Memory

    texts = [item["text"] + f" (pg-bench note {i})" for i, item in enumerate(corpus.memories(count, seed=4242))]
    opened = {name: Memory.open(where, create=False) for name, where in stores.items()}
    try:
        for mem in opened.values():
            mem.remember("warm the model and the write path", project="pg-bench")
        times: dict[str, list[float]] = {name: [] for name in opened}
        for text in texts:
            for name, mem in opened.items():
                began = time.perf_counter()
                mem.remember(text, project="pg-bench")
                times[name].append(time.perf_counter() - began)
        return {
            name: {**summary_ms(values), "memories_per_s": round(len(values) / sum(values), 1)}
            for name, values in times.items()
        }
    finally:
        for mem in opened.values():
            mem.close()


def writers(stores: dict[str, str], agents: int, per_agent: int) -> dict:
    """`agents` MCP server processes writing each store at once; nothing may be lost."""
    found = {}
    for name, where in stores.items():
        result = asyncio.run(run_agents(where, agents, per_agent, recall_every=2))
        ids = result.pop("ids")
        result["lost"] = agents * per_agent - len(set(ids))
        found[name] = result
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a SQLite store (only read: a copy is used)")
    parser.add_argument("--postgres", help="a maintenance database URL of another server (default: a throwaway)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "slm-pg-bench")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--agent-writes", type=int, default=50)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    copy = args.work / "memory.db"
    shutil.copyfile(args.store, copy)
    report: dict = {
        "store": str(args.store),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    with Databases(args.postgres) as postgres:
        url = postgres.fresh("pg_store")
        stores = {"sqlite": str(copy), "postgres": url}
        print("loading the store into PostgreSQL ...", flush=True)
        report["load"] = load(copy, url, args.work)
        print(f"  {report['load']}\nrecall ...", flush=True)
        report["recall"] = recall(stores, args.queries, args.warmup, args.k)
        print(f"  {report['recall']}\nwrites ...", flush=True)
        report["writes"] = writes(stores, args.writes)
        print(f"  {report['writes']}\n{args.agents} writer processes ...", flush=True)
        report["writers"] = writers(stores, args.agents, args.agent_writes)
        print(f"  {report['writers']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
