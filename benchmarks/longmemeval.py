"""Retrieval quality on LongMemEval_S (development split): session and turn recall, NDCG, per question type.

Per instance: a fresh store; every turn of every haystack session stored as one memory (role and session in its
meta, the session's date as its time); the question recalled at its `question_date`. Ranked memories map back to
their turns, and turns to their sessions. Abstention questions (`*_abs`) are left out. Every system runs on the
same stores in the same run: `slm` (the default recall), the plain BM25 + vector fusion, each channel alone as a
baseline, and any `--weights` variants for ablations.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.longmemeval --out benchmarks/results/lme-dev.json
    .venv/bin/python -m benchmarks.longmemeval --limit 2      # a quick smoke run

Embeddings are cached by model and text in `--cache` (SQLite), so reruns skip llama.cpp: the first full run
embeds ~49k turns (~30 min on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import math
import os
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from benchmarks.throwaway_postgres import Databases
from slm import Memory
from slm.lifecycle import langevin
from slm.recall.channels import graph, keyword, vector

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lme_dev.jsonl.gz"
PLAIN = {
    "CHUNK_PENALTY": 0.0,
    "KEYWORD_LENGTH_EXP": 0.0,
}  # the keyword and vector channels without their length corrections
FIVE = ("keyword", "vector", "graph", "temporal", "fisher")
SYSTEMS = {  # name -> Memory.recall options (+ "patch": channel constants); "slm" is the default recall
    "slm": {},
    "no-graph": {"channels": ("keyword", "vector", "temporal")},
    "no-length": {"patch": PLAIN},
    "bm25+vector": {"channels": ("keyword", "vector"), "patch": PLAIN},
    "bm25": {"channels": ("keyword",), "patch": PLAIN},
    "vector": {"channels": ("vector",), "patch": PLAIN},
    "fisher": {"channels": ("fisher",), "patch": PLAIN},
    "vector+length": {"channels": ("vector",)},  # with the chunk-count correction, as slm uses it
    "slm-fisher": {"channels": ("keyword", "fisher", "graph", "temporal")},  # Fisher instead of cosine
    "slm+fisher": {"channels": FIVE},  # both
    "slm+fisher/2": {"channels": FIVE, "weights": {"fisher": 0.5}},
    "no-lifecycle": {"lifecycle": False},
}
DEPTH = 50  # memories recalled per question: enough for 10 distinct sessions


def data_path(given: str | None = None) -> Path:
    return Path(given or os.environ.get("SLM_LME_DATA") or DEFAULT_DATA)


def load_instances(path: Path, limit: int | None = None) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        instances = [json.loads(line) for line in lines]
    scored = [i for i in instances if not i["question_id"].endswith("_abs")]
    return scored[:limit] if limit else scored


def lme_time(text: str) -> str:
    """'2023/05/20 (Sat) 02:02' -> ISO-8601."""
    return datetime.strptime(text, "%Y/%m/%d (%a) %H:%M").isoformat()


def asked_on(question_date: str) -> str:
    """The end of the question's day: 12 of the 95 scored questions have evidence sessions later on the same day
    than the question's clock time, which a to-the-minute `now` would hide, so question dates count by the day."""
    return lme_time(question_date)[:10] + "T23:59:59"


# -- metrics ------------------------------------------------------------------------------------------------------
def distinct_in_order(values: list) -> list:
    return list(dict.fromkeys(values))


def recall_any(ranked: list, relevant: set, k: int) -> float:
    return float(bool(relevant & set(ranked[:k])))


def recall_all(ranked: list, relevant: set, k: int) -> float:
    return float(relevant <= set(ranked[:k]))


def recall_fraction(ranked: list, relevant: set, k: int) -> float:
    return len(relevant & set(ranked[:k])) / len(relevant)


