"""Train the learned ranker (`slm/recall/ranker.json`) on both development sets, and cross-validate it.

Every question of LongMemEval dev and REALTALK is recalled through `Memory.recall_candidates` (the default
recall's candidates and features, exactly as served); the ranker is a linear model over the standardised
features trained with a listwise loss (ListNet: softmax cross-entropy against the evidence), each data set
weighing the same however many questions it has. Folds are whole conversations (a REALTALK chat, a
LongMemEval haystack), dealt round-robin within each set, so no question is scored by a ranker that saw its
conversation.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.ranker_training --out slm/recall/ranker.json \
        --ablate --report benchmarks/results/ranker-training.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks import conversations as cv
from benchmarks import longmemeval as lme
from slm.recall.features import FEATURES
from slm.recall.ranker import Ranker

FOLDS = 5
RECALL_CODE = Path(__file__).resolve().parents[1] / "slm" / "recall"
L2 = 1e-3
STEPS = 300
LEARNING_RATE = 0.05


@dataclass
class Asked:
    """One question's candidates as the default recall sees them."""

    dataset: str
    conversation: str
    question: cv.Question
    ids: list[int]
    features: np.ndarray
    relevant: np.ndarray  # 1 for a candidate that holds an evidence turn
    turns: dict[int, list]


def collect(stores: Path, convs: list[cv.Conversation], cache: lme.EmbeddingCache) -> list[Asked]:
    """Every question's candidates; each conversation's are kept beside its store, named by the code that made
    them, and reused while that code is the same."""
    asked = []
    for conv in convs:
        (stores / conv.dataset).mkdir(parents=True, exist_ok=True)
        saved = stores / conv.dataset / f"{conv.name}.{_fingerprint()[:12]}.candidates.pkl"
        found = _saved(saved)
        if found is not None:
            asked += found
            continue
        mem, turns_of = cv.open_store(conv, stores, cache)
        mine = []
        with mem:
            for q in conv.questions:
                candidates, features = mem.recall_candidates(q.text, now=q.asked_at)
                ids = [c.id for c in candidates]
                relevant = np.array([float(any(t in q.evidence for t in turns_of[i])) for i in ids])
                mine.append(Asked(conv.dataset, conv.name, q, ids, features, relevant, {i: turns_of[i] for i in ids}))
        saved.write_bytes(pickle.dumps({"made_by": _fingerprint(), "asked": [vars(a) for a in mine]}))
        asked += mine
    return asked


def _fingerprint() -> str:
    """The code that makes candidates and their features: collected candidates are reused only while it holds."""
    made_by = hashlib.sha256()
    for name in ("candidates.py", "features.py", "query.py", "fts_query.py"):
        made_by.update((RECALL_CODE / name).read_bytes())
    return made_by.hexdigest()


def _saved(path: Path) -> list[Asked] | None:
    """A conversation's candidates collected before by the same code, else None."""
    try:
        found = pickle.loads(path.read_bytes())
        return [Asked(**fields) for fields in found["asked"]] if found["made_by"] == _fingerprint() else None
    except (OSError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, EOFError):
        return None


def fit(asked: list[Asked], columns: list[int] | None = None) -> Ranker:
    """ListNet with L2 and Adam; features left out by `columns` get weight 0."""
    columns = list(range(len(FEATURES))) if columns is None else columns
    everything = np.vstack([a.features for a in asked])
    mean, scale = everything.mean(axis=0), everything.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    questions = [a for a in asked if a.relevant.any()]
    per_set = {d: sum(a.dataset == d for a in questions) for d in {a.dataset for a in questions}}
    share = {d: 1 / (len(per_set) * n) for d, n in per_set.items()}  # each data set weighs the same
    groups = [
        (((a.features - mean) / scale)[:, columns], a.relevant / a.relevant.sum(), share[a.dataset]) for a in questions
    ]
    w = np.zeros(len(columns))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for step in range(1, STEPS + 1):
        grad = L2 * w
        for x, target, weight in groups:
            s = x @ w
            p = np.exp(s - s.max())
            grad += weight * (x.T @ (p / p.sum() - target))
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad**2
        w -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    weights = np.zeros(len(FEATURES))
    weights[columns] = w
    return Ranker(weights, scale)  # centring only helped the optimiser: a softmax over one list ignores shifts


