"""What capture keeps of real conversations (issue 22): LongMemEval dev haystacks replayed as Claude Code
transcripts, one per session, each captured as `slm hook session-end` would (the rules and one summary), into a
fresh store per haystack. Reported: memories captured per session (against one per turn when every turn is
stored), and whether a recall of the question on the captured store still finds its evidence session (top 10),
against the same recall on a store of every turn.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.capture --haystacks 4 \\
        --out benchmarks/results/capture.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks import conversations as dev
from benchmarks import longmemeval as lme
from slm import Memory

K = 10


def replay(transcript: Path, turns: list[dict], session: str) -> None:
    """One session as Claude Code writes it: a user or assistant record per turn."""
    with transcript.open("w", encoding="utf-8") as out:
        for n, turn in enumerate(turns):
            role = turn["meta"]["speaker"]
            content = turn["text"] if role == "user" else [{"type": "text", "text": turn["text"]}]
            record = {"type": role, "message": {"role": role, "content": content}, "uuid": f"{session}-{n}",
                      "sessionId": session, "timestamp": turn["time"], "isSidechain": False}  # fmt: skip
            out.write(json.dumps(record) + "\n")


def one_haystack(conv, workdir: Path, cache) -> dict:
    by_session: dict[str, list[dict]] = {}
    for item in conv.items:
        by_session.setdefault(item["session"], []).append(item)
    question = conv.questions[0]
    with Memory.open(workdir / f"{conv.name}-captured.db") as mem:
        mem.store.replace_embedder(cache.wrap(mem.embedder))
        began = time.perf_counter()
        for session, turns in by_session.items():
            transcript = workdir / f"{session}.jsonl"
            replay(transcript, turns, session)
            mem.capture_transcript(transcript, session=session, project="default", agent="claude-code", final=True)
        capture_s = time.perf_counter() - began
        captured = mem.list(limit=10_000)
        hits = mem.recall(question.text, K, now=question.asked_at)
        found = bool({row.session for row in mem.get_many([h.id for h in hits])} & question.evidence_sessions)
        kinds: dict[str, int] = {}
        for row in captured:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
    every, turns_of = dev.open_store(conv, workdir / "every", cache)
    with every:
        hits = every.recall(question.text, K, now=question.asked_at)
        found_every = bool({s for h in hits for s, _ in turns_of[h.id]} & question.evidence_sessions)
    return {"qid": conv.name, "sessions": len(by_session), "turns": len(conv.items), "captured": len(captured),
            "kinds": kinds, "evidence_session_found": found, "evidence_session_found_every_turn": found_every,
            "capture_s": round(capture_s, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--haystacks", type=int, default=4)
    parser.add_argument("--lme", help="LongMemEval dev file (default: $SLM_LME_DATA or ../shared/data)")
    parser.add_argument("--realtalk", help="unused; the REALTALK path argument of the shared loader")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from slm import config

    lme_path, _ = dev.data_paths(args)
    if not lme_path.exists():
        print(f"the LongMemEval dev set is needed ({lme_path}): see ../shared/data/README.md")
        return
    cache = lme.EmbeddingCache(config.data_dir() / "cache" / "lme-vectors.db")
    convs = list(dev.lme_conversations(lme_path))[: args.haystacks]
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "every" / "longmemeval").mkdir(parents=True)
        rows = [one_haystack(conv, Path(folder), cache) for conv in convs]
    report = {
        "haystacks": len(rows),
        "turns": sum(r["turns"] for r in rows),
        "sessions": sum(r["sessions"] for r in rows),
        "captured": sum(r["captured"] for r in rows),
        "evidence_session_in_top_10": sum(r["evidence_session_found"] for r in rows),
        "evidence_session_in_top_10_every_turn": sum(r["evidence_session_found_every_turn"] for r in rows),
        "rows": rows,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