def ndcg(ranked: list, relevant: set, k: int) -> float:
    if not relevant:
        return 0.0
    gains = sum(1 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return gains / ideal


def reciprocal_rank(ranked: list, relevant: set) -> float:
    return next((1 / (rank + 1) for rank, item in enumerate(ranked) if item in relevant), 0.0)


def score(turns: list, sessions: list, evidence_turns: set, evidence_sessions: set) -> dict[str, float]:
    """Metrics of one question from its ranked turns and ranked distinct sessions."""
    out = {
        "session_recall_any@5": recall_any(sessions, evidence_sessions, 5),
        "session_recall_any@10": recall_any(sessions, evidence_sessions, 10),
        "session_recall_all@5": recall_all(sessions, evidence_sessions, 5),
        "session_ndcg@10": ndcg(sessions, evidence_sessions, 10),
    }
    if evidence_turns:
        out |= {
            "turn_recall@10": recall_fraction(turns, evidence_turns, 10),
            "turn_recall_any@10": recall_any(turns, evidence_turns, 10),
            "turn_recall_all@10": recall_all(turns, evidence_turns, 10),
            "turn_ndcg@10": ndcg(turns, evidence_turns, 10),
            "turn_mrr": reciprocal_rank(turns, evidence_turns),
        }
    return out


# -- the embedding cache ------------------------------------------------------------------------------------------
class EmbeddingCache:
    """Chunk vectors by (model, text) hash in one SQLite file, shared by every store of a run and by reruns."""

    def __init__(self, path: Path) -> None:
        import apsw

        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = apsw.Connection(str(path))
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.hits = self.misses = 0

    def wrap(self, embedder) -> CachingEmbedder:
        return CachingEmbedder(embedder, self)

    def get(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            found |= dict(self.conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part))
        return found

    def put(self, rows: list[tuple[str, bytes]]) -> None:
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)


@dataclass
class CachingEmbedder:
    """Stands in for slm's Embedder: same chunking, vectors from the cache when it has them."""

    inner: object
    cache: EmbeddingCache
    model_key: str = field(init=False)

    def __post_init__(self) -> None:
        model = Path(self.inner.model_path)
        self.model_key = f"{model.name}:{model.stat().st_size}"

    def __getattr__(self, name: str):  # dim, max_tokens, chunk_spans, count_tokens, …
        return getattr(self.inner, name)

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(f"{self.model_key}\0{t}".encode()).hexdigest() for t in texts]
        found = self.cache.get(list(set(keys)))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        self.cache.hits += sum(1 for k in keys if k in found)
        self.cache.misses += len(missing)
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            fresh = self.inner.embed([text_of[k] for k in missing])
            rows = [(k, v.astype(np.float32).tobytes()) for k, v in zip(missing, fresh, strict=True)]
            self.cache.put(rows)
            found |= dict(rows)
        return np.stack([np.frombuffer(found[k], np.float32) for k in keys])


# -- one instance -------------------------------------------------------------------------------------------------
@dataclass
class Instance:
    qid: str
    qtype: str
    question: str
    asked_at: str
    items: list[dict]  # memories to store
    turn_keys: list[tuple[int, int]]  # (session index, turn index) of each item
    evidence_turns: set[tuple[int, int]]
    evidence_sessions: set[int]
    skipped_turns: int

    @classmethod
    def parse(cls, raw: dict) -> Instance:
        items, keys, evidence, skipped = [], [], set(), 0
        answer_ids = set(raw["answer_session_ids"])
        evidence_sessions = {s for s, sid in enumerate(raw["haystack_session_ids"]) if sid in answer_ids}
        for s, (session, when) in enumerate(zip(raw["haystack_sessions"], raw["haystack_dates"], strict=True)):
            for t, turn in enumerate(session):
                if turn.get("has_answer"):
                    evidence.add((s, t))
                if not turn["content"].strip():
                    skipped += 1
                    continue
                meta = {"role": turn["role"], "session": raw["haystack_session_ids"][s], "turn": t}
                items.append({"text": turn["content"], "time": lme_time(when), "meta": meta})
                keys.append((s, t))
        return cls(
            raw["question_id"],
            raw["question_type"],
            raw["question"],
            asked_on(raw["question_date"]),
            items,
            keys,
            evidence,
            evidence_sessions,
            skipped,
        )


