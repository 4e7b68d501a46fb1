"""Bulk ingest into a large store against its ceiling, the embedding alone (issue 20: ≥ 150 memories/s at 100k).

New corpus memories (beyond the store's own) go in through `Memory.remember_many` into a copy of the store, in
slices; each slice's texts are also embedded alone, as remember_many sends them (its batch size, chunked), by the
same process's Embedder. Ingest and embedding alternate slice by slice, so both see the same machine load.

    cp /tmp/exp/scale/scale.db /tmp/slm-ingest/scale.db
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/ingest.py --store /tmp/slm-ingest/scale.db \\
        --skip 100000 --memories 2000 --out benchmarks/results/ingest-100000.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from benchmarks import corpus  # noqa: E402


def embed_only(embedder, texts: list[str], batch: int) -> float:
    """Seconds to chunk and embed `texts` in batches of `batch`, as remember_many does."""
    from slm.core.writer import embed_chunked

    began = time.perf_counter()
    for at in range(0, len(texts), batch):
        embed_chunked(embedder, texts[at : at + batch])
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True, help="a copy: the memories are added to it")
    parser.add_argument("--skip", type=int, default=100000, help="corpus memories already in the store")
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--slice", type=int, default=256, help="memories per alternation")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("SLM_HOME", "/tmp/slm-bench-home")
    from slm import Memory
    from slm.core.writer import EMBED_BATCH

    items = corpus.memories(args.skip + args.memories)[args.skip :]
    ingest, embed, loads = [], [], []
    with Memory.open(args.store) as mem:
        embedder = mem.store.embedder
        embed_only(embedder, [m["text"] for m in items[:64]], EMBED_BATCH)  # load the model and warm it
        for at in range(0, len(items), args.slice):
            part = items[at : at + args.slice]
            embed.append(embed_only(embedder, [m["text"] for m in part], EMBED_BATCH) / len(part))
            began = time.perf_counter()
            mem.remember_many(part)
            ingest.append((time.perf_counter() - began) / len(part))
            loads.append(os.getloadavg()[0])
            print(f"slice {at // args.slice}: ingest {1 / ingest[-1]:.1f}/s, embedding {1 / embed[-1]:.1f}/s")
    result = {
        "command": sys.argv,
        "store": str(args.store),
        "memories": args.memories,
        "slice": args.slice,
        "ingest_per_s": round(1 / statistics.median(ingest), 1),
        "embedding_ceiling_per_s": round(1 / statistics.median(embed), 1),
        "ingest_to_ceiling": round(statistics.median(embed) / statistics.median(ingest), 2),
        "load_average": round(statistics.median(loads), 2),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
