"""How `slm tui` feels on a large store (issue 21): first paint, a search as you type, scrolling and filtering,
driven headless by Textual's Pilot in one process, medians over several runs.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.tui --store /tmp/q/main/bench.db --runs 5 \\
        --out benchmarks/results/tui-100000.json

First paint: from the app's start to the results table holding the newest memories (the store already open, as
`slm tui` has it). Search: from the last keystroke to the results shown, debounce set to 0, after one recall has
loaded the model and the vector file (`first_recall_ms`, which a session's first search pays once). Scroll: 40
page-downs through the table. Filter: choosing the largest project. Then, browsing the whole store: the next page
read when the cursor reaches the end of the first, the "low trust" band, the least trusted first, and a memory
opened with its whole detail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from benchmarks import corpus
from slm.tui.app import PAGE


async def one_run(mem, question: str) -> dict:
    from textual.widgets import DataTable

    from slm.tui.app import MemoryApp

    app = MemoryApp(mem, debounce=0.0)
    began = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#results", DataTable)
        while not table.row_count:
            await pilot.pause(0.001)
        first_paint = time.perf_counter() - began
        await app.workers.wait_for_complete()
        search = app.query_one("#search")
        search.focus()
        await pilot.press(*question[:-1])
        await app.workers.wait_for_complete()
        began = time.perf_counter()
        await pilot.press(question[-1])
        while f"“{question.strip()}”" not in app.sub_title:  # the table now holds this question's results
            await pilot.pause(0.001)
        searched = time.perf_counter() - began
        table.focus()
        began = time.perf_counter()
        for _ in range(40):
            await pilot.press("pagedown")
        await pilot.pause()
        scrolled = time.perf_counter() - began
        counts = mem.stats()["projects"]  # the project the filter lists first
        largest = max(counts, key=counts.get) if counts else None
        filtered = await timed_choice(pilot, "project", largest)
        await timed_choice(pilot, "project", None)
        app.query_one("#search").value = ""  # back to browsing the whole store
        await app.workers.wait_for_complete()
        await pilot.pause()
        table.focus()
        began = time.perf_counter()
        await pilot.press("ctrl+end")  # the cursor at the end of the first page: the next one is read
        while table.row_count <= PAGE:
            await pilot.pause(0.001)
        next_page = time.perf_counter() - began
        band = await timed_choice(pilot, "trust", "low")
        await timed_choice(pilot, "trust", None)
        least_trusted = await timed_choice(pilot, "sort", "least trusted")
        opened = await timed_open(pilot, table)
    return {"first_paint_ms": first_paint * 1e3, "search_ms": searched * 1e3, "scroll_40_pages_ms": scrolled * 1e3,
            "filter_ms": filtered * 1e3, "next_page_ms": next_page * 1e3, "trust_band_ms": band * 1e3,
            "least_trusted_first_ms": least_trusted * 1e3, "open_memory_ms": opened * 1e3}  # fmt: skip


async def timed_choice(pilot, name: str, value: str | None) -> float:
    """Seconds from choosing `value` in a filter (None: clearing it) to the list shown again."""
    from textual.widgets import Select

    select = pilot.app.query_one(f"#{name}", Select)
    began = time.perf_counter()
    if value is None:
        select.clear()
    else:
        select.value = value
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    return time.perf_counter() - began


async def timed_open(pilot, table) -> float:
    """Seconds from `enter` on a memory to its full detail (trust, history, claims, graph) shown."""
    began = time.perf_counter()
    await pilot.press("ctrl+home", "enter")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from slm import Memory

    questions = corpus.queries(args.runs + 1)[1:]
    with Memory.open(args.store, create=False, protocol="cli") as mem:
        began = time.perf_counter()
        mem.recall(questions[0])  # what a session's first search pays once: the model and the vector file
        first_recall_ms = (time.perf_counter() - began) * 1e3
        runs = [asyncio.run(one_run(mem, question)) for question in questions]
        memories = mem.count()
    report = {
        "store": str(args.store),
        "memories": memories,
        "runs": runs,
        "median": {key: round(statistics.median(r[key] for r in runs), 1) for key in runs[0]},
        "first_recall_ms": round(first_recall_ms, 1),
        "load_average_1min": os.getloadavg()[0],
    }
    print(json.dumps(report["median"]))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
