"""PostgreSQL keyword search at scale (issue 24): keyword_pg against FTS5 on the same synthetic memories.

The same N memories (benchmarks/corpus.py; every 53rd superseded) go into a SQLite store (FTS5) and a fresh
PostgreSQL database (copied in, then VACUUM ANALYZE); with `--before TREE` (another slm source tree, e.g.
`git archive <commit> | tar -x -C TREE`) a second database is made by that tree's migrations and searched by that
tree's `keyword_pg`, so two versions are compared on the same data in the same run. Each of 200 queries
(`fts_match` of corpus.queries) is asked unfiltered (live memories) and with a project filter, the PostgreSQL
versions alternating first query by query (a busy machine slows both alike): p50/p95 ms, and whether each returned
FTS5's ids in FTS5's order (and the worst relative score difference). `--writes` then times, per PostgreSQL
database, `remember_many` of 1,000 memories, the keyword index's own share of 1,000 inserts, and deleting them.

    .venv/bin/python -m benchmarks.pg_keyword_scale --memories 100000 --before /tmp/before --writes
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.throwaway_postgres import Databases

COLUMNS = "id, content, content_hash, created_at, agent, project, kind"
FILTERS = {"unfiltered": {"live": True}, "project": {"project": "billing", "live": True}}
LIMIT = 40  # recall's keyword channel asks for 4x its 10 results


def _migrate(url: str, tree: Path | None) -> None:
    """The database's schema: this tree's migrations, or `tree`'s (in a process importing slm from it)."""
    if tree is None:
        from slm.storage import migrations
        from slm.storage.postgres import open_postgres

        conn = open_postgres(url)
        migrations.migrate(conn)
        conn.close()
        return
    code = (
        "import sys; from slm.storage import migrations, postgres; "
        "migrations.migrate(postgres.open_postgres(sys.argv[1]))"
    )
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONSAFEPATH="1")
    subprocess.run([sys.executable, "-c", code, url], env=env, check=True)