def run_instance(
    inst: Instance,
    cache: EmbeddingCache,
    workdir: Path,
    systems: dict[str, dict],
    aged: bool = False,
    postgres: Databases | None = None,
) -> dict:
    """Ingest into a fresh store, ask with every system, score; times in seconds.

    With `aged`, each memory is taken as stored at its session's date and never used since, and the lifecycle
    steps to the question's date before anything is asked: the lifecycle's worst case, as nothing was ever
    recalled. With `postgres`, the store is a fresh database there instead of a SQLite file.
    """
    where = workdir / f"{inst.qid}.db" if postgres is None else postgres.fresh(inst.qid)
    with Memory.open(where) as mem:
        mem.store.replace_embedder(cache.wrap(mem.embedder))  # load and bind the model once, then serve from the cache
        began = time.perf_counter()
        ids = mem.remember_many(inst.items, batch_size=64)
        ingest_s = time.perf_counter() - began
        if aged:
            age_unused(mem, inst.asked_at)
        turns_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for memory_id, key in zip(ids, inst.turn_keys, strict=True):
            turns_of[int(memory_id)].append(key)  # exact duplicate turns share one memory
        result = {"qid": inst.qid, "type": inst.qtype, "ingest_s": ingest_s, "memories": len(set(ids)), "systems": {}}
        for system, options in systems.items():
            options = dict(options)
            with patched(options.pop("patch", {})):
                began = time.perf_counter()
                hits = mem.recall(inst.question, DEPTH, now=inst.asked_at, **options)
                query_s = time.perf_counter() - began
            turns = [key for h in hits for key in turns_of[h.id]]
            sessions = distinct_in_order([s for s, _ in turns])
            metrics = score(turns, sessions, inst.evidence_turns, inst.evidence_sessions)
            result["systems"][system] = {**metrics, "query_s": query_s}
    for path in workdir.glob(f"{inst.qid}*"):
        path.unlink()
    if postgres is not None:
        postgres.drop(where)
    return result


def age_unused(mem: Memory, asked_at: str) -> None:
    """Every memory born at its event time and unused since; then one lifecycle step to `asked_at`."""
    with mem.conn.transaction():
        mem.conn.execute(
            "UPDATE memory_lifecycle SET born = (SELECT julianday(coalesce(m.event_time, m.created_at)) - 2440587.5 "
            "FROM memories AS m WHERE m.id = memory_id)"
        )
        mem.conn.execute("UPDATE memory_lifecycle SET last_used = born")
    mem.lifecycle_step(now=asked_at)


@contextmanager
def patched(values: dict):
    """Set constants of the keyword, vector or graph channel or of langevin for one system's recall (ablations)."""
    owners = {name: next(m for m in (keyword, vector, graph, langevin) if hasattr(m, name)) for name in values}
    saved = {name: getattr(owners[name], name) for name in values}
    for name, value in values.items():
        setattr(owners[name], name, type(saved[name])(value))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(owners[name], name, value)


# -- the report ---------------------------------------------------------------------------------------------------
def summarise(results: list[dict]) -> dict:
    """Means per system, overall and per question type (turn metrics over questions with evidence turns)."""
    summary: dict = {}
    for system in results[0]["systems"]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in results:
            groups["all"].append(r["systems"][system])
            groups[r["type"]].append(r["systems"][system])
        summary[system] = {}
        for group, rows in groups.items():
            names = sorted({name for row in rows for name in row})
            summary[system][group] = {
                "n": len(rows),
                **{n: round(statistics.fmean(row[n] for row in rows if n in row), 4) for n in names if n != "query_s"},
                "query_ms_p50": round(1000 * statistics.median(row["query_s"] for row in rows), 1),
            }
    return summary


