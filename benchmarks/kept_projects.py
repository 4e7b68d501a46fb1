"""What a project kept to one member costs another member's agent: its count and recall on a copy of a 10k store,
the project kept and shared in turns (docs/benchmarks.md, "What private memories add to an agent's recall").

    python -m benchmarks.kept_projects /tmp/privbench/memory.db   # a copy: the store gets an agent and a kept project
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from slm import Memory

QUERIES = ["how do we deploy the service", "which database do we use", "rollback the release", "tests are flaky in CI"]
ROUNDS = 3


def median_ms(call: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main(db: str) -> dict:
    with Memory.open(db) as owner:
        project = max(owner.counts("project").items(), key=lambda kv: kv[1])[0]
        _, token = owner.add_agent("bench-bob", member="bob")
    found: dict[str, dict[str, list[float]]] = {s: {"count": [], "recall": []} for s in ("kept", "shared")}
    for _ in range(ROUNDS):
        for state, figures in found.items():
            with Memory.open(db) as owner:
                if state == "kept":
                    owner.keep_project_private(project, member="alice")
                else:
                    owner.share_project(project)
            with Memory.open(db, protocol="mcp-stdio") as bob:
                bob.authenticate(token)
                for query in QUERIES:  # warm
                    bob.recall(query, 10)
                figures["count"].append(median_ms(bob.count, 20))
                recalls = [median_ms(lambda q=q: bob.recall(q, 10), 3) for q in QUERIES]
                figures["recall"].append(statistics.median(recalls))
    return {state: {k: round(statistics.median(v), 2) for k, v in figures.items()} for state, figures in found.items()}


if __name__ == "__main__":
    print(main(sys.argv[1]))
