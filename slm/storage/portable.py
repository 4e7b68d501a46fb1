"""SQL for export and import: whole memory records a page at a time, and the fields import restores as recorded.

Reads take a page of ids and return plain rows keyed by memory id, so an export of any size holds one page.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from slm.storage.memories import MemoryFilter
from slm.storage.vectors import TABLE as VECTORS
from slm.storage.vectors import embedding_column, key_column, matrix_of


def chain_ids(conn, flt: MemoryFilter, among: tuple[int, ...] | None = None) -> np.ndarray:
    """Ids of the memories the filter chooses (only those of `among`, when given), oldest first: each current
    memory that passes it, with every earlier version it replaced (a version chain is never split, so an import
    can rebuild it)."""
    where, params = flt.where()
    if among is not None:
        where += f" AND {conn.dialect.in_list('m.id')}"
        params = [*params, conn.dialect.list_param(among)]
    rows = conn.execute(
        f"WITH RECURSIVE chosen (id) AS (SELECT m.id FROM memories m WHERE {where} "
        "UNION SELECT m.id FROM memories m JOIN chosen c ON m.superseded_by = c.id) "
        "SELECT id FROM chosen ORDER BY id",
        params,
    )
    return np.fromiter((r[0] for r in rows), np.int64)  # streamed: one int per id, no list of row tuples


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


def validity(conn, ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    rows = conn.execute(f"SELECT id, valid_from, valid_to FROM memories WHERE id IN ({_marks(ids)})", ids)
    return {r[0]: (r[1], r[2]) for r in rows}


def trust_rows(conn, ids: list[int]) -> dict[int, tuple[str, float, str | None, float | None]]:
    """memory id -> (principal, doubt, review, the principal's trust: posterior mean, None if never scored)."""
    rows = conn.execute(
        "SELECT t.memory_id, t.principal, t.doubt, t.review, p.alpha / (p.alpha + p.beta) FROM memory_trust t "
        f"LEFT JOIN trust_principals p ON p.principal = t.principal WHERE t.memory_id IN ({_marks(ids)})",
        ids,
    )
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def zones(conn, ids: list[int]) -> dict[int, str]:
    rows = conn.execute(f"SELECT memory_id, zone FROM memory_lifecycle WHERE memory_id IN ({_marks(ids)})", ids)
    return dict(rows.fetchall())


def links(conn, ids: list[int]) -> dict[int, list[tuple[int, str, float]]]:
    """memory id -> (other memory, kind, weight) for every edge touching it, whatever the other end is."""
    marks = _marks(ids)
    found: dict[int, list] = defaultdict(list)
    for source, target, kind, weight in conn.execute(
        f"SELECT source, target, kind, weight FROM memory_edges WHERE source IN ({marks}) "
        f"UNION SELECT source, target, kind, weight FROM memory_edges WHERE target IN ({marks})",
        [*ids, *ids],
    ):
        found[source].append((target, kind, weight))
        found[target].append((source, kind, weight))
    return found


def embeddings(conn, ids: list[int], dim: int) -> dict[int, tuple[list[tuple[int, int]], np.ndarray]]:
    """memory id -> (chunk spans, float32 matrix), chunks in order."""
    rows = conn.execute(
        f'SELECT c.memory_id, c.start, c."end", {embedding_column(conn)} FROM chunks c '
        f"JOIN {VECTORS} v ON {key_column(conn)} = c.id "
        f"WHERE c.memory_id IN ({_marks(ids)}) ORDER BY c.memory_id, c.id",
        ids,
    ).fetchall()
    grouped: dict[int, list] = defaultdict(list)
    for memory_id, start, end, blob in rows:
        grouped[memory_id].append(((start, end), blob))
    return {
        memory_id: ([s for s, _ in parts], matrix_of(conn, [b for _, b in parts], dim))
        for memory_id, parts in grouped.items()
    }


def behavior_rows(conn, table: str, page: int = 2000) -> Iterator[tuple]:
    """Every recall (time, query, k, results, agent, protocol, session, project, workspace, base_ranks as JSON or
    None, uses: [(time, memory_id, kind, by_id)]) or feedback row (time, memory_id, helpful, query, agent, protocol,
    the time of the recall it answers), oldest first, a page at a time."""
    columns = {
        "recalls": "id, time, query, k, results, agent, protocol, session, project, workspace, base_ranks",
        "feedback": "id, time, memory_id, helpful, query, agent, protocol, "
        "(SELECT r.time FROM recalls r WHERE r.id = feedback.recall_id)",
    }[table]
    last = 0
    while True:
        rows = conn.execute(f"SELECT {columns} FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (last, page)).fetchall()
        if not rows:
            return
        if table == "recalls":
            uses = defaultdict(list)
            for recall_id, *use in conn.execute(
                "SELECT recall_id, time, memory_id, kind, by_id FROM uses WHERE recall_id > ? AND recall_id <= ? "
                "ORDER BY id",
                (last, rows[-1][0]),
            ):
                uses[recall_id].append(tuple(use))
            rows = [(*r, uses.get(r[0], [])) for r in rows]
        yield from (r[1:] for r in rows)
        last = rows[-1][0]


def learned_rows(conn, names: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    """(name, state as JSON, updated_at) of every learned state (or of those in `names`), by name."""
    rows = conn.execute("SELECT name, state, updated_at FROM learned ORDER BY name").fetchall()
    return [tuple(r) for r in rows if names is None or r[0] in names]


def add_learned(conn, name: str, state: dict, updated_at: str) -> bool:
    """Store a learned state unless one of that name is there; whether it was stored."""
    conn.execute(
        "INSERT INTO learned (name, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        (name, json.dumps(state, ensure_ascii=False, separators=(",", ":")), updated_at),
    )
    return conn.changes() == 1


def recall_at(conn, time: str, agent: str) -> int | None:
    """The id of the recall `agent` made at `time` (how an imported feedback finds the recall it answers)."""
    row = conn.execute("SELECT id FROM recalls WHERE time = ? AND agent = ? ORDER BY id LIMIT 1", (time, agent))
    found = row.fetchone()
    return None if found is None else found[0]


def same_record(conn, project: str, content_hash: str, created_at: str, current: bool) -> int | None:
    """A memory already holding this record: same project, text and stored time, and current or history as the
    record is (a text updated away and stated again in the same second is two records)."""
    state = "IS NULL" if current else "IS NOT NULL"
    row = conn.execute(
        "SELECT id FROM memories WHERE content_hash = ? AND project = ? AND created_at = ? "
        f"AND superseded_by {state} ORDER BY id LIMIT 1",
        (content_hash, project, created_at),
    ).fetchone()
    return row[0] if row else None


def same_records(conn, records: list[tuple[str, str, str, bool]]) -> list[int | None]:
    """`same_record` of each (project, content hash, stored time, current) of an import's batch. One statement
    on PostgreSQL, where each was a round trip; on SQLite, where a statement costs microseconds, `same_record`'s
    own, one a record."""
    if conn.backend != "postgres":
        return [same_record(conn, *record) for record in records]
    if not records:
        return []
    rows = conn.execute(
        "SELECT (SELECT m.id FROM memories m WHERE m.content_hash = k.h AND m.project = k.p AND m.created_at = k.c "
        "AND (m.superseded_by IS NULL) = k.cur ORDER BY m.id LIMIT 1) FROM unnest(CAST(? AS text[]), "
        "CAST(? AS text[]), CAST(? AS text[]), CAST(? AS boolean[])) WITH ORDINALITY AS k(p, h, c, cur, n) "
        "ORDER BY k.n",
        [list(column) for column in zip(*records, strict=True)],
    ).fetchall()
    return [r[0] for r in rows]


def restore(conn, memory_id: int, valid_from: str | None, valid_to: str | None, review: str | None) -> None:
    """The validity and review an export recorded (inside the caller's transaction)."""
    conn.execute(
        "UPDATE memories SET valid_from = coalesce(?, valid_from), valid_to = ? WHERE id = ?",
        (valid_from, valid_to, memory_id),
    )
    if review is not None:
        conn.execute("UPDATE memory_trust SET review = ? WHERE memory_id = ?", (review, memory_id))


def replace_links(conn, memory_id: int, among: set[int], recorded: list[tuple[int, str, float]]) -> None:
    """The memory's edges to the others of `among` become exactly `recorded` (other id, kind, weight)."""
    touching = conn.execute(
        "SELECT source, target, kind FROM memory_edges WHERE source = ?1 "
        "UNION ALL SELECT source, target, kind FROM memory_edges WHERE target = ?1",
        (memory_id,),
    ).fetchall()
    derived = [(s, t, k) for s, t, k in touching if (t if s == memory_id else s) in among]
    conn.executemany("DELETE FROM memory_edges WHERE source = ? AND target = ? AND kind = ?", derived)
    conn.executemany(
        "INSERT INTO memory_edges (source, target, kind, weight) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (source, target, kind) DO UPDATE SET weight = excluded.weight",
        [(min(memory_id, other), max(memory_id, other), kind, weight) for other, kind, weight in recorded],
    )


def has_recall(conn, time: str, query: str, agent: str) -> bool:
    row = conn.execute("SELECT 1 FROM recalls WHERE time = ? AND query = ? AND agent = ?", (time, query, agent))
    return row.fetchone() is not None


def has_feedback(conn, time: str, memory_id: int, agent: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM feedback WHERE time = ? AND memory_id = ? AND agent = ?", (time, memory_id, agent)
    ).fetchone()
    return row is not None


def add_feedback(conn, fields: dict) -> None:
    conn.execute(
        "INSERT INTO feedback (time, memory_id, helpful, query, agent, protocol, recall_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (fields["time"], fields["memory_id"], int(fields["helpful"]), fields["query"], fields["agent"],
         fields["protocol"], fields.get("recall_id")),
    )  # fmt: skip


def current_by_project(conn, ids: list[int]) -> dict[str, list[int]]:
    """The current memories among `ids`, by project."""
    found: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        for memory_id, project in conn.execute(
            f"SELECT id, project FROM memories WHERE superseded_by IS NULL AND id IN ({_marks(part)})", part
        ):
            found[project].append(memory_id)
    return found


def cluster_labels(conn, ids: list[int]) -> dict[int, str]:
    """memory id -> the label of its top-level cluster (memories not clustered yet are left out)."""
    labels: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        labels |= dict(
            conn.execute(
                "SELECT mc.memory_id, c.label FROM memory_clusters mc JOIN clusters c ON c.id = mc.cluster_id "
                f"WHERE mc.memory_id IN ({_marks(part)})",
                part,
            ).fetchall()
        )
    return labels


def earlier_version_counts(conn, ids: list[int]) -> dict[int, int]:
    rows = conn.execute(
        "WITH RECURSIVE chain (head, id) AS (SELECT id, id FROM memories WHERE id IN "
        f"({_marks(ids)}) UNION ALL SELECT c.head, m.id FROM memories m JOIN chain c ON m.superseded_by = c.id) "
        "SELECT head, count(*) - 1 FROM chain GROUP BY head HAVING count(*) > 1",
        ids,
    )
    return dict(rows.fetchall())