def print_table(summary: dict) -> None:
    columns = ["session_recall_any@5", "session_recall_any@10", "session_recall_all@5", "turn_recall@10",
               "turn_ndcg@10", "turn_mrr", "query_ms_p50"]  # fmt: skip
    print(f"{'system':<8} {'group':<26} {'n':>3} " + " ".join(f"{c[-14:]:>14}" for c in columns))
    for system, groups in summary.items():
        for group, values in groups.items():
            cells = " ".join(f"{values.get(c, float('nan')):>14.3f}" for c in columns)
            print(f"{system:<8} {group:<26} {values['n']:>3} {cells}")


def _weighted_system(spec: str) -> tuple[str, dict]:
    """NAME=CHANNEL:W,… weights; an upper-case key sets a constant of a channel module (HOPS:1)."""
    name, _, pairs = spec.partition("=")
    try:
        values = {key: float(value) for key, value in (pair.split(":") for pair in pairs.split(","))}
    except ValueError as err:
        raise SystemExit(f"--weights {spec!r}: write NAME=CHANNEL:WEIGHT,…, e.g. t2=temporal:2") from err
    patch = {key: value for key, value in values.items() if key.isupper()}
    weights = {key: value for key, value in values.items() if not key.isupper()}
    return name, {"weights": weights or None, "patch": patch}


def _progress():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=Console(stderr=True), transient=True)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help=f"the dataset (default: $SLM_LME_DATA or {DEFAULT_DATA})")
    parser.add_argument("--limit", type=int, help="only the first N scored instances")
    parser.add_argument("--cache", type=Path, help="embedding cache file (default: $SLM_HOME/cache/lme-vectors.db)")
    parser.add_argument("--out", type=Path, help="write per-question results and the summary here as JSON")
    parser.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="NAME=CHANNEL:W,...",
        help="an extra system with these fusion weights, e.g. t2=temporal:2 (repeatable), for ablations",
    )
    parser.add_argument(
        "--aged",
        action="store_true",
        help="store each memory as of its session's date, never used, and step the lifecycle to the question date",
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="",
        metavar="URL",
        help="each question's store on PostgreSQL: a throwaway server (pgserver), or the server of this maintenance "
        "database URL",
    )
    args = parser.parse_args(argv)
    if args.aged and args.postgres is not None:
        parser.error("--aged rewrites lifecycle times with SQLite's julianday(): run it on SQLite")
    systems = dict(SYSTEMS) | dict(_weighted_system(spec) for spec in args.weights)
    path = data_path(args.data)
    if not path.exists():
        print(f"LongMemEval data not found at {path}: set --data or SLM_LME_DATA (see ../shared/data/README.md)")
        return None
    from slm import config

    cache = EmbeddingCache(args.cache or config.data_dir() / "cache" / "lme-vectors.db")
    instances = [Instance.parse(raw) for raw in load_instances(path, args.limit)]
    results = []
    began = time.perf_counter()
    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="slm-lme-"))
        postgres = None if args.postgres is None else stack.enter_context(Databases(args.postgres or None))
        bar = stack.enter_context(_progress())
        task = bar.add_task("LongMemEval instances", total=len(instances))
        for inst in instances:
            results.append(run_instance(inst, cache, Path(workdir), systems, args.aged, postgres))
            bar.advance(task)
    summary = summarise(results)
    print_table(summary)
    ingest = [r["ingest_s"] for r in results]
    print(f"ingest: {sum(ingest):.1f} s for {len(ingest)} stores, median {statistics.median(ingest):.2f} s a store")
    report = {
        "data": str(path),
        "backend": "sqlite" if args.postgres is None else "postgres",
        "instances": len(instances),
        "skipped_empty_turns": sum(i.skipped_turns for i in instances),
        "wall_s": round(time.perf_counter() - began, 1),
        "embedding_cache": {"hits": cache.hits, "misses": cache.misses},
        "ingest_s": {"total": round(sum(ingest), 1), "median_per_store": round(statistics.median(ingest), 3)},
        "summary": summary,
        "questions": results,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