def _keyword_index(tree: Path):
    """`tree`'s PostgresKeywordIndex class (its module loaded under another name; its imports are this tree's)."""
    spec = importlib.util.spec_from_file_location("keyword_pg_before", tree / "slm/storage/keyword_pg.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.PostgresKeywordIndex


def _load(conn, rows: list[tuple], vectors: list[tuple[str, int]]) -> float:
    """Copy the memories and their tokens in (triggers keep the rest of the index); seconds, VACUUM ANALYZE included."""
    began = time.perf_counter()
    raw = conn.raw
    with raw.transaction():
        with raw.cursor().copy(f"COPY memories ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with raw.cursor().copy("COPY memory_tokens (memory_id, tokens, length) FROM STDIN") as copy:
            for row, (tokens, length) in zip(rows, vectors, strict=True):
                copy.write_row((row[0], tokens, length))
        raw.execute("UPDATE memories SET superseded_by = id + 1 WHERE id % 53 = 0")
        raw.execute("SELECT setval(pg_get_serial_sequence('memories', 'id'), max(id)) FROM memories")
    raw.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def _ms(values: list[float], percentile: int) -> float:
    return round(1000 * statistics.quantiles(values, n=100)[percentile - 1], 1)


def run(memories: int, before: Path | None, writes: bool) -> dict:
    from slm.recall.fts_query import fts_match
    from slm.storage import fts_tokens, migrations
    from slm.storage.connection import open_connection
    from slm.storage.memories import MemoryFilter, MemoryRepository
    from slm.storage.postgres import open_postgres

    items = corpus.memories(memories)
    queries = [m for m in (fts_match(q) for q in corpus.queries(200)) if m]
    rows = [
        (
            i + 1,
            it["text"],
            hashlib.sha256(it["text"].encode()).hexdigest(),
            it["time"],
            it["agent"],
            it["project"],
            it["kind"],
        )
        for i, it in enumerate(items)
    ]
    tokens = [fts_tokens.document_tokens(row[1]) for row in rows]
    vectors = [(fts_tokens.tsvector_text(t), len(t)) for t in tokens]
    result: dict = {"memories": memories, "queries": len(queries), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as folder, Databases() as databases:
        sqlite = open_connection(Path(folder) / "fts5.db")
        migrations.migrate(sqlite)
        with sqlite.transaction():
            sqlite.executemany(f"INSERT INTO memories ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            sqlite.execute("UPDATE memories SET superseded_by = id + 1 WHERE id % 53 = 0")
        versions = {"after": None} | ({"before": before} if before else {})
        urls, repos = {}, {}
        for name, tree in versions.items():
            urls[name] = databases.fresh(f"keyword_{name}")
            _migrate(urls[name], tree)
            conn = open_postgres(urls[name])
            result[f"{name}_load_s"] = round(_load(conn, rows, vectors), 1)
            result[f"{name}_index_mb"] = conn.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) / 1e6 FROM pg_class c WHERE relname = ANY(?)",
                [["memory_tokens", "memory_postings"]],
            ).fetchone()[0]
            repos[name] = MemoryRepository(conn)
            if tree is not None:
                repos[name].keyword = _keyword_index(tree)(conn)
        reference = MemoryRepository(sqlite)
        for label, fields in FILTERS.items():
            flt = MemoryFilter(**fields)
            for match in queries[:10]:  # warm
                for repo in repos.values():
                    repo.keyword_search(match, flt, LIMIT)
            took: dict[str, list[float]] = {name: [] for name in ["fts5", *repos]}
            same = dict.fromkeys(repos, 0)
            worst = 0.0
            for i, match in enumerate(queries):
                began = time.perf_counter()
                expected = reference.keyword_search(match, flt, LIMIT)
                took["fts5"].append(time.perf_counter() - began)
                for name in list(repos)[:: 1 if i % 2 else -1]:
                    began = time.perf_counter()
                    got = repos[name].keyword_search(match, flt, LIMIT)
                    took[name].append(time.perf_counter() - began)
                    same[name] += [x for x, _ in got] == [x for x, _ in expected]
                    worst = max([worst] + [abs(a[1] - b[1]) / abs(a[1]) for a, b in zip(expected, got, strict=False)])
            result[label] = {
                name: {"p50_ms": _ms(times, 50), "p95_ms": _ms(times, 95)}
                | ({"same_ids": same[name]} if name in same else {})
                for name, times in took.items()
            } | {"worst_rel_diff": worst, "load": os.getloadavg()[0]}
            print(label, json.dumps(result[label]), flush=True)
        if writes:
            result["writes"] = _writes(urls, repos)
        sqlite.close()
        for repo in repos.values():
            repo.conn.close()
    return result


def _writes(urls: dict[str, str], repos: dict) -> dict:
    """Per database, in 10 rounds of 100 that alternate between them (a busy machine slows both alike):
    `remember_many` (embedding included; this tree's code on both, as what differs is the schema's triggers), the
    keyword index's own share (`keyword.add` of fresh memories: the tokens' row and, by trigger, its postings), and
    deleting the memories again (their postings by trigger)."""
    from slm import Memory
    from slm.storage.db import server_location
    from slm.storage.keyword_pg import PostgresKeywordIndex

    texts = [f"fresh note {i}: {it['text']}" for i, it in enumerate(corpus.memories(1000))]
    spent = {name: {"remember_many_1000_s": 0.0, "keyword_add_1000_s": 0.0, "delete_2000_s": 0.0} for name in urls}
    mems = {name: Memory.open(server_location(url)) for name, url in urls.items()}
    try:
        for mem in mems.values():
            mem.remember_many([{"text": "a first note loads the model"}])
        for round_ in range(10):
            batch = texts[100 * round_ : 100 * (round_ + 1)]
            for name in list(urls)[:: 1 if round_ % 2 else -1]:
                began = time.perf_counter()
                mems[name].remember_many([{"text": text, "project": "writes"} for text in batch])
                spent[name]["remember_many_1000_s"] += time.perf_counter() - began
                conn = repos[name].conn
                with conn.write_transaction():
                    ids = [
                        conn.execute(
                            "INSERT INTO memories (content, content_hash, created_at, agent, project) "
                            "VALUES (?, ?, '2026-01-01T00:00:00Z', 'bench', 'keyword-add') RETURNING id",
                            (text, hashlib.sha256(text.encode()).hexdigest()),
                        ).fetchone()[0]
                        for text in batch
                    ]
                    began = time.perf_counter()
                    index = PostgresKeywordIndex(conn)
                    for memory_id, text in zip(ids, batch, strict=True):
                        index.add(memory_id, text)
                    spent[name]["keyword_add_1000_s"] += time.perf_counter() - began
                began = time.perf_counter()
                with conn.write_transaction():
                    conn.execute("DELETE FROM memories WHERE project IN ('writes', 'keyword-add')")
                spent[name]["delete_2000_s"] += time.perf_counter() - began
    finally:
        for mem in mems.values():
            mem.close()
    out = {
        name: {k: round(v, 2) for k, v in times.items()} | {"load": os.getloadavg()[0]} for name, times in spent.items()
    }
    print("writes", json.dumps(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--before", type=Path, help="another slm source tree whose keyword_pg to compare with")
    parser.add_argument("--writes", action="store_true", help="also time remember_many(1,000) and deletes")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.memories, args.before, args.writes)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
