"""What moving a large store in and out costs: `slm export`, `slm import` and `slm erase`, each run as its own
process, timed (wall, CPU) with its peak resident memory (maximum RSS, as GNU time reports it).

1. Export of the whole store as JSONL, JSONL with `--include-embeddings`, and Markdown; the output's size.
   To show that an export's memory does not grow with the store, the same exports are run on a small store
   (`--small` memories: the oldest current memories with their earlier versions, exported with `--until`,
   imported into an empty store and clustered with `slm graph build`, so it holds the same kind of records).
2. Import of the JSONL-with-embeddings export into an empty store (the file's vectors are reused: no embedding);
   `--import-limit N` imports only the oldest ~N memories (a subset exported with `--until`).
3. Erase of one memory (`--yes`), then `erase --verify RECEIPT`, on a copy of the store; then the same erasure
   done step by step in this process, with the functions `slm.portability.erasure.erase` calls, in its order, each
   timed: select, count, delete (FTS5 deleting in place), (relabel the clusters they were in), checkpoint, the
   look for stale copies in free space (a VACUUM would follow only if one were found).
4. `--pair-base TREE`: only erasures, each run by the base commit's code (`PYTHONPATH=TREE`) and by this code on
   fresh copies of the store, in alternating order, while another process takes the write lock every 10 ms (its
   longest wait is how long the erasure kept writers out): random single memories, `--query` erasures of texts a
   page rebalance left copies of in free space (then checked gone from every file), and with `--erase-all`, all.

The store given is only read (its copies are erased); work files go under `--work`, which is emptied first.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.export --store /tmp/slm-export-bench/scale.db \\
        --work /tmp/slm-export-bench/run --out benchmarks/results/export-100000.json \\
        --small-out benchmarks/results/export-10000.json
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.export --store /tmp/slm-export-bench/scale.db \\
        --work /tmp/slm-export-bench/pairs --pair-base /work/wt-base --erase-all \\
        --out benchmarks/results/writes-erase-100000.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from benchmarks.report import machine, slm_version
from slm import Memory
from slm.portability import erasure
from slm.storage import erasure as sql
from slm.storage import erasure_sqlite
from slm.storage.connection import open_connection

SLM = str(Path(sys.executable).with_name("slm"))
TIME = "/usr/bin/time"  # GNU time
EXPORTS = {  # variant -> extra `slm export` arguments; markdown writes a folder
    "nothing": ["--project", "no-such-project"],  # the floor: the process with the store open, no records
    "jsonl": [],
    "jsonl+embeddings": ["--include-embeddings"],
    "markdown": ["--format", "markdown"],
}
MB = 1024 * 1024


# -- running one command -----------------------------------------------------------------------------------------
def run(args: list[str], log: Path, allowed: tuple[int, ...] = (0,), code: Path | None = None) -> dict:
    """Run `slm ARGS` as a child process (its output in `log`, its errors beside it); its wall time, CPU time and
    peak RSS. An exit status not `allowed` is an error. `code`: the slm source tree to run (PYTHONPATH), for
    the paired runs of an older commit against this one.

    GNU time starts slm and reports its peak: a process this one spawned directly would report as its peak this
    process's own, should that be larger (Linux counts the memory of the process that exec replaced).
    """
    usage = log.with_suffix(".time")
    with log.open("w") as out, log.with_suffix(".err").open("w") as err:
        began = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(code)} if code else None
        done = subprocess.run([TIME, "-f", "%U %S %M", "-o", str(usage), SLM, *args], stdout=out, stderr=err, env=env)
        wall = time.perf_counter() - began
    if done.returncode not in allowed:
        problem = log.with_suffix(".err").read_text()[-2000:]
        raise RuntimeError(f"slm {shlex.join(args)} failed ({done.returncode}): {problem}")
    user, system, peak_kb = usage.read_text().split("\n")[-2].split()  # before it, a line on a failure's status
    return {
        **({"exit": done.returncode} if allowed != (0,) else {}),
        "wall_s": round(wall, 3),
        "cpu_s": round(float(user) + float(system), 3),
        "peak_rss_mb": round(int(peak_kb) * 1024 / MB, 1),
    }


def printed(log: Path) -> dict:
    """What a `--json` run printed."""
    return json.loads(log.read_text())


def medians(runs: list[dict]) -> dict:
    return {f"median_{key}": round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def copy_store(store: Path, to: Path) -> Path:
    """A copy of the store's file (its WAL is empty: the store was closed) in a fresh folder."""
    target = fresh(to) / store.name
    shutil.copyfile(store, target)
    return target


