"""`make demo`: store a few realistic developer memories in a scratch database and ask it some questions."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from rich.markup import escape

from slm.cli import output as out

QUESTIONS = [
    ("which database did we pick for billing, and why?", {}),
    ("how do I run the integration tests?", {}),
    ("what fixed the redis connection resets?", {}),
    ("coding style preferences", {"project": "web"}),
    ("what happened before May about flaky tests?", {"now": "2025-05-01"}),
]


def sample_memories() -> list[dict]:
    text = resources.files("slm.cli").joinpath("data/demo_memories.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(db: Path) -> None:
    from slm import Memory

    items = sample_memories()
    with Memory.open(db) as mem:
        with out.spinner("loading the embedding model (converted from all-MiniLM-L6-v2 on first run)…"):
            mem.embedder  # noqa: B018 - provision and load before the progress bar starts
        with out.progress() as bar:
            task = bar.add_task("remembering", total=len(items))
            mem.remember_many(items, progress=lambda n: bar.advance(task, n))
        out.info(f"[bold]{mem.stats()['memories']} memories[/] in {escape(str(db))}\n")
        for question, options in QUESTIONS:
            shown = "".join(f" ({k}={v})" for k, v in options.items())
            out.info(f"[bold]? {escape(question)}[/]{escape(shown)}")
            out.hits_table(mem.recall(question, k=3, **options), explain=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".demo/memory.db"))
