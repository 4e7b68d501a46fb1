"""Recall while other slm processes write, for every face: the p50 under load against the p50 idle (issue 20).

Faces (`--modes`): `api` (a process on the Python API, warm, timing each `recall`), `cli` (a fresh
`slm recall … --json` process per question, wall time) and `mcp` (a real `slm mcp` stdio server driven by the
fastmcp client, timing each `recall` tool call). Loads (`--loads`): `idle`; `writers` (two other slm processes
storing one memory after another into the same store); `heavier` (those two writers and two busy-loop processes).
Every run copies the pristine store (built once per size from benchmarks/corpus.py and reused), starts its own
competitors and stops them. Each `--tree` is an slm checkout every process imports (with `--env VAR=VALUE`, each
is also run with that set); these versions alternate within each round, so they are compared paired.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/contention.py --tree . --sizes 200,10000 \\
        --workdir /tmp/slm-contention --out benchmarks/results/contention.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SLM = "from slm.cli.main import main; main()"  # `slm` itself, importing slm from PYTHONPATH (the tree)
WRITER = """
import itertools, os, sys
from slm import Memory
with Memory.open(sys.argv[1]) as mem:
    for i in itertools.count():
        mem.remember(f"writer {os.getpid()} note {i}: the deploy of service {i % 37} moved to region {i % 5}")
        if i == 0:
            print("ready", flush=True)
"""
HOG = "while True: pass"
API = """
import json, sys, time
from slm import Memory
questions = json.loads(sys.stdin.read())
with Memory.open(sys.argv[1]) as mem:
    for question in questions[:3]:
        mem.recall(question, 10)
    took = []
    for question in questions:
        began = time.perf_counter()
        mem.recall(question, 10)
        took.append((time.perf_counter() - began) * 1000)