# -- the store ------------------------------------------------------------------------------------------------------
def counts(store: Path) -> dict:
    conn = open_connection(store, readonly=True)
    try:
        one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        return {
            "memories": one("SELECT count(*) FROM memories"),
            "current": one("SELECT count(*) FROM memories WHERE superseded_by IS NULL"),
            "chunks": one("SELECT count(*) FROM chunks"),
            "clustered": one("SELECT count(*) FROM memory_clusters"),
            "file_mb": round(store.stat().st_size / MB, 1),
        }
    finally:
        conn.close()


def time_of_nth(store: Path, n: int) -> str:
    """The time (event time, else stored time) of the n-th oldest current memory: `--until` for ~n of them."""
    conn = open_connection(store, readonly=True)
    try:
        return conn.execute(
            "SELECT coalesce(event_time, created_at) AS t FROM memories WHERE superseded_by IS NULL "
            "ORDER BY t LIMIT 1 OFFSET ?",
            (n - 1,),
        ).fetchone()[0]
    finally:
        conn.close()


def end_line(path: Path) -> dict:
    """The counts on a JSONL export's end line."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        return json.loads(handle.read().splitlines()[-1])


# -- 1. export ------------------------------------------------------------------------------------------------------
def measure_exports(store: Path, work: Path, reps: int) -> dict:
    results = {}
    for variant, extra in EXPORTS.items():
        target = work / ("export-markdown" if variant == "markdown" else f"export-{variant}.jsonl")
        runs = []
        for rep in range(reps):
            if variant == "markdown":
                shutil.rmtree(target, ignore_errors=True)
            runs.append(run(["export", "--db", str(store), "-o", str(target), *extra], work / f"export-{rep}.log"))
        results[variant] = found = {
            "args": extra,
            "runs": runs,
            **medians(runs),
            "output_bytes": size_of(target),
            "output_mb": round(size_of(target) / MB, 1),
            **({"files": len(list(target.iterdir()))} if variant == "markdown" else {"end_line": end_line(target)}),
        }
        wall, peak = found["median_wall_s"], found["median_peak_rss_mb"]
        print(f"export {variant:17s} {wall:7.1f} s  peak {peak:6.0f} MB  {found['output_mb']:7.1f} MB out")
    return results


def subset_export(store: Path, work: Path, limit: int) -> tuple[Path, str]:
    """A JSONL-with-embeddings export of the ~`limit` oldest current memories (with their earlier versions)."""
    until = time_of_nth(store, limit)
    target = work / f"export-subset-{limit}.jsonl"
    run(["export", "--db", str(store), "-o", str(target), "--include-embeddings", "--until", until], work / "sub.log")
    return target, until


# -- 2. import ------------------------------------------------------------------------------------------------------
def measure_import(source: Path, work: Path, reps: int) -> tuple[dict, Path]:
    """Import `source` into an empty store `reps` times; returns the figures and the last store made."""
    runs, stored = [], None
    for rep in range(reps):
        stored = fresh(work / "imported") / "memory.db"
        runs.append(run(["import", str(source), "--db", str(stored), "--json"], work / f"import-{rep}.log"))
        report = printed(work / f"import-{rep}.log")
        runs[-1] |= {"added": report["added"], "reembedded": report["reembedded"], "problems": len(report["problems"])}
        print(f"import {report['added']:,} memories: {runs[-1]['wall_s']:.1f} s, peak {runs[-1]['peak_rss_mb']:.0f} MB")
    added = runs[-1]["added"]
    figures = {
        "source": str(source),
        "source_mb": round(source.stat().st_size / MB, 1),
        "records": end_line(source).get("memories"),
        "runs": runs,
        **medians([{k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")} for r in runs]),
        "ms_per_memory": round(statistics.median(r["wall_s"] for r in runs) * 1000 / max(added, 1), 2),
        "store_after": counts(stored),
    }
    return figures, stored


# -- 3. erase -------------------------------------------------------------------------------------------------------
def pick_memories(store: Path, n: int, seed: int) -> list[int]:
    """`n` current memories with no earlier versions, chosen at random: each erasure removes one memory."""
    conn = open_connection(store, readonly=True)
    try:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM memories m WHERE superseded_by IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM memories p WHERE p.superseded_by = m.id) ORDER BY id"
            )
        ]
    finally:
        conn.close()
    return random.Random(seed).sample(ids, n)


def measure_erase_cli(store: Path, work: Path, ids: list[int]) -> dict:
    """`slm erase ID --yes` for each id, one after another on the same copy, then `--verify` of each receipt."""
    erased, verified = [], []
    for memory_id in ids:
        log = work / f"erase-{memory_id}.log"
        took = run(["erase", str(memory_id), "--yes", "--json", "--db", str(store)], log)
        erased.append({"memory_id": memory_id, **took})
        receipt = printed(log)
        erased[-1] |= {"receipt": receipt["receipt"], "counts": receipt["counts"]}
        print(f"erase {memory_id}: {erased[-1]['wall_s']:.1f} s, peak {erased[-1]['peak_rss_mb']:.0f} MB")
    for one in erased:  # exit 1: verify found something of the erasure left
        log = work / f"verify-{one['memory_id']}.log"
        took = run(["erase", "--verify", one["receipt"], "--json", "--db", str(store)], log, allowed=(0, 1))
        result = printed(log)
        verified.append({"memory_id": one["memory_id"], **took, "ok": result["ok"],
                         "left": {k: v for k, v in result["left"].items() if v}})  # fmt: skip
        print(f"verify {one['memory_id']}: {took['wall_s']:.1f} s, ok={result['ok']} left={verified[-1]['left']}")
    return {
        "erase": {"runs": erased, **medians([_timing(r) for r in erased])},
        "verify": {"runs": verified, **medians([_timing(r) for r in verified])},
    }


def _timing(one: dict) -> dict:
    return {k: one[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}


class Laps:
    """Seconds between successive `lap(name)` calls."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self.last, 3)
        self.last = now


