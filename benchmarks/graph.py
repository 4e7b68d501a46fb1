"""The knowledge graph, measured on LongMemEval_S dev turns (real text, cached real embeddings).

    # the `similar` edge threshold: cosine of unrelated pairs vs neighbouring turns of one conversation
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph threshold
    # the Leiden objective and resolution: agreement (NMI) of clusters with the conversations they came from
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph objective --limit 20
    # a full rebuild at scale, and what linking costs on the write path
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph rebuild --memories 100000

A conversation (haystack session) is the closest thing to a ground-truth topic this data has: turns of one
session should mostly share a cluster, and sessions about different things should not.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.longmemeval import EmbeddingCache, Instance, data_path, load_instances
from slm import Memory
from slm.app import clusters, config, graph

RESULTS = Path(__file__).parent / "results"


def _cache(args) -> EmbeddingCache:
    return EmbeddingCache(args.cache or config.data_dir() / "cache" / "lme-vectors.db")


def _store(workdir: Path, name: str, cache: EmbeddingCache) -> Memory:
    mem = Memory.open(workdir / f"{name}.db")
    mem._embedder = cache.wrap(mem.embedder)
    return mem


# -- the similar-edge threshold -----------------------------------------------------------------------------------
def threshold(args) -> dict:
    """Cosines of random pairs of turns from different instances vs adjacent turns of one session."""
    cache = _cache(args)
    instances = [Instance.parse(raw) for raw in load_instances(data_path(args.data), args.limit)]
    with tempfile.TemporaryDirectory() as workdir, _store(Path(workdir), "probe", cache) as mem:
        embedder = mem.embedder
        vectors, sessions = [], []
        for inst in instances:
            texts = [item["text"] for item in inst.items]
            for (_, matrix), item in zip(
                _embed(embedder, texts), inst.items, strict=True
            ):  # one vector per turn, as the graph links them
                vectors.append(graph.memory_vector(matrix))
                sessions.append((inst.qid, item["meta"]["session"]))
    matrix = np.vstack(vectors)
    rng = random.Random(7)
    adjacent = [float(matrix[i] @ matrix[i + 1]) for i in range(len(sessions) - 1) if sessions[i] == sessions[i + 1]]
    qids = [s[0] for s in sessions]
    unrelated = []
    while len(unrelated) < 200_000:
        i, j = rng.randrange(len(matrix)), rng.randrange(len(matrix))
        if qids[i] != qids[j] and sessions[i][1] != sessions[j][1]:
            unrelated.append(float(matrix[i] @ matrix[j]))
    report = {
        "turns": len(matrix),
        "unrelated_pairs": _percentiles(unrelated),
        "adjacent_turns": _percentiles(adjacent),
        "adjacent_above": {str(t): round(np.mean(np.array(adjacent) >= t), 3) for t in (0.4, 0.5, 0.6, 0.7)},
        "unrelated_above": {str(t): round(np.mean(np.array(unrelated) >= t), 5) for t in (0.4, 0.5, 0.6, 0.7)},
    }
    print(json.dumps(report, indent=1))
    return report


def _embed(embedder, texts):
    from slm.app.memory import embed_chunked

    return embed_chunked(embedder, texts)


def _percentiles(values: list[float]) -> dict:
    array = np.array(values)
    return {f"p{q}": round(float(np.percentile(array, q)), 3) for q in (50, 90, 99, 99.9)}


# -- the Leiden objective -----------------------------------------------------------------------------------------
CANDIDATES = [("modularity", r) for r in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)] + [("cpm", r) for r in (0.05, 0.1, 0.2)]


def objective(args) -> dict:
    """NMI between clusters and source sessions, cluster counts and sizes, per objective and resolution."""
    import igraph

    cache = _cache(args)
    instances = [Instance.parse(raw) for raw in load_instances(data_path(args.data), args.limit)]
    scores: dict[str, list[dict]] = {f"{o}@{r}": [] for o, r in CANDIDATES}
    with tempfile.TemporaryDirectory() as workdir:
        for inst in instances:
            with _store(Path(workdir), inst.qid, cache) as mem:
                ids = mem.remember_many(inst.items)
                session_of = {int(i): item["meta"]["session"] for i, item in zip(ids, inst.items, strict=True)}
                nodes = mem.graph.current_ids()
                pairs, weights = clusters._weighted_edges(mem.graph, nodes)
                truth = _labels([session_of[int(n)] for n in nodes])
                for name, resolution in CANDIDATES:
                    found = clusters.partition(len(nodes), pairs, weights, name, resolution)
                    membership = np.empty(len(nodes), np.int64)
                    for label, members in enumerate(found):
                        membership[members] = label
                    kept = [c for c in found if len(c) >= clusters.MIN_SIZE]
                    scores[f"{name}@{resolution}"].append(
                        {
                            "nmi": igraph.compare_communities(truth, membership.tolist(), method="nmi"),
                            "clusters": len(kept),
                            "sessions": len(set(truth)),
                            "unclustered": 1 - sum(map(len, kept)) / len(nodes),
                        }
                    )
    report = {
        name: {key: round(statistics.fmean(r[key] for r in rows), 3) for key in rows[0]}
        for name, rows in scores.items()
    }
    print(json.dumps(report, indent=1))
    return report


def _labels(values: list) -> list[int]:
    index: dict = {}
    return [index.setdefault(v, len(index)) for v in values]


# -- rebuild at scale ---------------------------------------------------------------------------------------------
def rebuild(args) -> dict:
    """Store `--memories` turns (the split's distinct turns, repeated in further projects if needed), then time
    two full rebuilds and the share of memories whose cluster id survived the second."""
    cache = _cache(args)
    turns: list[dict] = []
    seen: set[str] = set()
    for raw in load_instances(data_path(args.data), None):
        for item in Instance.parse(raw).items:
            if item["text"] not in seen:
                seen.add(item["text"])
                turns.append(item)
    items = [
        {**turns[i % len(turns)], "project": f"copy{i // len(turns)}"} for i in range(args.memories)
    ]  # a copy is another project, so its text is stored again
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir, _store(Path(workdir), "scale", cache) as mem:
        began = time.perf_counter()
        mem.remember_many(items, batch_size=256)
        ingest_s = time.perf_counter() - began
        first = mem.graph_build()
        before = mem.graph.memberships()
        second = mem.graph_build()
        after = mem.graph.memberships()
        same = sum(1 for m, c in before.items() if after.get(m, (None,))[0] == c[0])
        report = {
            "memories": args.memories,
            "ingest_s": round(ingest_s, 1),
            "ingest_per_s": round(args.memories / ingest_s, 1),
            "first_build": first.to_dict(),
            "second_build": second.to_dict(),
            "cluster_kept_share": round(same / max(1, len(before)), 4),
            "graph": mem.graph_stats(),
        }
    print(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["threshold", "objective", "rebuild"])
    parser.add_argument("--data", help="LongMemEval_S file (default: $SLM_LME_DATA or ../shared/data)")
    parser.add_argument("--cache", type=Path, help="embedding cache (default: $SLM_HOME/cache/lme-vectors.db)")
    parser.add_argument("--limit", type=int, default=20, help="instances for threshold/objective")
    parser.add_argument("--memories", type=int, default=100_000, help="store size for rebuild")
    parser.add_argument("--workdir", help="where the rebuild store goes (default: the system temp dir)")
    parser.add_argument("--out", type=Path, help="write the report here as JSON")
    args = parser.parse_args(argv)
    if not data_path(args.data).exists():
        print(f"LongMemEval data not found at {data_path(args.data)}: set --data or SLM_LME_DATA")
        return None
    report = {"threshold": threshold, "objective": objective, "rebuild": rebuild}[args.what](args)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
