"""Where the prompt hook's relevance bar sits (issue 22): the cosine a memory must reach before `slm hook
user-prompt-submit` adds it to a prompt. Asked of the same stores: the development sets' own questions, whose
evidence the store holds (on topic), and coding-assistant prompts about other things (off topic). For each bar:
the share of on-topic questions that get a memory, how often that memory is one of the question's evidence
turns, and the share of off-topic prompts that get one (noise). Two ways of choosing the memory: the vector
channel's best (cheaper in a fresh process) and the default recall's first hit, the bar on its cosine.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.hook_bar --realtalk-chats 3 --lme-haystacks 12 \\
        --out benchmarks/results/hook-bar.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks import conversations as dev
from benchmarks import corpus
from benchmarks import longmemeval as lme

BARS = (0.35, 0.40, 0.45, 0.50, 0.55, 0.60)
OFF_TOPIC = [  # what a coding assistant is asked, none of it about the dev sets' lives and chats
    "fix the failing test in tests/test_parser.py",
    "rename the variable foo to bar across utils.py",
    "why does npm install fail with EACCES on the CI runner",
    "write a Dockerfile for this Flask app with gunicorn",
    "add type hints to the functions in the billing module",
    "the migration fails with a duplicate key error on users.email",
    "make the retry decorator use exponential backoff with jitter",
    "explain what this regex does: ^(?:[a-z0-9-]+\\.)+[a-z]{2,}$",
    "set up ruff and pre-commit for this repository",
    "why is the websocket connection closed after 60 seconds behind nginx",
]


def top_hit(mem, text: str, now: str | None, mode: str) -> tuple[float, int | None]:
    """The first memory the hook would add for `text` and its cosine: the vector channel's best, or the default
    (learned) recall's first hit with the cosine of its best chunk (0 when only the keyword channel found it)."""
    hits = mem.recall(text, 1, channels=["vector"], now=now) if mode == "vector" else mem.recall(text, 1, now=now)
    vector = hits[0].channels.get("vector") if hits else None
    return (vector.score if vector else 0.0), (hits[0].id if hits else None)


def measure(convs: list, stores: Path, cache, mode: str) -> dict[str, list]:
    off = OFF_TOPIC + corpus.queries(30)
    found: dict[str, list] = {"on": [], "off": []}
    for conv in convs:
        mem, turns_of = dev.open_store(conv, stores, cache)
        with mem:
            for q in conv.questions:
                cosine, memory_id = top_hit(mem, q.text, q.asked_at, mode)
                found["on"].append((conv.dataset, cosine, bool(set(turns_of.get(memory_id, ())) & q.evidence)))
            for prompt in off:
                found["off"].append((conv.dataset, top_hit(mem, prompt, None, mode)[0], False))
    return found


def table(found: dict[str, list], dataset: str) -> list[dict]:
    on = [(c, e) for d, c, e in found["on"] if d == dataset]
    off = [c for d, c, _ in found["off"] if d == dataset]
    rows = []
    for bar in BARS:
        passed = [e for c, e in on if c >= bar]
        rows.append({
            "bar": bar,
            "on_topic_given_a_memory": round(len(passed) / len(on), 3),
            "that_memory_is_evidence": round(float(np.mean(passed)), 3) if passed else None,
            "off_topic_given_a_memory": round(sum(c >= bar for c in off) / len(off), 3),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--realtalk-chats", type=int, default=3)
    parser.add_argument("--lme-haystacks", type=int, default=12)
    parser.add_argument("--stores", type=Path, default=Path("/tmp/slm-conversation-stores"))
    parser.add_argument("--lme", help="LongMemEval dev file (default: $SLM_LME_DATA or ../shared/data)")
    parser.add_argument("--realtalk", help="REALTALK folder (default: ../shared/data/realtalk)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from slm import config

    lme_path, realtalk = dev.data_paths(args)
    if not lme_path.exists() or not realtalk.exists():
        print(f"both development sets are needed ({lme_path}, {realtalk}): see ../shared/data/README.md")
        return
    convs = list(dev.realtalk_conversations(realtalk))[: args.realtalk_chats]
    convs += list(dev.lme_conversations(lme_path))[: args.lme_haystacks]
    cache = lme.EmbeddingCache(config.data_dir() / "cache" / "lme-vectors.db")
    report: dict = {}
    for mode in ("vector", "learned"):
        found = measure(convs, args.stores, cache, mode)
        report[mode] = {dataset: table(found, dataset) for dataset in ("realtalk", "longmemeval")}
    report["questions"] = {d: sum(1 for x in found["on"] if x[0] == d) for d in ("realtalk", "longmemeval")}
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
