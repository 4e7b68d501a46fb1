"""Contradiction detection: slm's claims + sheaf check against the cosine-threshold baseline, on the labelled cases
of benchmarks/contradiction_cases.py; and the cost of the claims and checks on the write path.

Detection. Every case goes into one store through the public API, statement by statement, each at its simulated
time (a base date plus its `day`) by its author; a case's projects and agents are its own (prefixed with the
case id), so that cases cannot meet and agents' trust does not carry over from case to case. A case is flagged by
slm when, after its last statement, it has an open contradiction. The baseline is the released SuperLocalMemory V3
rule: two statements about one entity (an slm.graph.entities key or a claim subject in common) whose embeddings'
cosine is below 0.6.
Reported: precision, recall, F1 and false positives for both, and what each flagged per kind; and slm's figures
on the two halves of the cases separately: the odd-numbered ones were read while the rules of slm.facts.claims were
written (their misses guided which general shapes to add), the even-numbered ones never were.

Store costs (`--store PATH`, a copy of a large store): `remember` of ordinary developer notes, then of notes that
all disagree with earlier ones, with the time spent in claims and checks (ClaimKeeper.place, timed around the real
call) and its share of each write; then `recall`, with the time of the reads that find superseded hits; medians.
The first open of a store from before migration 0007 extracts the claims of every memory (`first_open_seconds`).

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.contradictions \
        --out benchmarks/results/contradictions.json
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.contradictions --store /tmp/copy-of-100k.db --writes 200
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks import corpus
from benchmarks.contradiction_cases import CASES, Case
from slm import Memory
from slm.facts import claims, validity
from slm.graph import entities
from slm.storage.claims import ClaimRepository

BASE = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # the cases' day 0; their explicit dates fall after it
BASELINE_COSINE = 0.6


def run_detector(mem: Memory, cases: tuple[Case, ...]) -> dict[str, bool]:
    flagged = {}
    for case in cases:
        for statement in case.statements:
            agent = statement.agent if statement.agent == "user" else f"{statement.agent}-{case.id}"
            when = BASE + timedelta(days=statement.day)
            mem.remember(statement.text, agent=agent, project=f"{case.id}/{statement.project}", time=when)
        projects = {f"{case.id}/{s.project}" for s in case.statements}
        flagged[case.id] = any(mem.claims.repo.contradictions("open", p, 1) for p in projects)
    return flagged


def run_baseline(mem: Memory, cases: tuple[Case, ...]) -> dict[str, bool]:
    flagged = {}
    for case in cases:
        texts = [s.text for s in case.statements]
        vectors = mem.embedder.embed(texts)
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        keys = [{e.key for e in entities.extract(t)} | {c.subject for c in claims.extract(t)} for t in texts]
        flagged[case.id] = any(
            keys[i] & keys[j] and float(vectors[i] @ vectors[j]) < BASELINE_COSINE
            for i in range(len(texts))
            for j in range(i + 1, len(texts))
        )
    return flagged


def scores(flagged: dict[str, bool], cases: tuple[Case, ...]) -> dict:
    tp = sum(flagged[c.id] and c.contradiction for c in cases)
    fp = sum(flagged[c.id] and not c.contradiction for c in cases)
    fn = sum(not flagged[c.id] and c.contradiction for c in cases)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kinds: dict[str, dict[str, int]] = {}
    for case in cases:
        kind = kinds.setdefault(case.kind, {"cases": 0, "flagged": 0})
        kind["cases"] += 1
        kind["flagged"] += flagged[case.id]
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "by_kind": kinds,
        "missed": sorted(c.id for c in cases if c.contradiction and not flagged[c.id]),
        "false_alarms": sorted(c.id for c in cases if flagged[c.id] and not c.contradiction),
    }


def split(cases: tuple[Case, ...]) -> tuple[tuple[Case, ...], tuple[Case, ...]]:
    """Odd-numbered cases were read while the extraction rules were written; even-numbered ones never were."""
    odd = tuple(c for c in cases if int(c.id.rsplit("-", 1)[1]) % 2 == 1)
    return odd, tuple(c for c in cases if c not in odd)


def _headline(result: dict) -> dict:
    return {k: result[k] for k in ("precision", "recall", "f1", "false_positives")}


def detection() -> dict:
    with tempfile.TemporaryDirectory() as tmp, Memory.open(Path(tmp) / "memory.db") as mem:
        started = time.perf_counter()
        slm_flags = run_detector(mem, CASES)
        seconds = time.perf_counter() - started
        baseline_flags = run_baseline(mem, CASES)
        claims = mem.claims.repo.count()
    tuning, held_out = split(CASES)
    return {
        "cases": len(CASES),
        "kinds": {kind: sum(c.kind == kind for c in CASES) for kind in sorted({c.kind for c in CASES})},
        "slm": scores(slm_flags, CASES),
        "baseline_cosine_0.6": scores(baseline_flags, CASES),
        "slm_tuning_half": _headline(scores(slm_flags, tuning)),
        "slm_held_out_half": _headline(scores(slm_flags, held_out)),
        "baseline_held_out_half": _headline(scores(baseline_flags, held_out)),
        "claims_extracted": claims,
        "statements": sum(len(c.statements) for c in CASES),
        "seconds": round(seconds, 1),
    }


def store_costs(store: Path, writes: int) -> dict:
    """On a large store, the time spent in claims, timed around the real calls: in `remember` (ClaimKeeper.place)
    for ordinary developer notes (benchmarks.corpus, new to the store), then for a worst case where every write
    states a value that disagrees with earlier ones (50 services, 4 databases, 3 agents); and in `recall` (the two
    reads that find superseded memories among the hits: ClaimRepository.closed and .successors)."""
    placing: list[float] = []
    reading: list[float] = []
    with (
        timing(validity.ClaimKeeper, "place", placing),
        timing(ClaimRepository, "closed", reading),
        timing(ClaimRepository, "successors", reading),
    ):
        opened = time.perf_counter()
        with Memory.open(store) as mem:
            open_seconds = time.perf_counter() - opened
            count = mem.count()
            mem.remember("warm-up: the warm-up service uses Redis", agent="bench")
            notes = [item["text"] for item in corpus.memories(writes, seed=97)]
            databases = ["PostgreSQL", "MySQL", "MongoDB", "SQLite"]
            disagreeing = [
                f"service-{i % 50} uses {databases[i % 4]} {10 + i % 7} as its database" for i in range(writes)
            ]
            results = {}
            for name, texts in (("ordinary notes", notes), ("every write disagrees", disagreeing)):
                placing.clear()
                totals = []
                for i, text in enumerate(texts):
                    started = time.perf_counter()
                    mem.remember(text, agent=f"agent-{i % 3}", project="bench")
                    totals.append(time.perf_counter() - started)
                results[name] = _costs(placing, totals)
            found = len(mem.claims.repo.contradictions(None, "bench", 1000))
            recalls, per_recall = [], []
            for query in corpus.queries(writes):
                reading.clear()
                started = time.perf_counter()
                mem.recall(query)
                recalls.append(time.perf_counter() - started)
                per_recall.append(sum(reading))
    return {
        "memories": count,
        "writes_each": writes,
        "first_open_seconds": round(open_seconds, 2),
        **results,
        "contradictions_found": found,
        "recall": _costs(per_recall, recalls, "superseded reads"),
    }


@contextmanager
def timing(owner: type, name: str, into: list[float]) -> Iterator[None]:
    """Append the duration of every call of `owner.name` to `into` while inside."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _costs(spent: list[float], totals: list[float], part: str = "claims and checks") -> dict:
    part_ms = [x * 1000 for x in spent]
    total_ms = [t * 1000 for t in totals]
    key = part.replace(" ", "_")
    return {
        "call_ms_p50": round(statistics.median(total_ms), 2),
        f"{key}_ms_p50": round(statistics.median(part_ms), 3),
        f"{key}_ms_p90": round(float(np.percentile(part_ms, 90)), 3),
        "share_p50": round(statistics.median(p / t for p, t in zip(part_ms, total_ms, strict=True)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--store", type=Path, help="measure the write path on this store (it is written to)")
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    results = store_costs(args.store, args.writes) if args.store else detection()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
