"""Conversational recall on both development sets, side by side: LongMemEval_S dev and REALTALK.

Protocol (the one `benchmarks/longmemeval.py` follows): a fresh store per haystack (LongMemEval instance) or
conversation (REALTALK); one memory per turn, its speaker in `meta.speaker`, its session as `session`, its time the
session's (LongMemEval) or the turn's own (REALTALK); each question asked at its own time (LongMemEval) or at the
conversation's last turn (REALTALK). Ranked memories map back to turns; turn recall@k is the share of a question's
evidence turns in the first k, NDCG@10 and MRR as usual; for LongMemEval also session recall_all@5.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.conversations \
        --out benchmarks/results/conversations.json

Stores are built once into `--stores` and reused; embeddings come from the LongMemEval harness's cache. Every
learned-ranker figure is cross-validated (`benchmarks/ranker_training.py`): the ranker that scores a question was
trained on folds that hold neither that question's conversation nor any question of it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks import longmemeval as lme
from slm import Memory

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REALTALK = ROOT.parent / "shared" / "data" / "realtalk"
DEPTH = 50
REALTALK_CATEGORIES = {1: "category 1", 2: "category 2", 3: "category 3"}  # the file gives numbers only


@dataclass
class Question:
    qid: str
    text: str
    asked_at: str
    category: str
    evidence: set[tuple[str, int]]  # the keys of its evidence items
    evidence_sessions: set[str] = field(default_factory=set)


@dataclass
class Conversation:
    """One store's worth of turns and the questions asked of it."""

    name: str
    dataset: str
    items: list[dict]
    keys: list[tuple[str, int]]  # what evidence calls each item: (session, turn), or REALTALK's dialogue id
    questions: list[Question]


# -- the data -----------------------------------------------------------------------------------------------------
def realtalk_conversations(folder: Path) -> Iterator[Conversation]:
    for path in sorted(folder.glob("Chat_*.json"), key=lambda p: int(p.name.split("_")[1])):
        raw = json.loads(path.read_text(encoding="utf-8"))
        items, keys, known, last = [], [], set(), ""
        sessions = sorted((k for k in raw if k.startswith("session_") and k.count("_") == 1), key=_number)
        for session in sessions:
            for turn in raw[session]:
                dia = turn["dia_id"]
                known.add(dia)
                if not turn.get("clean_text", "").strip():
                    continue
                when = datetime.strptime(turn["date_time"], "%d.%m.%Y, %H:%M:%S").isoformat()
                last = max(last, when)
                items.append(
                    {"text": turn["clean_text"], "time": when, "session": session, "meta": {"speaker": turn["speaker"]}}
                )
                keys.append(_dialogue_key(dia))
        questions = []
        for n, qa in enumerate(raw["qa"]):
            named = [d for d in _evidence_ids(qa["evidence"]) if d in known]
            if not named:
                continue  # the README's 32 questions whose evidence names no turn
            evidence = {_dialogue_key(d) for d in named}
            category = REALTALK_CATEGORIES.get(qa.get("category"), str(qa.get("category")))
            questions.append(Question(f"{path.stem}:{n}", qa["question"], last, category, evidence))
        yield Conversation(path.stem, "realtalk", items, keys, questions)


def lme_conversations(path: Path) -> Iterator[Conversation]:
    for raw in lme.load_instances(path):
        inst = lme.Instance.parse(raw)
        ids = raw["haystack_session_ids"]
        items = [
            {"text": item["text"], "time": item["time"], "session": item["meta"]["session"],
             "meta": {"speaker": item["meta"]["role"]}}
            for item in inst.items
        ]  # fmt: skip
        keys = [(ids[s], t) for s, t in inst.turn_keys]
        evidence = {(ids[s], t) for s, t in inst.evidence_turns}
        question = Question(
            inst.qid, inst.question, inst.asked_at, inst.qtype, evidence, {ids[s] for s in inst.evidence_sessions}
        )
        yield Conversation(inst.qid, "longmemeval", items, keys, [question])


def _evidence_ids(evidence: list[str]) -> list[str]:
    """Dialogue ids as written ("D5:3.", "D11:17; D16:1"); ranges ("D12:3-D12:5") name no turn and are skipped."""
    return [token.strip(".") for entry in evidence for token in re.split(r"[;,\s]+", entry) if token.strip(".")]


def _number(key: str) -> int:
    return int(key.split("_")[1])


def _dialogue_key(dia_id: str) -> tuple[str, int]:
    """("D3", 69) for "D3:69". Evidence names turns by these ids, whose "D3" is not always `session_3`: a day's
    talk can span several sessions (Chat_1's session_4 holds D3:30 to D3:73)."""
    day, turn = dia_id.split(":")
    return day, int(turn)


# -- stores -------------------------------------------------------------------------------------------------------
def open_store(conv: Conversation, folder: Path, cache: lme.EmbeddingCache) -> tuple[Memory, dict[int, list]]:
    """The conversation's store (built on first use) and the turns behind each memory id."""
    path = folder / conv.dataset / f"{conv.name}.db"
    ready = path.with_suffix(".ids.json")
    mem = Memory.open(path)
    mem.store.replace_embedder(cache.wrap(mem.embedder))
    if not ready.exists():
        ids = mem.remember_many(conv.items, batch_size=64)
        ready.write_text(json.dumps([int(i) for i in ids]))
    turns_of: dict[int, list] = defaultdict(list)
    for memory_id, key in zip(json.loads(ready.read_text()), conv.keys, strict=True):
        turns_of[memory_id].append(tuple(key))
    return mem, turns_of


