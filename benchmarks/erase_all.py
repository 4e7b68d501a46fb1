"""How long `slm erase --all` keeps writers out (issue 20), before and after, paired on copies of one store.

Each round copies the store twice and runs `slm erase --all --yes --json` on one copy with each code (PYTHONPATH =
that tree), order alternating between rounds, while another process takes the write lock every 10 ms: its longest
wait is how long the erasure held the lock (benchmarks/export.py: `erase_pair`, `probed`).

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.erase_all --store /tmp/exp/scale/scale.db \\
        --before /work/wt-base --work /tmp/u/erase-all --rounds 2 --out benchmarks/results/erase-all-100000.json

`--scope "--query recipe"` runs that erasure instead of `--all` (many memories chosen by a condition).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
from pathlib import Path

from benchmarks.export import erase_pair, fresh, load
from benchmarks.report import machine, slm_version

FIGURES = ("wall_s", "cpu_s", "writer_max_wait_s", "writer_waits_over_50ms_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True, help="only read: each run erases a copy")
    parser.add_argument("--before", type=Path, required=True, help="the slm tree to compare with")
    parser.add_argument("--work", type=Path, required=True, help="emptied first")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scope", default="--all", help="what to erase, as `slm erase` arguments")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    work = fresh(args.work)
    codes = {"base": args.before.resolve(), "new": Path(__file__).resolve().parent.parent}
    runs = []
    for round_ in range(args.rounds):
        order = ["base", "new"] if round_ % 2 == 0 else ["new", "base"]
        loads = os.getloadavg()[0]
        found = erase_pair(args.store, work, shlex.split(args.scope), codes, order, None)
        runs.append({**found, "load_before": round(loads, 2)})
        print(f"round {round_ + 1}: " + ", ".join(f"{c} {runs[-1][c]}" for c in ("base", "new")), flush=True)
    summary = {f"{c}_median_{k}": statistics.median(r[c][k] for r in runs) for c in ("base", "new") for k in FIGURES}
    for key, figure in (("wall", "wall_s"), ("wait", "writer_max_wait_s")):
        ratios = [r["base"][figure] / r["new"][figure] for r in runs]
        summary[f"paired_ratio_{key}_base_over_new"] = statistics.median(ratios)
    record = {"machine": machine(), "slm": slm_version(), "store": str(args.store), "scope": args.scope}
    record |= {"load_after": load(), "runs": runs}
    args.out.write_text(json.dumps(record | {"summary": summary}, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
