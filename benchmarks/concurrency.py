"""Many agents writing one store at once: real `slm mcp` processes over stdio, as assistants run them.

Each agent is its own server process (stdio means one per client), all on one database file. Every agent first
connects and warms its model, then all start together: each stores `--writes` memories, with a `recall` after
every `--recall-every` of them. Reported per agent count: writes/s over the whole run (wall clock), and the
median and p95 latency of `remember` as the client sees it (embedding included).

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/concurrency.py --agents 1,4,10,20 --writes 50 \\
        --out benchmarks/results/concurrency.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import corpus


@dataclass
class AgentRun:
    name: str
    ids: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    recalls: int = 0
    errors: list[str] = field(default_factory=list)


def slm_command() -> str:
    return str(Path(sys.executable).with_name("slm"))


def texts_for(agent: int, writes: int) -> list[str]:
    """Distinct, realistic memories per agent (the corpus is shared, the suffix keeps them apart)."""
    pool = corpus.memories(writes, seed=1000 + agent)
    return [f"{item['text']} (agent {agent}, note {i})" for i, item in enumerate(pool)]


async def _agent(index: int, db: Path, writes: int, recall_every: int, start: asyncio.Event, ready) -> AgentRun:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport
    from mcp_types import Implementation

    run = AgentRun(f"agent-{index:02d}")
    env = {"SLM_HOME": os.environ["SLM_HOME"], "PYTHONUNBUFFERED": "1"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("SLM_") and k != "SLM_AGENT"})
    if "PYTHONPATH" in os.environ:  # the servers run the code under test (a worktree's), not the installed slm
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    transport = StdioTransport(command=slm_command(), args=["mcp", "--db", str(db)], env=env, keep_alive=False)
    client = Client(transport, client_info=Implementation(name=run.name, version="1"), timeout=300)
    try:
        async with client:
            await client.call_tool("recall", {"query": "warm up the model"})
            ready()
            await start.wait()
            for i, text in enumerate(texts_for(index, writes)):
                await _one_write(client, run, i, text, recall_every)
    except Exception as err:  # a server that fails to start or dies: reported, and the others not kept waiting
        run.errors.append(f"{type(err).__name__}: {err}")
        ready()
    return run


async def _one_write(client, run: AgentRun, i: int, text: str, recall_every: int) -> None:
    began = time.perf_counter()
    try:
        result = await client.call_tool("remember", {"content": text, "project": "bench"})
        run.latencies.append(time.perf_counter() - began)
        run.ids.append(result.structured_content["id"])
        if recall_every and (i + 1) % recall_every == 0:
            await client.call_tool("recall", {"query": text[:80], "k": 5})
            run.recalls += 1
    except Exception as err:  # every failed call is counted and reported, never hidden
        run.errors.append(f"{type(err).__name__}: {err}")


async def run_agents(db: Path, agents: int, writes: int, recall_every: int = 2) -> dict:
    """Start `agents` servers on `db`, let them write together, and summarise what the clients saw."""
    start = asyncio.Event()
    waiting = [agents]

    def ready() -> None:
        waiting[0] -= 1
        if waiting[0] <= 0:
            start.set()

    tasks = [asyncio.create_task(_agent(i, db, writes, recall_every, start, ready)) for i in range(agents)]
    await start.wait()
    began = time.perf_counter()
    runs = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    latencies = sorted(x for r in runs for x in r.latencies)
    return {
        "agents": agents,
        "writes": len(latencies),
        "recalls": sum(r.recalls for r in runs),
        "errors": [e for r in runs for e in r.errors],
        "ids": [i for r in runs for i in r.ids],
        "elapsed_s": round(elapsed, 3),
        "writes_per_s": round(len(latencies) / elapsed, 1),
        "write_ms_p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "write_ms_p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default="1,4,10,20", help="comma-separated agent counts")
    parser.add_argument("--writes", type=int, default=50, help="remember calls per agent")
    parser.add_argument("--recall-every", type=int, default=2, help="a recall after every N writes (0: none)")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    os.environ.setdefault("SLM_HOME", str(Path(tempfile.gettempdir()) / "slm-bench-home"))
    results = []
    for agents in [int(a) for a in args.agents.split(",")]:
        workdir = Path(tempfile.mkdtemp(prefix=f"slm-conc-{agents}-"))
        try:
            summary = asyncio.run(run_agents(workdir / "memory.db", agents, args.writes, args.recall_every))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        summary.pop("ids")
        summary["errors"] = len(summary["errors"])
        results.append(summary)
        print(json.dumps(summary), flush=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "writes_per_agent": args.writes,
        "recall_every": args.recall_every,
        "results": results,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