def erase_in_steps(store: Path, memory_id: int) -> dict:
    """The steps of `slm.portability.erasure.erase` (and its `_scrub`) in their order, each timed, with whether
    each holds the write lock; the receipt's signing is left out (milliseconds)."""
    laps = Laps()
    with Memory.open(store, create=False) as mem:
        laps.lap("open")
        ids = erasure.select(mem.transfers, erasure.Scope.of(ids=[memory_id]))
        hashes = sql.hashes(mem.conn, ids)
        sql.held_elsewhere(mem.conn, ids, hashes)
        sql.count_rows(mem.conn, ids)
        texts = sql.erased_texts(mem.conn, ids)
        clustered = {c for pair in mem.graph.membership_of(ids).values() for c in pair if c is not None}
        laps.lap("select and count (locked)")
        with mem.conn.write_transaction():  # as one chunk is deleted: FTS5 deletes in place, no merge after
            erasure_sqlite.fts_delete_in_place(mem.conn, True)
            mem.transfers.purge(ids, agent="user", receipt=uuid.uuid4().hex)
            erasure_sqlite.fts_delete_in_place(mem.conn, False)
        behavior = mem.existing_behavior()
        if behavior is not None:
            with behavior.conn.write_transaction():
                sql.purge_behavior(behavior.conn, ids)
        laps.lap("delete (locked)")
        if clustered:
            mem.transfers.relabel_clusters(clustered)
            laps.lap("relabel clusters (locked)")
        wal_mb = _wal_mb(store)
        found = 0
        for conn, path in ((mem.conn, store), *([(behavior.conn, behavior.path)] if behavior is not None else [])):
            erasure_sqlite.checkpoint(conn)
            laps.lap("checkpoint (locked)")
            kind = "memory" if path == store else "behavior"
            found += erasure_sqlite.stale_copies(
                conn, path, texts, erasure_sqlite.TEXT_COLUMNS[kind]
            )  # 1: a VACUUM would follow
            laps.lap("look for stale copies (unlocked)")
    laps.lap("close")
    total = round(sum(laps.laps.values()), 3)
    print(f"erase {memory_id} in steps: {total:.1f} s {laps.laps}, stale pieces {found}")
    return {"memory_id": memory_id, "clusters": sorted(clustered), "wal_mb_before_checkpoint": wal_mb,
            "stale_pieces": found, "seconds": laps.laps, "total_s": total}  # fmt: skip


