"""How long does opening an old store take (issue 20)? Before and after, paired, on a 100k store from schema 6.

The old store is made from the 100k scale store (schema 10 or later) by undoing migrations 7 on as they were applied
(`to_schema_6`: drop what they added, set user_version 6) and VACUUM, as an slm of schema 6 would have left it:

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/upgrade.py build \\
        --source /tmp/exp/scale/scale.db --out /tmp/d/schema6/memory.db

Then each run copies it and opens the copy with one version (a subprocess with PYTHONPATH = that version's
tree), before and after interleaved, and records the wall time of `Memory.open` and its claims:

    git -C /work/main worktree add /work/wt-d-base fb489a4
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/upgrade.py run --old /tmp/d/schema6/memory.db \\
        --before /work/wt-d-base --after /work/wt-d --workdir /tmp/d/runs --rounds 3 \\
        --out benchmarks/results/upgrade-100000.json

`--find-only` times instead what the finding stage's workers do, in one process: the claims of every memory of
the store, compared by their CPU seconds and a digest of the claims.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# What migrations 0007-0015 added, taken away newest first (tests/test_contradictions.py uses this too); 0011 and
# 0012 only remade an index of `claims`, which goes with the table.
UNDO_TO_6 = (
    "DROP TABLE project_visibility",  # 0016
    "DROP INDEX memories_private",  # 0015
    "ALTER TABLE memories DROP COLUMN private_to",
    "ALTER TABLE agents DROP COLUMN member",
    "DROP INDEX memories_project_when",  # 0014
    "DROP TABLE project_keys",  # 0013
    "DROP INDEX memories_session",  # 0010
    "ALTER TABLE memories DROP COLUMN session",
    "CREATE INDEX memories_session ON memories (json_extract(meta, '$.session'), id) "
    "WHERE json_extract(meta, '$.session') IS NOT NULL",
    "DROP TABLE erasure_journal",  # 0009
    "ALTER TABLE agents DROP COLUMN edit_others",
    "DROP INDEX memories_hash",  # 0008
    "DROP TABLE backups",
    "DROP TABLE contradiction_claims",  # 0007
    "DROP TABLE contradictions",
    "DROP TABLE claims",
    "DROP INDEX memories_valid_to",
    "ALTER TABLE memories DROP COLUMN valid_to",
    "ALTER TABLE memories DROP COLUMN valid_from",
    "DELETE FROM settings WHERE key = 'claims.backfill'",
    "PRAGMA user_version = 6",
)


def to_schema_6(path: Path) -> None:
    """Take a store at the current schema back to schema 6, as an older slm left it."""
    from slm.storage.connection import open_connection

    conn = open_connection(path)
    for statement in UNDO_TO_6:
        conn.execute(statement)
    conn.close()


def build(source: Path, out: Path) -> None:
    """A compact schema-6 copy of `source` (VACUUM: an old store has no free pages where the claims were)."""
    from slm.storage.connection import open_connection

    out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    shutil.copy(source, out)
    to_schema_6(out)
    conn = open_connection(out)
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"built {out} from {source} in {time.perf_counter() - began:.0f} s", flush=True)


# -- one open, in a subprocess that imports the version under test -------------------------------------------------
DIGESTS = {  # what the upgrade wrote, without the clock's columns (found_at, a signal's time)
    "claims": "SELECT * FROM claims ORDER BY id",
    "validity": "SELECT id, valid_from, valid_to FROM memories ORDER BY id",
    "contradictions": "SELECT id, subject, attribute, project, severity, status FROM contradictions ORDER BY id",
    "contradiction_claims": "SELECT * FROM contradiction_claims ORDER BY contradiction_id, claim_id",
    "trust_signals": "SELECT principal, signal, weight, memory_id, source, reason FROM trust_signals ORDER BY id",
}


def open_once(db: Path) -> dict:
    """Open (and so upgrade) the store at `db`; the seconds it took, each stage's, and digests of what it wrote."""
    import hashlib
    import inspect

    from slm import Memory

    stages: dict[str, list[float]] = {}  # stage: [wall start, wall end, total, CPU start, CPU end]

    def progress(stage: str, done: int, total: int) -> None:
        now, cpu = time.perf_counter(), time.process_time()  # CPU of this process: not the finding's workers
        span = stages.setdefault(stage, [now, now, total, cpu, cpu])
        span[1], span[4] = now, cpu

    hears = "progress" in inspect.signature(Memory.open).parameters  # the code before issue 20 has no such hook
    began = time.perf_counter()
    mem = Memory.open(db, create=False, **({"progress": progress} if hears else {}))
    seconds = time.perf_counter() - began
    digests = {}
    for name, query in DIGESTS.items():
        digest = hashlib.sha1()
        for row in mem.conn.execute(query):
            digest.update(repr(row).encode())
        digests[name] = digest.hexdigest()[:16]
    counts = {t: mem.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("claims", "contradictions")}
    mem.close()
    spans = {
        stage: {"seconds": round(end - start, 2), "cpu_seconds": round(cpu_end - cpu_start, 2), "total": total}
        for stage, (start, end, total, cpu_start, cpu_end) in stages.items()
    }
    from report import slm_version  # benchmarks/ is on sys.path: this runs as a script

    return {"seconds": round(seconds, 2), "stages": spans, "digests": digests, "counts": counts, "slm": slm_version()}