print(json.dumps(took))
"""
LOADS = {"idle": (0, 0), "writers": (2, 0), "heavier": (2, 2)}  # (writers, busy-loop processes)


def env(tree: Path, extra: dict | None = None) -> dict:
    """The environment of every process of one version: its tree first on the path, and its extra variables.
    PYTHONSAFEPATH: `python -c` would otherwise put the working directory, maybe another tree, ahead of it."""
    path = {"PYTHONPATH": f"{tree}{os.pathsep}{HERE}", "PYTHONSAFEPATH": "1", "PYTHONUNBUFFERED": "1"}
    return os.environ | path | (extra or {})


def build(tree: Path, db: Path, memories: int) -> None:
    """The pristine store of `memories` corpus memories, written once and copied for every run."""
    code = (
        "import sys\nfrom benchmarks import corpus\nfrom slm import Memory\n"
        "with Memory.open(sys.argv[1]) as mem:\n"
        "    mem.remember_many(corpus.memories(int(sys.argv[2])))\n"
    )
    partial = db.with_name(f"building-{db.name}")
    subprocess.run([sys.executable, "-c", code, str(partial), str(memories)], env=env(tree), check=True)
    partial.rename(db)


def fresh_copy(pristine: Path, db: Path) -> None:
    """`db` as `pristine` is: its journal files and its behaviour database (recalls logged) gone too."""
    for old in db.parent.glob(f"{db.stem}.*"):
        old.unlink()
    shutil.copyfile(pristine, db)


def start_load(environ: dict, db: Path, load: str) -> list[subprocess.Popen]:
    """The competitors for `load`, returned once every writer has stored its first memory."""
    writers, hogs = LOADS[load]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db)], env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        for _ in range(writers)
    ]
    procs += [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    for proc in procs[:writers]:
        if proc.stdout.readline().strip() != b"ready":
            stop(procs)
            raise RuntimeError(f"a writer for {db} exited before storing anything")
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()


def recall_api(environ: dict, db: Path, questions: list[str]) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", API, str(db)],
        input=json.dumps(questions),
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def recall_cli(environ: dict, db: Path, questions: list[str]) -> list[float]:
    """Wall time of one fresh `slm recall … --json` per question (start-up, model and mirror load included)."""
    took = []
    for question in questions:
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", SLM, "recall", question, "--db", str(db), "--json", "-k", "10"],
            env=environ,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        took.append((time.perf_counter() - began) * 1000)
    return took


async def _recall_mcp(environ: dict, db: Path, questions: list[str]) -> list[float]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    transport = StdioTransport(
        command=sys.executable, args=["-c", SLM, "mcp", "--db", str(db)], env=environ, keep_alive=False
    )
    async with Client(transport, timeout=300) as client:
        for question in questions[:3]:
            await client.call_tool("recall", {"query": question, "k": 10})
        took = []
        for question in questions:
            began = time.perf_counter()
            await client.call_tool("recall", {"query": question, "k": 10})
            took.append((time.perf_counter() - began) * 1000)
    return took


def recall_mcp(environ: dict, db: Path, questions: list[str]) -> list[float]:
    """Client-side time of each `recall` tool call to a warm stdio `slm mcp` server."""
    return asyncio.run(_recall_mcp(environ, db, questions))


MODES = {"api": recall_api, "cli": recall_cli, "mcp": recall_mcp}


def summary(took: list[float]) -> dict:
    ordered = sorted(took)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def versions(args: argparse.Namespace) -> dict[str, dict]:
    """Each tree's processes' environment by label; with `--env`, each tree also with those variables set."""
    extra = dict(item.split("=", 1) for item in args.env)
    out = {str(tree): env(tree) for tree in args.tree}
    if extra:
        out |= {f"{tree} {' '.join(args.env)}": env(tree, extra) for tree in args.tree}
    return out


def run_size(args: argparse.Namespace, size: int, questions: dict[str, list[str]]) -> list[dict]:
    """Every (version, load, mode) at one store size; versions alternated on fresh copies within each round."""
    pristine = args.workdir / f"store-{size}.db"
    if not pristine.exists():
        build(args.tree[0], pristine, size)
    db = args.workdir / "measured.db"
    took: dict[tuple, list[float]] = {}
    loadavg: dict[tuple, list[float]] = {}
    for _ in range(args.rounds):
        for load in args.loads:
            for version, environ in versions(args).items():
                fresh_copy(pristine, db)  # the writers grow it
                procs = start_load(environ, db, load)
                try:
                    for mode in args.modes:
                        took.setdefault((version, load, mode), []).extend(MODES[mode](environ, db, questions[mode]))
                        loadavg.setdefault((version, load, mode), []).append(os.getloadavg()[0])
                finally:
                    stop(procs)
    rows = []
    for (version, load, mode), times in took.items():
        idle = took.get((version, "idle", mode))
        row = {"size": size, "version": version, "mode": mode, "load": load} | summary(times)
        row["ratio_p50_to_idle"] = round(statistics.median(times) / statistics.median(idle), 2) if idle else None
        row["load_average"] = round(statistics.median(loadavg[(version, load, mode)]), 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, action="append", help="an slm checkout (repeat to compare versions)")
    parser.add_argument("--env", action="append", default=[], help="VAR=VALUE: also run each tree with it set")
    parser.add_argument("--sizes", default="200", help="store sizes, comma-separated")
    parser.add_argument("--modes", default="api,cli,mcp")
    parser.add_argument("--loads", default="idle,writers,heavier")
    parser.add_argument("--queries", type=int, default=40, help="questions per api and mcp run")
    parser.add_argument("--cli-queries", type=int, default=8, help="fresh processes per cli run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slm-contention"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the competitors it started
    args.tree = [tree.resolve() for tree in args.tree or [Path(".")]]
    args.modes, args.loads = args.modes.split(","), args.loads.split(",")
    sys.path[:0] = [str(HERE)]
    from benchmarks import corpus

    every = corpus.queries(args.queries)
    questions = {"api": every, "mcp": every, "cli": every[: args.cli_queries]}
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = [row for size in map(int, args.sizes.split(",")) for row in run_size(args, size, questions)]
    result = {"command": sys.argv, "versions": list(versions(args)), "rounds": args.rounds, "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