def _wal_mb(store: Path) -> float:
    wal = store.with_name(store.name + "-wal")
    return round(wal.stat().st_size / MB, 1) if wal.exists() else 0.0


def measure_erase(store: Path, work: Path, reps: int, seed: int) -> dict:
    ids = pick_memories(store, 2 * reps, seed)
    copy = copy_store(store, work / "erase")
    cli = measure_erase_cli(copy, work, ids[:reps])
    steps = [erase_in_steps(copy, memory_id) for memory_id in ids[reps:]]
    names = list(dict.fromkeys(name for one in steps for name in one["seconds"]))
    return {
        "store": str(copy),
        **cli,
        "steps": {
            "runs": steps,
            "median_s": {n: round(statistics.median(s["seconds"].get(n, 0.0) for s in steps), 3) for n in names},
            "median_total_s": round(statistics.median(s["total_s"] for s in steps), 3),
        },
        "store_after": counts(copy),
    }


# -- 4. erase, paired: the base commit and this code on the same copies, with a writer waiting on the lock ---------
PROBE = """
import sys, time, apsw
conn = apsw.Connection(sys.argv[1])
conn.set_busy_timeout(600_000)
stop, waits = sys.argv[2], []
import os
while not os.path.exists(stop):
    began = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("COMMIT")
    waits.append(time.perf_counter() - began)
    time.sleep(0.01)
print(max(waits), sum(w for w in waits if w > 0.05), len(waits))
"""


