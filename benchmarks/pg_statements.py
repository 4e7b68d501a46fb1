"""Where a write spends its SQL time on a PostgreSQL store: every statement `PgDb` runs, timed and summed by
statement text, over N remembers of new texts (after 5 that warm the mirror and the caches), or over an import.

    SLM_HOME=/tmp/slm-bench-home SLM_THREADS=1 .venv/bin/python -m benchmarks.pg_statements \\
        --db 'postgresql://postgres:@/slm_bench_pg_store?host=/tmp/slm-pg-…' --writes 35
    … -m benchmarks.pg_statements --db 'postgresql://…/empty' --import export.jsonl   # per memory imported

A statement counts once per call (an `executemany` once however many rows it sends), its time is that of the call:
in a pipelined write transaction a statement whose result is not read returns before the server has run it, and
the wait is paid by the next read. "The write lock held" (each outer write transaction, BEGIN to COMMIT) and the
wall time per write are the figures to compare.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import time
import uuid
from pathlib import Path

from benchmarks import corpus
from slm import Memory
from slm.storage import postgres


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a postgresql:// URL of a store (it gets the new memories)")
    parser.add_argument("--writes", type=int, default=35)
    parser.add_argument("--import", dest="imported", type=Path, help="profile importing this export instead")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    spent: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])

    def timed(run):
        def wrapper(self, sql, rows=None, /):
            began = time.perf_counter()
            try:
                return run(self, sql, rows)
            finally:
                entry = spent[sql[:110]]
                entry[0] += 1
                entry[1] += time.perf_counter() - began

        return wrapper

    held: list[float] = []  # seconds each outer write transaction held the store's lock (BEGIN to COMMIT)

    def holding(run):
        @contextlib.contextmanager
        def wrapper(self, *args, **kwargs):
            outer = not self.in_transaction
            began = time.perf_counter()
            with run(self, *args, **kwargs):
                yield
            if outer:
                held.append(time.perf_counter() - began)

        return wrapper

    plain = postgres.PgDb.execute, postgres.PgDb.executemany, postgres.PgDb.write_transaction
    with Memory.open(args.db) as mem:
        if args.imported is None:
            run_id = uuid.uuid4().hex[:8]  # new texts each run: a repeat would cost nothing
            texts = [f"{item['text']} (statements run {run_id})" for item in corpus.memories(args.writes + 5, seed=99)]
            for text in texts[:5]:
                mem.remember(text, project="bench")
        postgres.PgDb.execute, postgres.PgDb.executemany = timed(plain[0]), timed(plain[1])
        postgres.PgDb.write_transaction = holding(plain[2])
        try:
            began = time.perf_counter()
            if args.imported is None:
                for text in texts[5:]:
                    mem.remember(text, project="bench")
                n, what = args.writes, "remembers"
            else:
                n, what = mem.transfers.import_file(args.imported).added, "memories imported"
            total = time.perf_counter() - began
        finally:
            postgres.PgDb.execute, postgres.PgDb.executemany, postgres.PgDb.write_transaction = plain
    sql_ms = 1000 * sum(s[1] for s in spent.values()) / n
    statements = sum(s[0] for s in spent.values()) / n
    print(f"{n} {what}: {1000 * total / n:.1f} ms each, SQL {sql_ms:.1f} ms in {statements:.1f} statements")
    print(f"the write lock held {1000 * sum(held) / n:.1f} ms a {what.split()[0][:-1]} ({len(held)} transactions)")
    for sql, (count, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1])[: args.top]:
        print(f"{1000 * seconds / n:8.2f} ms {count / n:5.1f}x  {sql}")


if __name__ == "__main__":
    main()
