"""The knowledge graph, measured on LongMemEval_S dev turns (real text, cached real embeddings).

    # the `similar` edge threshold: cosine of unrelated pairs vs neighbouring turns of one conversation
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph threshold
    # the Leiden objective and resolution: agreement (NMI) of clusters with the conversations they came from
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph objective --limit 20
    # a full rebuild at scale, and what linking costs on the write path
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph rebuild --memories 100000 --store S.db
    # joining a cluster on write by the nearest centroid, on that store
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.graph join --store S.db

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
from slm import Memory, config
from slm.graph import clusters
from slm.graph import links as graph

RESULTS = Path(__file__).parent / "results"


def _cache(args) -> EmbeddingCache:
    return EmbeddingCache(args.cache or config.data_dir() / "cache" / "lme-vectors.db")


def _store(workdir: Path, name: str, cache: EmbeddingCache) -> Memory:
    mem = Memory.open(workdir / f"{name}.db")
    mem.store.replace_embedder(cache.wrap(mem.embedder))
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
    from slm.core.writer import embed_chunked

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
                ends, weights = mem.graph.summed_edges()
                g = clusters.weighted_graph(len(nodes), np.searchsorted(nodes, ends), weights)
                truth = _labels([session_of[int(n)] for n in nodes])
                for name, resolution in CANDIDATES:
                    found = clusters.partition(g, name, resolution)
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
    two full rebuilds and the share of memories whose cluster id survived the second. With `--store`, the store
    is kept there and reused by later runs (only the rebuilds are timed again)."""
    cache = _cache(args)
    if args.store and Path(args.store).exists():
        with _store(Path(args.store).parent, Path(args.store).stem, cache) as mem:
            return _time_rebuilds(mem, {"memories": mem.count(), "ingest_s": None})
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        path = Path(args.store) if args.store else Path(workdir) / "scale.db"
        with _store(path.parent, path.stem, cache) as mem:
            began = time.perf_counter()
            mem.remember_many(_scale_items(args.data, args.memories), batch_size=256)
            ingest_s = time.perf_counter() - began
            made = {"memories": args.memories, "ingest_s": round(ingest_s, 1)}
            return _time_rebuilds(mem, made | {"ingest_per_s": round(args.memories / ingest_s, 1)})


def _scale_items(data: str | None, count: int) -> list[dict]:
    turns: list[dict] = []
    seen: set[str] = set()
    for raw in load_instances(data_path(data), None):
        for item in Instance.parse(raw).items:
            if item["text"] not in seen:
                seen.add(item["text"])
                turns.append(item)
    # a copy is another project, so its text is stored again
    return [{**turns[i % len(turns)], "project": f"copy{i // len(turns)}"} for i in range(count)]


def _time_rebuilds(mem: Memory, report: dict) -> dict:
    began = time.perf_counter()
    first = mem.graph_build()
    first_s = time.perf_counter() - began
    before = mem.graph.memberships()
    began = time.perf_counter()
    second = mem.graph_build()
    second_s = time.perf_counter() - began
    after = mem.graph.memberships()
    same = sum(1 for m, c in before.items() if after.get(m, (None,))[0] == c[0])
    report |= {
        "first_build": first.to_dict() | {"wall_s": round(first_s, 2)},
        "second_build": second.to_dict() | {"wall_s": round(second_s, 2)},
        "cluster_kept_share": round(same / max(1, len(before)), 4),
        "graph": mem.graph_stats(),
        "recall_ms": _recall_latency(mem),
        "write_ms": _write_latency(mem),
    }
    print(json.dumps(report, indent=1))
    return report


def _write_latency(mem: Memory, writes: int = 200) -> dict:
    """One `remember` at a time at this size (embeddings from the cache, so this is the write path itself:
    entities, edges with the nearest-neighbour search, joining a cluster, FTS, vectors); removed afterwards."""
    turns = _scale_items(None, writes)
    times, ids = [], []
    for item in turns:
        began = time.perf_counter()
        ids.append(mem.remember(item["text"], time=item["time"], meta=item["meta"], project="write-probe"))
        times.append(1000 * (time.perf_counter() - began))
    mem.forget_many(ids)
    return {"p50": round(float(np.percentile(times, 50)), 1), "p95": round(float(np.percentile(times, 95)), 1)}


def _recall_latency(mem: Memory, rounds: int = 3) -> dict:
    """p50 / p95 of recall at this size over the split's questions, with and without the graph channel
    (interleaved, after one warm-up pass; query embeddings come from the cache)."""
    questions = [raw["question"] for raw in load_instances(data_path(None), None)]
    without = ("keyword", "vector", "temporal")
    for q in questions:  # warm-up: embeds (and caches) every question once
        mem.recall(q)
    times: dict[str, list[float]] = {"with_graph": [], "without_graph": []}
    for _ in range(rounds):
        for q in questions:
            for name, channels in (("with_graph", None), ("without_graph", without)):
                began = time.perf_counter()
                mem.recall(q, channels=channels)
                times[name].append(1000 * (time.perf_counter() - began))
    return {
        name: {"p50": round(float(np.percentile(t, 50)), 1), "p95": round(float(np.percentile(t, 95)), 1)}
        for name, t in times.items()
    }


def join(args) -> dict:
    """The centroid fallback of joining on write, on a built `--store`: for sampled clustered memories, how many
    would reach `JOIN_MIN` with some top-level centroid, and how many of those land in their own cluster."""
    with Memory.open(args.store, create=False) as mem:
        listed, centroids = mem.graph.centroids()
        tops = [i for i, (_, parent) in enumerate(listed) if parent is None]
        top_ids = np.array([listed[i][0] for i in tops])
        member = mem.graph.memberships()
        sample = np.sort(np.random.default_rng(1).choice(np.array(list(member)), 3000, replace=False))
        scores = mem.store.synced_index().mean_vectors(sample) @ centroids[tops].T
        right = top_ids[scores.argmax(1)] == np.array([member[int(m)][0] for m in sample])
        report = {}
        for threshold in (0.3, 0.4, clusters.JOIN_MIN, 0.5, 0.6):
            joined = scores.max(1) >= threshold
            report[str(threshold)] = {"joins": round(joined.mean(), 3), "own_cluster": round(right[joined].mean(), 3)}
    print(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["threshold", "objective", "rebuild", "join"])
    parser.add_argument("--data", help="LongMemEval_S file (default: $SLM_LME_DATA or ../shared/data)")
    parser.add_argument("--cache", type=Path, help="embedding cache (default: $SLM_HOME/cache/lme-vectors.db)")
    parser.add_argument("--limit", type=int, default=20, help="instances for threshold/objective")
    parser.add_argument("--memories", type=int, default=100_000, help="store size for rebuild")
    parser.add_argument("--workdir", help="where the rebuild store goes (default: the system temp dir)")
    parser.add_argument("--store", help="keep the rebuild store at this path, and reuse it when it exists")
    parser.add_argument("--out", type=Path, help="write the report here as JSON")
    args = parser.parse_args(argv)
    if not data_path(args.data).exists():
        print(f"LongMemEval data not found at {data_path(args.data)}: set --data or SLM_LME_DATA")
        return None
    report = {"threshold": threshold, "objective": objective, "rebuild": rebuild, "join": join}[args.what](args)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