def probed(store: Path, args: list[str], log: Path, code: Path) -> dict:
    """Run `slm ARGS` while another process takes the write lock (BEGIN IMMEDIATE; COMMIT) every 10 ms: the
    longest it waited is how long the command kept writers out."""
    stop = log.with_suffix(".stop")
    stop.unlink(missing_ok=True)
    probe = subprocess.Popen([sys.executable, "-c", PROBE, str(store), str(stop)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    try:
        took = run(args, log, code=code)
    finally:
        stop.touch()
    longest, blocked, writes = probe.communicate(timeout=900)[0].split()
    return {**took, "writer_max_wait_s": round(float(longest), 3), "writer_waits_over_50ms_s": round(float(blocked), 3),
            "probe_writes": int(writes)}  # fmt: skip


def traces_left(store: Path, text: str) -> list[str]:
    """The files beside the store whose bytes still hold a 24-byte piece of `text` that no memory left holds."""
    pieces = {text.encode()[i : i + 24] for i in range(0, max(1, len(text.encode()) - 23), 12)}
    conn = open_connection(store, readonly=True)
    try:
        held = {p for p in pieces if conn.execute(
            "SELECT 1 FROM memories WHERE instr(CAST(content AS BLOB), ?) > 0 LIMIT 1", (p,)).fetchone()}  # fmt: skip
    finally:
        conn.close()
    left = []
    for file in sorted(f for f in store.parent.iterdir() if f.is_file()):
        data = file.read_bytes()  # once per file, not once per piece
        left += [file.name] if any(p in data for p in pieces - held) else []
    return left


def stale_texts(store: Path, n: int) -> list[tuple[str, str]]:
    """(query, content) of `n` memories a copy of which a page rebalance left in free space: the query is the
    40 bytes found there, the content the whole text of a memory that has them."""
    conn = open_connection(store, readonly=True)
    found: dict[str, tuple[str, str]] = {}
    try:
        for run_ in re.findall(rb"[ -~]{40,}", erasure_sqlite.free_space(store)):
            query = run_[:40].decode()
            row = conn.execute("SELECT content FROM memories WHERE instr(content, ?) > 0 LIMIT 1", (query,)).fetchone()
            if row and row[0] not in found and len(found) < n:
                found[row[0]] = (query, row[0])
    finally:
        conn.close()
    return list(found.values())


def erase_pair(store: Path, work: Path, args: list[str], codes: dict[str, Path], order: list[str], text: str | None):
    """One erasure (`slm erase ARGS --yes --json`) by each code, on a fresh copy of the store each."""
    found = {}
    for name in order:
        copy = copy_store(store, work / f"pair-{name}")
        log = work / f"pair-{name}.log"
        found[name] = probed(copy, ["erase", *args, "--yes", "--json", "--db", str(copy)], log, codes[name])
        receipt = json.loads(Path(printed(log)["receipt"]).read_text())  # the base commit's has no `vacuumed`
        found[name] |= {"memories": receipt["counts"]["memories"], "vacuumed": receipt.get("vacuumed", "all")}
        if text is not None:
            found[name]["traces_left_in"] = traces_left(copy, text)
    return found


def measure_erase_pairs(store: Path, work: Path, reps: int, seed: int, codes: dict[str, Path], stale: int):
    """`reps` single-memory erasures (random ids), `stale` `--query` erasures of texts a page rebalance left
    copies of in free space, and (with `--erase-all`) one of everything, each by both codes in alternating
    order; medians and ratios."""
    cases = [(["erase-id", str(i)], [str(i)], None) for i in pick_memories(store, reps, seed)]
    cases += [(["erase-query", query], ["--query", query], text) for query, text in stale_texts(store, stale)]
    runs = []
    for n, (label, args, text) in enumerate(cases):
        order = ["base", "new"] if n % 2 == 0 else ["new", "base"]
        runs.append({"case": label, **erase_pair(store, work, args, codes, order, text)})
        print(f"{label}: " + ", ".join(
            f"{c} {runs[-1][c]['wall_s']:.1f} s (writers waited {runs[-1][c]['writer_max_wait_s']:.2f} s, "
            f"vacuumed {runs[-1][c]['vacuumed']})" for c in ("base", "new")))  # fmt: skip
    summary = {}
    for kind in ("erase-id", "erase-query"):
        mine = [r for r in runs if r["case"][0] == kind]
        if mine:
            summary[kind] = {f"{c}_median_{k}": round(statistics.median(r[c][k] for r in mine), 3)
                             for c in ("base", "new") for k in ("wall_s", "writer_max_wait_s")}  # fmt: skip
            summary[kind]["median_ratio_wall_new_over_base"] = round(
                statistics.median(r["new"]["wall_s"] / r["base"]["wall_s"] for r in mine), 3)  # fmt: skip
    return {"codes": {k: str(v) for k, v in codes.items()}, "runs": runs, "summary": summary}


# -- 5. import, paired --------------------------------------------------------------------------------------------
def renamed(source: Path, target: Path, suffix: str | None, plain: bool = False) -> Path:
    """`source` with every project renamed (`NAME-SUFFIX`): the same records, new to a store that holds them.
    `plain`: without the derived data (format version 2, as the base code reads it, which derives it again)."""
    with source.open("rb") as lines, target.open("w", encoding="utf-8") as out:
        for line in lines:
            record = json.loads(line)
            if record.get("type") == "memory" and suffix:
                record["project"] = f"{record['project']}-{suffix}"
            if plain:
                record.pop("derived", None)
                if record.get("type") == "header":
                    record["version"] = min(record["version"], 2)
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return target


def measure_import_pairs(
    sources: dict[str, Path], into: Path | None, work: Path, reps: int, codes: dict[str, Path]
) -> dict:
    """`slm import` of each code's file (`sources`, by code name) into an empty store (`into` None) or a fresh
    copy of `into`, `reps` times, in rotating order; the file's vectors are reused. Medians, memories a second,
    and the paired ratio."""
    runs = []
    names = list(sources)
    for rep in range(reps):
        pair = {}
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            target = copy_store(into, work / f"import-{name}") if into else fresh(work / f"import-{name}") / "memory.db"
            log = work / f"import-{name}-{rep}.log"
            took = run(["import", str(sources[name]), "--db", str(target), "--json"], log, code=codes[name])
            report = printed(log)
            pair[name] = {**took, "added": report["added"], "reembedded": report["reembedded"],
                          "memories_per_s": round(report["added"] / took["wall_s"], 1)}  # fmt: skip
        runs.append(pair)
        shown = ", ".join(f"{c} {pair[c]['wall_s']:.1f} s ({pair[c]['memories_per_s']:.0f}/s)" for c in pair)
        print(f"import into {'a copy of ' + str(into) if into else 'an empty store'}: {shown}")
    summary = {f"{c}_median_{k}": round(statistics.median(r[c][k] for r in runs), 3)
               for c in names for k in ("wall_s", "memories_per_s", "peak_rss_mb")}  # fmt: skip
    for c in names[1:]:
        summary[f"median_ratio_wall_{c}_over_base"] = round(
            statistics.median(r[c]["wall_s"] / r["base"]["wall_s"] for r in runs), 3)  # fmt: skip
    files = {c: str(p) for c, p in sources.items()}
    return {"sources": files, "into": str(into) if into else None, "runs": runs, "summary": summary}


# -- putting it together --------------------------------------------------------------------------------------------
def small_store(store: Path, work: Path, memories: int) -> tuple[Path, dict]:
    """An empty store filled with the export of the ~`memories` oldest memories of `store` (vectors reused), then
    clustered as `store` is (an import does not cluster: Markdown export reads the cluster labels)."""
    source, until = subset_export(store, work, memories)
    built, small = measure_import(source, fresh(work / "small-import"), 1)
    target = copy_store(small, work / "small")
    clustered = run(["graph", "build", "--db", str(target)], work / "graph-build.log")
    return target, {"built_from": str(store), "until": until, "import": built, "graph_build": clustered}


def report_of(store: Path, argv: list[str], started: str, parts: dict) -> dict:
    return {
        "command": shlex.join([sys.executable, "-m", "benchmarks.export", *argv]),
        "store": str(store),
        **counts(store),
        "load_at_start": started,
        **parts,
        "load_at_end": load(),
        "machine": machine(),
        "slm_version": slm_version(),
    }


def erase_again(args, argv: list[str], work: Path, started: str) -> dict:
    """Only the erase part, written over that part of an earlier full report (its own command and load kept)."""
    report = json.loads(args.out.read_text()) if args.out and args.out.exists() else {}
    report["erase"] = measure_erase(args.store, fresh(work / "erase-logs"), args.reps, args.seed)
    report["erase"] |= {"command": shlex.join([sys.executable, "-m", "benchmarks.export", *argv]),
                        "load_at_start": started, "load_at_end": load(), "slm_version": slm_version()}  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


def paired(args, argv: list[str], work: Path, started: str) -> dict:
    """Only the paired erasures, into their own report."""
    codes = {"base": args.pair_base.resolve(), "new": Path(__file__).resolve().parent.parent}
    if args.import_pair:
        suffix = "imported" if args.into else None
        sources = {"base": renamed(args.import_pair, work / "plain.jsonl", suffix, plain=True),
                   "new": renamed(args.import_pair, work / "renamed.jsonl", suffix)}  # fmt: skip
        if args.plain_too:  # the new code given a file without derived data: what an older export gets
            codes["new-plain"] = codes["new"]
            sources["new-plain"] = sources["base"]
        pairs = measure_import_pairs(sources, args.into, work, args.reps, codes)
        report = report_of(args.store, argv, started, {"import_pairs": pairs})
        if args.out:
            args.out.write_text(json.dumps(report, indent=1) + "\n")
        return report
    pairs = measure_erase_pairs(args.store, work, args.reps, args.seed, codes, args.stale)
    if args.erase_all:
        pairs["erase_all"] = erase_pair(args.store, work, ["--all"], codes, ["base", "new"], None)
        print(f"erase --all: {pairs['erase_all']}")
    report = report_of(args.store, argv, started, {"erase_pairs": pairs})
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a migrated slm database (only read)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/slm-export-bench/run"), help="emptied first")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--import-reps", type=int, default=1)
    parser.add_argument("--import-limit", type=int, help="import only the ~N oldest memories")
    parser.add_argument("--small", type=int, default=10_000, help="memories of the small store (0: none)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--small-out", type=Path)
    parser.add_argument("--erase-only", action="store_true", help="measure erase again, into --out's erase part")
    parser.add_argument("--pair-base", type=Path, help="slm source tree of the base commit: paired erasures only")
    parser.add_argument("--stale", type=int, default=2, help="paired erasures of texts left in free space")
    parser.add_argument("--erase-all", action="store_true", help="also a paired `erase --all`")
    parser.add_argument("--import-pair", type=Path, help="with --pair-base: paired imports of this export only")
    parser.add_argument("--into", type=Path, help="import into copies of this store (its projects renamed)")
    parser.add_argument("--plain-too", action="store_true", help="with --import-pair: also the new code importing "
                        "the file without its derived data")  # fmt: skip
    argv = argv if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    work = fresh(args.work)
    started = load()
    print(f"load at start: {started}")
    if args.erase_only:
        return erase_again(args, argv, work, started)
    if args.pair_base:
        return paired(args, argv, work, started)
    exports = measure_exports(args.store, fresh(work / "exports"), args.reps)
    if args.import_limit:
        source, until = subset_export(args.store, work, args.import_limit)
    else:
        source, until = work / "exports" / "export-jsonl+embeddings.jsonl", None
    imported, _ = measure_import(source, fresh(work / "import"), args.import_reps)
    imported["until"] = until
    erased = measure_erase(args.store, fresh(work / "erase-logs"), args.reps, args.seed)
    small = None
    if args.small:
        small_path, built = small_store(args.store, fresh(work / "small-build"), args.small)
        small_exports = measure_exports(small_path, fresh(work / "small-exports"), args.reps)
        small = report_of(small_path, argv, started, {**built, "exports": small_exports})
    report = report_of(args.store, argv, started, {"exports": exports, "import": imported, "erase": erased})
    if small:
        report["bounded_memory"] = {
            variant: {
                f"peak_rss_mb_at_{small['memories']}": small["exports"][variant]["median_peak_rss_mb"],
                f"peak_rss_mb_at_{report['memories']}": exports[variant]["median_peak_rss_mb"],
                "output_ratio": round(exports[variant]["output_bytes"] / small["exports"][variant]["output_bytes"], 1),
            }
            for variant in EXPORTS
        }
        print(json.dumps(report["bounded_memory"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    if args.small_out and small:
        args.small_out.write_text(json.dumps(small, indent=1) + "\n")
    print(f"load at end: {report['load_at_end']}")
    return report


if __name__ == "__main__":
    main()
