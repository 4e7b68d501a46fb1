"""What the learner costs (issue 23): training on 1k / 10k interactions, and a recall with the learned ranking in
effect against the same recall without it.

The store is one of `benchmarks/learning.py`'s users (2,000 generated developer memories, built and cached there).
Its behaviour log is written directly: `--interactions` recalls in sessions of one to three, each showing ten of
the memories about its task, the relevant ones (the user's project and technology) used with probability 1/rank,
the task's follow-up next in the session. Timed over `--repeat` runs each: learning afresh with no model
(`mem.learning.update(force=True)`: read the log, weigh the signals, replay the newest recalls through the layers,
the weights and the guard, save), then an update after another `LEARN_EVERY` recalls (`mem.learning.update()`);
then `--queries` recalls with `workspace` and `caller_session`, learning on and off, alternating. Medians.

    SLM_THREADS=1 SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.learning_speed \\
        --interactions 1000 10000 --out benchmarks/results/learning-speed.json
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import learning as bench
from benchmarks import learning_corpus as lc
from benchmarks import longmemeval as lme
from benchmarks.report import machine, slm_version
from slm import Memory
from slm.core.learning import LEARN_EVERY


def write_log(mem: Memory, user: bench.User, interactions: int, rng: random.Random, start: int = 0) -> None:
    """`interactions` recalls and their uses, as the MCP server would have logged them (`start`: those before)."""
    by_task: dict[str, list[int]] = {}
    for memory_id, truth in user.truths.items():
        if truth.task is not None:
            by_task.setdefault(truth.task, []).append(memory_id)
    profile = user.profile
    behavior = mem.behavior
    n = start
    with behavior.conn.write_transaction():
        while n < start + interactions:
            session, project = f"speed-{n}", rng.choice(profile.projects)
            task = rng.choice(list(by_task))
            for _ in range(rng.randint(1, 3)):
                n += 1
                results = rng.sample(by_task[task], min(10, len(by_task[task])))
                stamp = f"2026-01-01T00:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.{n:06d}Z"
                recall_id = behavior.record_recall(
                    time=stamp, query=rng.choice(lc.TASK[task].asks), k=10, results=results, agent=bench.AGENT,
                    protocol="mcp", session=session, workspace=project,
                )  # fmt: skip
                grades = [lc.grade(user.truths[m], task, project, profile.prefers) for m in results]
                used = [
                    m for r, (m, g) in enumerate(zip(results, grades, strict=True), 1) if g and rng.random() < 1 / r
                ]
                behavior.record_uses([(stamp, recall_id, m, "get", None) for m in used])
                task = lc.WORKFLOWS.get(task, task)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--stores", type=Path, default=Path("/tmp/slm-learning-stores"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    cache = lme.EmbeddingCache(args.stores / "embeddings.sqlite")
    user = bench.build_user(args.seed, 0, 2000, 60, args.stores, cache)
    report: dict = {
        "command": shlex.join([sys.executable, "-m", "benchmarks.learning_speed", *(argv or sys.argv[1:])]),
        "memories": 2000,
        "runs": [],
    }
    for interactions in args.interactions:
        with (
            tempfile.TemporaryDirectory(prefix="slm-learning-speed-") as folder,
            Memory.open(bench.fresh_copy(user, Path(folder))) as mem,
        ):
            mem.store.replace_embedder(cache.wrap(mem.embedder))
            write_log(mem, user, interactions, random.Random(args.seed))
            afresh, update = [], []
            for _ in range(args.repeat):  # learned afresh: the first time, after a reset or an upgrade
                mem.behavior.delete_learned_state(keep=("settings",))
                began = time.perf_counter()
                mem.learning.update(force=True)
                afresh.append(time.perf_counter() - began)
            for n in range(args.repeat):  # what an agent's next LEARN_EVERY recalls cost to learn from
                write_log(mem, user, LEARN_EVERY, random.Random(n), start=interactions + n * LEARN_EVERY)
                began = time.perf_counter()
                mem.learning.update()
                update.append(time.perf_counter() - began)
            status = mem.learning.status()
            asked = [random.Random(n).choice(lc.TASK[t].asks) for n, t in enumerate(list(lc.TASK) * 3)]
            timings = {"learning": [], "without": []}
            for n, query in enumerate(asked[: args.queries]):
                for arm in ("learning", "without") if n % 2 else ("without", "learning"):
                    began = time.perf_counter()
                    mem.recall(query, 10, workspace=user.profile.projects[0], caller_session=f"speed-{n}",
                                   learning=arm == "learning")  # fmt: skip
                    timings[arm].append(time.perf_counter() - began)
            report["runs"].append({
                    "interactions": interactions,
                    "afresh_s_median": round(statistics.median(afresh), 3),
                    "afresh_s_runs": [round(t, 3) for t in afresh],
                    "update_ms_median": round(1000 * statistics.median(update), 1),
                    "update_ms_runs": [round(1000 * t, 1) for t in update],
                    "in_effect": status["in_effect"],
                    "held_out": status.get("held_out"),
                    "recall_ms_median_learning": round(1000 * statistics.median(timings["learning"]), 2),
                    "recall_ms_median_without": round(1000 * statistics.median(timings["without"]), 2),
                })  # fmt: skip
            print(json.dumps(report["runs"][-1]), flush=True)
    report |= {"machine": machine(), "slm": slm_version()}
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
