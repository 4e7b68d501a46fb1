"""A store N times the size of another, in minutes: every row of the source copied N - 1 more times under new ids,
each copy in its own projects (issue 20's 1M store).

`benchmarks.graph rebuild --memories 1000000` writes each memory through `remember_many` from cached embeddings,
~2.5 h on 2 cores. The scale store it builds is already LongMemEval's turns repeated across projects, so repeating
its rows ("copy0" becomes "copy0-t3" in tile 3) makes the same kind of store: memories, chunks and their vectors,
keyword index (through the store's own triggers), claims and contradictions, entity mentions, edges, clusters, trust,
lifecycle, Gaussians and events. Edges stay inside their tile (a rebuild would also link a turn to its copies), and
`slm graph build` recomputes the clusters. The vector file is not copied: the first open writes it.

    .venv/bin/python -m benchmarks.graph rebuild --memories 10000 --store /tmp/m1/10k.db
    .venv/bin/python -m benchmarks.tile_store --source /tmp/m1/10k.db --out /tmp/m1/1m.db --tiles 100

Tile an untiled store: a tiled one already holds "copy0-t1", which its own tile 1 would create again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

VECTOR_BATCH = 20_000

# table: (columns, {column: offset key}); an offset key names the table whose largest id shifts that column.
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "memories": (
        "id, content, content_hash, created_at, event_time, agent, project, kind, meta, protocol, superseded_by, "
        "agent_id, valid_from, valid_to, session",
        {"id": "memories", "superseded_by": "memories"},
    ),
    "chunks": ("id, memory_id, start, end", {"id": "chunks", "memory_id": "memories"}),
    "memory_tags": ("memory_id, tag", {"memory_id": "memories"}),
    "memory_entities": ("memory_id, entity_id", {"memory_id": "memories"}),
    "memory_edges": ("source, target, kind, weight", {"source": "memories", "target": "memories"}),
    "claims": (
        "id, memory_id, subject, attribute, value, polarity, single, change, rule, project, principal, valid_from, "
        "valid_to, superseded_by",
        {"id": "claims", "memory_id": "memories", "superseded_by": "claims"},
    ),
    "contradictions": (
        "id, subject, attribute, project, severity, status, found_at, resolved_at, resolution",
        {"id": "contradictions"},
    ),
    "contradiction_claims": (
        "contradiction_id, claim_id, residual",
        {"contradiction_id": "contradictions", "claim_id": "claims"},
    ),
    "clusters": ("id, parent, label, centroid, built_at", {"id": "clusters", "parent": "clusters"}),
    "memory_clusters": (
        "memory_id, cluster_id, sub_id",
        {"memory_id": "memories", "cluster_id": "clusters", "sub_id": "clusters"},
    ),
    "memory_gaussians": ("memory_id, n, mean, m2", {"memory_id": "memories"}),
    "memory_lifecycle": (
        "memory_id, position, zone, importance, born, uses, last_used",
        {"memory_id": "memories"},
    ),
    "memory_trust": ("memory_id, principal, doubt, review", {"memory_id": "memories"}),
    "memory_endorsements": ("memory_id, principal, kind", {"memory_id": "memories"}),
    "events": ("time, type, agent, protocol, memory_id, payload", {"memory_id": "memories"}),
    "principal_projects": ("principal, project, writes", {}),
}
PROJECT_TABLES = ("memories", "claims", "contradictions", "principal_projects")


def tile(source: Path, out: Path, tiles: int) -> dict:
    from rich.progress import Progress

    from slm.storage.connection import open_connection

    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (out, out.with_name(out.name + ".vectors")):
        stale.unlink(missing_ok=True)
    conn = open_connection(out)
    with conn.raw.backup("main", open_connection(source, readonly=True).raw, "main") as copy:  # its WAL included
        copy.step(-1)
    conn.execute("PRAGMA synchronous=OFF")
    rows = {name: _count(conn, name) for name in TABLES}
    largest = {name: conn.execute(f"SELECT coalesce(max(id), 0) FROM {name}").fetchone()[0] for name in _ID_TABLES}
    projects = [p for (p,) in conn.execute("SELECT DISTINCT project FROM principal_projects")]
    started = time.perf_counter()
    with Progress() as progress:
        task = progress.add_task("tiling", total=(tiles - 1) * (len(TABLES) + 1))
        for t in range(1, tiles):
            conn.execute("BEGIN")
            for name, (columns, shifted) in TABLES.items():
                params = [json.dumps(projects)] if name == "principal_projects" else []
                conn.execute(_copy_sql(name, columns, shifted, largest, t), params)
                progress.advance(task)
            _copy_vectors(conn, largest["chunks"], t)
            conn.execute("COMMIT")
            progress.advance(task)
    seconds = time.perf_counter() - started
    conn.close()
    return {"tiles": tiles, "source_rows": rows, "seconds": round(seconds, 1), "bytes": out.stat().st_size}


_ID_TABLES = ("memories", "chunks", "claims", "contradictions", "clusters", "events")


def _copy_sql(name: str, columns: str, shifted: dict[str, str], largest: dict[str, int], t: int) -> str:
    """INSERT … SELECT of the source's rows (those under its own largest ids) as tile t."""
    values = []
    for column in (c.strip() for c in columns.split(",")):
        if column in shifted:
            values.append(f"{column} + {largest[shifted[column]] * t}")
        elif column == "project" and name in PROJECT_TABLES:
            values.append(f"project || '-t{t}'")
        else:
            values.append(column)
    if name == "events":  # new ids: the log stays in order
        source = f"id <= {largest['events']}"
    elif name == "principal_projects":
        source = "project IN (SELECT value FROM json_each(?))"
    else:
        first = next(iter(shifted))
        source = f"{first} <= {largest[shifted[first]]}"
    return f"INSERT INTO {name} ({columns}) SELECT {', '.join(values)} FROM {name} WHERE {source}"


def _copy_vectors(conn, chunks: int, t: int) -> None:
    for start in range(0, chunks, VECTOR_BATCH):
        batch = conn.execute(
            "SELECT rowid, embedding FROM chunk_vectors WHERE rowid > ? AND rowid <= ?",
            (start, min(start + VECTOR_BATCH, chunks)),
        ).fetchall()
        conn.executemany(
            "INSERT INTO chunk_vectors (rowid, embedding) VALUES (?, ?)", [(r + chunks * t, v) for r, v in batch]
        )


def _count(conn, name: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a store to repeat (read only)")
    parser.add_argument("--out", type=Path, required=True, help="the store to write (replaced)")
    parser.add_argument("--tiles", type=int, default=10, help="the copies in all, the source's own rows included")
    args = parser.parse_args()
    print(json.dumps(tile(args.source, args.out, args.tiles)))


if __name__ == "__main__":
    main()