def fold_of(asked: list[Asked]) -> dict[str, int]:
    """Conversation -> fold, round-robin within each data set."""
    folds = {}
    for dataset in sorted({a.dataset for a in asked}):
        for n, name in enumerate(sorted({a.conversation for a in asked if a.dataset == dataset})):
            folds[name] = n % FOLDS
    return folds


def cross_validated(asked: list[Asked], columns: list[int] | None = None) -> dict[str, Ranker]:
    """Conversation -> the ranker trained on the folds without it."""
    folds = fold_of(asked)
    rankers = {f: fit([a for a in asked if folds[a.conversation] != f], columns) for f in range(FOLDS)}
    return {name: rankers[f] for name, f in folds.items()}


def pool_metrics(asked: list[Asked], rankers: dict[str, Ranker]) -> dict:
    """Means per data set of the metrics of each question's candidates in the order of its held-out ranker."""
    rows = {}
    for a in asked:
        scores = rankers[a.conversation].scores(a.features)
        order = np.lexsort((np.array(a.ids), -scores))
        turns = [t for n in order for t in a.turns[a.ids[n]]]
        rows.setdefault(a.dataset, []).append(cv.metrics(turns, a.question))
    return {d: {k: round(float(np.mean([r[k] for r in rs if k in r])), 4) for k in rs[0]} for d, rs in rows.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lme")
    parser.add_argument("--realtalk")
    parser.add_argument("--stores", type=Path, default=Path("/tmp/slm-conversation-stores"))
    parser.add_argument("--out", type=Path, help="write the ranker trained on every question here")
    parser.add_argument("--limit", type=int, help="only the first N LongMemEval haystacks")
    parser.add_argument("--ablate", action="store_true", help="cross-validate without each feature in turn")
    parser.add_argument("--report", type=Path, help="write the cross-validated figures here as JSON")
    args = parser.parse_args(argv)
    from slm import config

    began = time.perf_counter()
    cache = lme.EmbeddingCache(config.data_dir() / "cache" / "lme-vectors.db")
    convs = cv.conversations(*cv.data_paths(args))
    if {c.dataset for c in convs} != {"longmemeval", "realtalk"}:
        raise SystemExit("both development sets are needed: see ../shared/data/README.md")
    if args.limit:
        convs = [c for c in convs if c.dataset == "realtalk"] + [c for c in convs if c.dataset != "realtalk"][
            : args.limit
        ]
    asked = collect(args.stores, convs, cache)
    full = pool_metrics(asked, cross_validated(asked))
    report = {"cross_validated": full, "folds": FOLDS, "questions": len(asked)}
    print("cross-validated:", json.dumps(full))
    if args.ablate:
        report["without"] = {}
        for n, name in enumerate(FEATURES):
            kept = [c for c in range(len(FEATURES)) if c != n]
            less = pool_metrics(asked, cross_validated(asked, kept))
            report["without"][name] = less
            print(f"without {name:16}", {d: round(less[d]["turn_ndcg@10"] - full[d]["turn_ndcg@10"], 4) for d in less})
    if args.out:
        ranker = fit(asked)
        command = "python -m benchmarks.ranker_training --out slm/recall/ranker.json"
        about = {"trained_on": sorted({a.dataset for a in asked}), "questions": len(asked), "command": command}
        args.out.write_text(json.dumps(ranker.to_dict(**about), indent=1) + "\n")
        print(f"wrote {args.out}")
    print(f"{time.perf_counter() - began:.0f} s")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
