"""The vector channel with the int8 pool against the same search made exact (a pool of every row), on the
development sets' own stores (issue 20): how many of the channel's top-100 lists are identical, whether any
memory is missed, and by how much scores differ.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.pool_vs_exact --stores /tmp/exp/stores \\
        --out benchmarks/results/pool-vs-exact-dev.json

`--stores` is the folder `benchmarks/conversations.py` builds (`longmemeval/*.db`, `realtalk/*.db`); each store is
copied before it is opened. Questions: each LongMemEval haystack's own question, and the first ten words of every
fourth of a store's first 40 memories.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.longmemeval import data_path, load_instances
from slm import Memory
from slm.embedding import vector_index
from slm.recall.channels import vector
from slm.storage.memories import MemoryFilter

DEPTH = 100


def compare(mem, question: str) -> tuple[list, list]:
    index, repo, query = mem.store.synced_index(), mem.store.repo, mem.store.query_vector(question)
    pooled = vector.ranked(index, repo, query, MemoryFilter(live=True), DEPTH)
    kept, vector_index.MIN_POOL = vector_index.MIN_POOL, 10**9
    try:
        return pooled, vector.ranked(index, repo, query, MemoryFilter(live=True), DEPTH)
    finally:
        vector_index.MIN_POOL = kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=Path, default=Path("/tmp/slm-conversation-stores"))
    parser.add_argument("--lme", help="LongMemEval dev file (default: $SLM_LME_DATA or ../shared/data)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    asked = {raw["question_id"][:8]: raw["question"] for raw in load_instances(data_path(args.lme), None)}
    stores = sorted(args.stores.glob("longmemeval/*.db")) + sorted(args.stores.glob("realtalk/*.db"))
    counts = {"stores": len(stores), "questions": 0, "identical": 0, "same_memories_same_order": 0, "missed": 0}
    largest_score_difference = 0.0
    with tempfile.TemporaryDirectory() as work:
        for store in stores:
            copy = Path(work) / store.name
            shutil.copy(store, copy)
            with Memory.open(copy) as mem:
                questions = [asked[store.stem]] if store.stem in asked else []
                questions += [" ".join(m.content.split()[:10]) for m in mem.list(limit=40)[::4]]
                for question in questions:
                    pooled, exact = compare(mem, question)
                    counts["questions"] += 1
                    counts["identical"] += pooled == exact
                    counts["same_memories_same_order"] += [i for i, _ in pooled] == [i for i, _ in exact]
                    counts["missed"] += len({i for i, _ in exact} - {i for i, _ in pooled})
                    scores = dict(exact)
                    for memory_id, score in pooled:
                        if memory_id in scores:  # a tie at the 100th place can differ
                            largest_score_difference = max(largest_score_difference, abs(score - scores[memory_id]))
            copy.unlink()
    report = counts | {"largest_score_difference": largest_score_difference}
    print(json.dumps(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
