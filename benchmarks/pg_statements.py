"""Where a `remember` spends its SQL time on a PostgreSQL store: every statement `PgDb` runs, timed and summed by
statement text, over N remembers of new texts (after 5 that warm the mirror and the caches).

    SLM_HOME=/tmp/slm-bench-home SLM_THREADS=1 .venv/bin/python -m benchmarks.pg_statements \\
        --db 'postgresql://postgres:@/slm_bench_pg_store?host=/tmp/slm-pg-…' --writes 35
"""

from __future__ import annotations

import argparse
import collections
import time
import uuid

from benchmarks import corpus
from slm import Memory
from slm.storage import postgres


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a postgresql:// URL of a store (it gets the new memories)")
    parser.add_argument("--writes", type=int, default=35)
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

    run_id = uuid.uuid4().hex[:8]  # new texts each run: a repeat would cost nothing
    texts = [f"{item['text']} (statements run {run_id})" for item in corpus.memories(args.writes + 5, seed=99)]
    with Memory.open(args.db) as mem:
        for text in texts[:5]:
            mem.remember(text, project="bench")
        plain = postgres.PgDb.execute, postgres.PgDb.executemany
        postgres.PgDb.execute, postgres.PgDb.executemany = timed(plain[0]), timed(plain[1])
        try:
            began = time.perf_counter()
            for text in texts[5:]:
                mem.remember(text, project="bench")
            total = time.perf_counter() - began
        finally:
            postgres.PgDb.execute, postgres.PgDb.executemany = plain
    n = args.writes
    sql_ms = 1000 * sum(s[1] for s in spent.values()) / n
    statements = sum(s[0] for s in spent.values()) / n
    print(f"{n} remembers: {1000 * total / n:.1f} ms each, SQL {sql_ms:.1f} ms in {statements:.0f} statements")
    for sql, (count, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1])[: args.top]:
        print(f"{1000 * seconds / n:8.2f} ms {count / n:5.1f}x  {sql}")


if __name__ == "__main__":
    main()