def find_once(db: Path) -> dict:
    """Find the claims of every current memory of `db` in this process, as the backfill's workers do (the store is
    only read): the CPU seconds it took, and a digest of the claims."""
    import hashlib

    import apsw

    from slm.facts import validity

    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    rows = conn.execute(
        "SELECT content, coalesce(event_time, created_at) FROM memories WHERE superseded_by IS NULL "
        "ORDER BY coalesce(event_time, created_at), id"
    ).fetchall()
    conn.close()
    began = time.process_time()
    found = [validity.extract_claims(text, when) for text, when in rows]
    cpu = time.process_time() - began
    digest = hashlib.sha1(repr([[tuple(vars(c).values()) for c in f or ()] for f in found]).encode())
    claims = sum(len(f or ()) for f in found)
    return {"cpu_seconds": round(cpu, 2), "memories": len(rows), "claims": claims, "digest": digest.hexdigest()[:16]}


# -- driver: before and after interleaved, each on a fresh copy of the old store ---------------------------------------
def run_one(tree: Path, old: Path, workdir: Path, command: str = "open") -> dict:
    """Copy the old store and open the copy (or only find its claims) in a subprocess importing slm from `tree`."""
    db = workdir / "store" / "memory.db"
    shutil.rmtree(db.parent, ignore_errors=True)
    db.parent.mkdir(parents=True)
    shutil.copy(old, db)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, __file__, command, "--db", str(db)], cwd=tree, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command} with {tree} failed:\n{done.stderr[-3000:]}")
    shutil.rmtree(db.parent)
    return {**json.loads(done.stdout.splitlines()[-1]), "load_before": round(load, 2), "load_after": os.getloadavg()[0]}


def compare(args: argparse.Namespace) -> dict:
    """Before and after on fresh copies, order alternating between rounds; `--find-only` times the claims' finding
    alone, in one process (its CPU seconds are the figure)."""
    trees = {"before": args.before, "after": args.after}
    command, figure = ("find", "cpu_seconds") if args.find_only else ("open", "seconds")
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for name in order:
            runs[name].append(run_one(trees[name], args.old, args.workdir / name, command))
            print(f"round {round_ + 1} {name}: {runs[name][-1][figure]} s", file=sys.stderr, flush=True)
    ratios = [b[figure] / a[figure] for b, a in zip(runs["before"], runs["after"], strict=True)]
    digests = {name: [r.get("digests", r.get("digest")) for r in found] for name, found in runs.items()}
    same = all(d == digests["before"][0] for found in digests.values() for d in found)
    return {
        "old_store": str(args.old),
        "rounds": args.rounds,
        "median_seconds": {name: statistics.median(r[figure] for r in found) for name, found in runs.items()},
        "paired_speedup_median": round(statistics.median(ratios), 2),
        "paired_speedups": [round(r, 2) for r in ratios],
        "identical_results": same,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("build", help="make the schema-6 store")
    made.add_argument("--source", type=Path, required=True)
    made.add_argument("--out", type=Path, required=True)
    once = sub.add_parser("open", help="(internal) open one copy with the slm on PYTHONPATH and print JSON")
    once.add_argument("--db", type=Path, required=True)
    found = sub.add_parser("find", help="(internal) find the claims of one copy's memories in this process")
    found.add_argument("--db", type=Path, required=True)
    paired = sub.add_parser("run", help="before and after, interleaved")
    paired.add_argument("--old", type=Path, required=True)
    paired.add_argument("--before", type=Path, required=True)
    paired.add_argument("--after", type=Path, required=True)
    paired.add_argument("--workdir", type=Path, required=True)
    paired.add_argument("--rounds", type=int, default=3)
    paired.add_argument("--out", type=Path, required=True)
    paired.add_argument("--find-only", action="store_true", help="time finding the claims alone, in one process")
    args = parser.parse_args()
    if args.command == "build":
        build(args.source, args.out)
    elif args.command == "open":
        print(json.dumps(open_once(args.db)))
    elif args.command == "find":
        print(json.dumps(find_once(args.db)))
    else:
        from report import machine, slm_version  # as a script, benchmarks/ is on sys.path

        found = compare(args)
        record = {"machine": machine(), "slm": slm_version(), **found}
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(json.dumps({k: found[k] for k in ("median_seconds", "paired_speedup_median", "identical_results")}))


if __name__ == "__main__":
    main()