def metrics(turns: list, question: Question) -> dict[str, float]:
    out = {
        "turn_recall@5": lme.recall_fraction(turns, question.evidence, 5),
        "turn_recall@10": lme.recall_fraction(turns, question.evidence, 10),
        "turn_ndcg@10": lme.ndcg(turns, question.evidence, 10),
        "turn_mrr": lme.reciprocal_rank(turns, question.evidence),
    }
    if question.evidence_sessions:
        sessions = lme.distinct_in_order([s for s, _ in turns])
        out["session_recall_all@5"] = lme.recall_all(sessions, question.evidence_sessions, 5)
    return out


def bootstrap(values: list[float], rounds: int = 1000, seed: int = 7) -> tuple[float, float]:
    """95 % percentile interval of the mean, resampling questions."""
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds)]


def conversations(lme_path: Path, realtalk: Path, only: str | None = None) -> list[Conversation]:
    found: list[Conversation] = []
    if only in (None, "realtalk"):
        found += list(realtalk_conversations(realtalk)) if realtalk.exists() else []
    if only in (None, "longmemeval"):
        found += list(lme_conversations(lme_path)) if lme_path.exists() else []
    return found


def data_paths(args) -> tuple[Path, Path]:
    realtalk = Path(args.realtalk or os.environ.get("SLM_REALTALK_DATA") or DEFAULT_REALTALK)
    return lme.data_path(args.lme), realtalk


SYSTEMS = {  # name -> Memory.recall options; "slm" (the learned ranker) gets each conversation's held-out ranker
    "bm25": {"channels": ("keyword",), "patch": lme.PLAIN},
    "vector": {"channels": ("vector",), "patch": lme.PLAIN},
    "slm-rrf": {"ranker": "rrf"},  # the fused channels, the default before the learned ranker
    "slm": {},
}
COLUMNS = ("turn_recall@5", "turn_recall@10", "turn_ndcg@10", "turn_mrr", "session_recall_all@5")


def evaluate(convs: list[Conversation], stores: Path, cache: lme.EmbeddingCache, rankers: dict) -> list[dict]:
    """Every question asked of every system; per question its metrics per system."""
    rows = []
    for conv in convs:
        mem, turns_of = open_store(conv, stores, cache)
        with mem:
            for q in conv.questions:
                row = {"qid": q.qid, "dataset": conv.dataset, "category": q.category, "systems": {}}
                for system, options in SYSTEMS.items():
                    options = dict(options)
                    if system == "slm":
                        options["ranker"] = rankers[conv.name]
                    with lme.patched(options.pop("patch", {})):
                        hits = mem.recall(q.text, DEPTH, now=q.asked_at, **options)
                    row["systems"][system] = metrics([t for h in hits for t in turns_of[h.id]], q)
                rows.append(row)
    return rows


def summarise(rows: list[dict]) -> dict:
    """Per data set and category: each system's means with 95 % bootstrap intervals."""
    summary: dict = {}
    for dataset in sorted({r["dataset"] for r in rows}):
        mine = [r for r in rows if r["dataset"] == dataset]
        groups = {"all": mine} | {
            c: [r for r in mine if r["category"] == c] for c in sorted({r["category"] for r in mine})
        }
        summary[dataset] = {}
        for group, members in groups.items():
            summary[dataset][group] = {"n": len(members)}
            for system in SYSTEMS:
                cells = {}
                for column in COLUMNS:
                    values = [r["systems"][system][column] for r in members if column in r["systems"][system]]
                    if values:
                        low, high = bootstrap(values)
                        cells[column] = [round(statistics.fmean(values), 3), round(low, 3), round(high, 3)]
                summary[dataset][group][system] = cells
    return summary


def print_table(summary: dict) -> None:
    for dataset, groups in summary.items():
        for group, systems in groups.items():
            print(f"{dataset} {group} (n={systems['n']})")
            for system in SYSTEMS:
                cells = "  ".join(
                    f"{c.split('_', 1)[1]} {v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]" for c, v in systems[system].items()
                )
                print(f"  {system:<8} {cells}")


def main(argv: list[str] | None = None) -> dict | None:
    from benchmarks import ranker_training as training

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lme", help="LongMemEval dev file (default: $SLM_LME_DATA or ../shared/data)")
    parser.add_argument("--realtalk", help="REALTALK folder (default: $SLM_REALTALK_DATA or ../shared/data/realtalk)")
    parser.add_argument("--stores", type=Path, default=Path("/tmp/slm-conversation-stores"))
    parser.add_argument("--limit", type=int, help="only the first N LongMemEval haystacks")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from slm import config

    lme_path, realtalk = data_paths(args)
    if not lme_path.exists() or not realtalk.exists():
        print(f"both development sets are needed ({lme_path}, {realtalk}): see ../shared/data/README.md")
        return None
    cache = lme.EmbeddingCache(config.data_dir() / "cache" / "lme-vectors.db")
    began = time.perf_counter()
    convs = conversations(lme_path, realtalk)
    if args.limit:
        convs = [c for c in convs if c.dataset == "realtalk"] + [c for c in convs if c.dataset != "realtalk"][
            : args.limit
        ]
    asked = training.collect(args.stores, convs, cache)
    rankers = training.cross_validated(asked)
    rows = evaluate(convs, args.stores, cache, rankers)
    summary = summarise(rows)
    print_table(summary)
    report = {
        "protocol": "turn-level, one store per conversation; slm's ranker cross-validated by conversation folds",
        "folds": training.FOLDS,
        "wall_s": round(time.perf_counter() - began),
        "questions": len(rows),
        "summary": summary,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
