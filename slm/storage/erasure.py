"""SQL for erasure: choosing what goes, the rows derived from it, and getting the bytes out of the files.

Deleting a memory cascades to its tags, chunks (and through a trigger or a foreign key their vectors), entity links,
edges, cluster membership, trust, Gaussian, lifecycle and claims. What a cascade cannot reach is here: event
payloads, entities and contradictions left without memories, behaviour rows. The bytes are each backend's own
business (`erasure_sqlite`: FTS5 segments, the WAL, free space in pages; `erasure_pg`: VACUUM FULL of the tables),
reached through the few functions at the end of this module, so the engine does not know which backend it erases on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from slm.storage import erasure_pg, erasure_sqlite, health
from slm.storage.behavior import KEPT_LEARNED, delete_learned
from slm.storage.memories import MemoryFilter
from slm.storage.projects import ProjectRepository

CHUNK = 5000  # ids per statement, well under SQLite's 32,766 variables
TOMBSTONE = '{"erased":true}'
DERIVED = (  # tables whose rows belong to one memory, by the column naming it
    ("memories", "id"),
    ("memory_tags", "memory_id"),
    ("chunks", "memory_id"),
    ("memory_entities", "memory_id"),
    ("memory_edges", "source"),
    ("memory_edges", "target"),
    ("memory_clusters", "memory_id"),
    ("memory_trust", "memory_id"),
    ("memory_endorsements", "memory_id"),
    ("memory_gaussians", "memory_id"),
    ("memory_lifecycle", "memory_id"),
    ("claims", "memory_id"),
)


def chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids))


def matching_ids(conn, flt: MemoryFilter, contains: str | None, entity: tuple[str, ...] | None) -> list[int]:
    """Memories passing the filter (give it `versions=True` to choose among every version) whose text contains
    `contains` (case-insensitive) and that name one of the `entity` keys."""
    where, params = flt.where()
    if contains is not None:
        where += f" AND {conn.dialect.contains('lower(m.content)', 'lower(?)')}"
        params.append(contains)
    if entity is not None:
        where += (
            " AND m.id IN (SELECT me.memory_id FROM memory_entities me JOIN entities e ON e.id = me.entity_id "
            f"WHERE e.key IN ({_marks(list(entity))}))"
        )
        params += list(entity)
    rows = conn.execute(f"SELECT m.id FROM memories m WHERE {where} ORDER BY m.id", params)
    return [r[0] for r in rows]


def whole_chains(conn, ids: list[int]) -> list[int]:
    """`ids` with every version linked to them, earlier and later: erasing a memory erases its history."""
    found = set(ids)
    frontier = list(ids)
    while frontier:
        step: list[int] = []
        for part in chunks(frontier):
            marks = _marks(part)
            step += [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM memories WHERE superseded_by IN ({marks}) "
                    f"UNION SELECT superseded_by FROM memories WHERE id IN ({marks}) AND superseded_by IS NOT NULL",
                    [*part, *part],
                )
            ]
        frontier = [i for i in step if i not in found]
        found.update(frontier)
    return sorted(found)


def hashes(conn, ids: list[int]) -> list[str]:
    """The content hashes of `ids`, sorted (what a receipt lists)."""
    found: set[str] = set()
    for part in chunks(ids):
        found |= {r[0] for r in conn.execute(f"SELECT content_hash FROM memories WHERE id IN ({_marks(part)})", part)}
    return sorted(found)


def held_elsewhere(conn, ids: list[int], content_hashes: list[str]) -> set[str]:
    """Those of `content_hashes` that memories outside `ids` also have (the same text in another project, or in
    a version of another memory): erasing `ids` leaves that text in the store."""
    erased, held = set(ids), set()
    for part in chunks(content_hashes):
        rows = conn.execute(f"SELECT id, content_hash FROM memories WHERE content_hash IN ({_marks(part)})", part)
        held |= {h for i, h in rows if i not in erased}
    return held


def count_rows(conn, ids: list[int]) -> dict[str, int]:
    """How many rows of each derived table belong to `ids`, and how many events name them."""
    counts: dict[str, int] = {}
    for part in chunks(ids):
        marks = _marks(part)
        for table, column in (*DERIVED, ("events", "memory_id")):
            if (table, column) == ("memory_edges", "target"):
                continue
            where = f"{column} IN ({marks})" + (f" OR target IN ({marks})" if table == "memory_edges" else "")
            params = part * (2 if table == "memory_edges" else 1)
            counts[table] = (
                counts.get(table, 0) + conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0]
            )
    return counts


def tombstone_events(conn, ids: list[int]) -> int:
    """Empty the payloads of the events about `ids`: the events stay, so history shows that something was
    written, updated and erased, and when, but not what."""
    changed = 0
    for part in chunks(ids):
        conn.execute(f"UPDATE events SET payload = ? WHERE memory_id IN ({_marks(part)})", [TOMBSTONE, *part])
        changed += conn.changes()
    return changed


def drop_orphans(conn) -> dict[str, int]:
    """Entities no memory names any more (their names came from the erased text), contradictions left without
    claims, and the identity keys and visibility of projects left without memories (they name folders, remote
    URLs and members; an erasure of everything leaves none)."""
    conn.execute("DELETE FROM entities WHERE memories <= 0")
    entities = conn.changes()
    conn.execute(
        "DELETE FROM contradictions WHERE NOT EXISTS "
        "(SELECT 1 FROM contradiction_claims cc WHERE cc.contradiction_id = contradictions.id)"
    )
    contradictions = conn.changes()
    projects = ProjectRepository(conn)
    keys, visibility = projects.drop_orphan_keys(), projects.drop_orphan_visibility()
    return {"entities": entities, "contradictions": contradictions, "project keys": keys,
            "project visibility": visibility}  # fmt: skip


def holds_only(conn, ids: list[int]) -> bool:
    """Whether `ids` are every memory of the store (an erasure of everything, with nothing written meanwhile)."""
    return conn.execute("SELECT count(*) FROM memories").fetchone()[0] == len(ids)


def count_all(conn) -> dict[str, int]:
    """`count_rows` of an erasure of every memory: each derived table whole (an edge once, where chunks of ids
    would count an edge between two chunks twice), and the events that name a memory."""
    counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table, _ in DERIVED}
    named = "SELECT count(*) FROM events WHERE memory_id IN (SELECT id FROM memories)"
    return counts | {"events": conn.execute(named).fetchone()[0]}


def clear_all(conn) -> int:
    """Delete every memory and every row derived from one, a table at a time: claims and contradictions first (no
    claim is left to check against another), the memories last, with nothing left to cascade to. Returns the
    contradictions dropped."""
    conn.execute("DELETE FROM contradiction_claims")
    conn.execute("DELETE FROM contradictions")
    dropped = conn.changes()
    tables = list(dict.fromkeys(table for table, _ in reversed(DERIVED)))
    (erasure_pg if conn.backend == "postgres" else erasure_sqlite).delete_tables(conn, tables)
    return dropped


BEHAVIOR_TABLES = ("feedback", "uses", "recalls", "events")  # in an order deletions may follow (uses name recalls)
# The learner's state (`learned`) is derived from the behaviour rows and the memories (it names entities, projects
# and patterns drawn from them) and retrained from what remains: any erasure deletes it all but KEPT_LEARNED.
_DERIVED_LEARNED = f"name NOT IN ({','.join(repr(name) for name in KEPT_LEARNED)})"


def _returned(conn, marks: str) -> str:
    """The condition that a row of `recalls` returned one of the memories bound to `marks` (PostgreSQL reads the
    JSON array's elements as text: cast to compare with ids)."""
    value = "CAST(j.value AS bigint)" if conn.backend == "postgres" else "j.value"
    return f"EXISTS (SELECT 1 FROM {conn.dialect.json_values('recalls.results', 'j')} WHERE {value} IN ({marks}))"


def _uses_of(conn, marks: str) -> str:
    """The condition that a row of `uses` is about one of the memories bound to `marks` three times: used, the
    using memory (a cite, a new version), or a use of a recall that returned one of them."""
    return (
        f"memory_id IN ({marks}) OR by_id IN ({marks}) OR recall_id IN (SELECT id FROM recalls WHERE "
        f"{_returned(conn, marks)})"
    )


def purge_behavior(conn, ids: list[int]) -> dict[str, int]:
    """Behaviour rows about `ids`: feedback on them, their uses, recalls that returned them (the query may quote
    them) with the uses of those, the payloads of their events, and the learned state (but KEPT_LEARNED)."""
    counts = {"feedback": 0, "uses": 0, "recalls": 0}
    for part in chunks(ids):
        marks = _marks(part)
        conn.execute(f"DELETE FROM feedback WHERE memory_id IN ({marks})", part)
        counts["feedback"] += conn.changes()
        conn.execute(f"DELETE FROM uses WHERE {_uses_of(conn, marks)}", part * 3)
        counts["uses"] += conn.changes()
        conn.execute(
            f"DELETE FROM recalls WHERE {_returned(conn, marks)}",
            part,
        )
        counts["recalls"] += conn.changes()
    counts["events"] = tombstone_events(conn, ids)
    counts["learned"] = delete_learned(conn, KEPT_LEARNED)
    return counts


def count_behavior(conn, ids: list[int] | None) -> dict[str, int]:
    """The behaviour rows an erasure of `ids` (None: of the whole behaviour database) deletes or empties."""
    learned = {"learned": conn.execute(f"SELECT count(*) FROM learned WHERE {_DERIVED_LEARNED}").fetchone()[0]}
    if ids is None:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in BEHAVIOR_TABLES} | learned
    found = behavior_leftovers(conn, ids)
    return {
        "feedback": found["feedback"], "uses": found["uses"], "recalls": found["recalls"],
        "events": found["events.payload"],
    } | learned  # fmt: skip


def behavior_until(conn, time: str) -> dict[str, int]:
    """The rows of each behaviour table dated up to `time`."""
    return {
        t: conn.execute(f"SELECT count(*) FROM {t} WHERE time <= ?", (time,)).fetchone()[0] for t in BEHAVIOR_TABLES
    }


def learned_until(conn, time: str) -> int:
    """Learned states an erasure at `time` deleted that are still there: saved up to then, but KEPT_LEARNED (state
    saved later was trained on what the erasure left)."""
    return conn.execute(
        f"SELECT count(*) FROM learned WHERE {_DERIVED_LEARNED} AND updated_at <= ?", (time,)
    ).fetchone()[0]


def clear_behavior(conn) -> dict[str, int]:
    """Every row of the behaviour database, but the learned state KEPT_LEARNED (the user's settings)."""
    counts = {}
    for table in BEHAVIOR_TABLES:
        conn.execute(f"DELETE FROM {table}")
        counts[table] = conn.changes()
    counts["learned"] = delete_learned(conn, KEPT_LEARNED)
    return counts


def erased_texts(conn, ids: list[int]) -> list[str]:
    """What the memories `ids` hold as text (content, meta, tags), read before they are deleted."""
    texts: list[str] = []
    for part in chunks(ids):
        marks = _marks(part)
        for content, meta in conn.execute(f"SELECT content, meta FROM memories WHERE id IN ({marks})", part):
            texts += [content, meta]
        texts += [
            r[0] for r in conn.execute(f"SELECT DISTINCT tag FROM memory_tags WHERE memory_id IN ({marks})", part)
        ]
    return texts


def behavior_texts(conn, ids: list[int]) -> list[str]:
    """The queries of the feedback and recalls an erasure of `ids` deletes, and its events' payloads."""
    texts: list[str] = []
    for part in chunks(ids):
        marks = _marks(part)
        texts += [
            r[0]
            for r in conn.execute(
                f"SELECT query FROM feedback WHERE memory_id IN ({marks}) AND query IS NOT NULL "
                f"UNION SELECT query FROM recalls WHERE {_returned(conn, marks)} "
                f"UNION SELECT payload FROM events WHERE memory_id IN ({marks})",
                [*part, *part, *part],
            )
        ]
    return texts


def leftovers(conn, ids: list[int], content_hashes: list[str]) -> dict[str, int]:
    """What of the erased memories is still in the store: rows naming their ids, memories with their hashes,
    events with a payload, vectors without a chunk. All zeros when the erasure holds."""
    found = {f"{table}.{column}": 0 for table, column in DERIVED}
    found |= {"memories.content_hash": 0, "events.payload": 0}
    for part in chunks(ids):
        marks = _marks(part)
        for table, column in DERIVED:
            found[f"{table}.{column}"] += conn.execute(
                f"SELECT count(*) FROM {table} WHERE {column} IN ({marks})", part
            ).fetchone()[0]
        found["events.payload"] += conn.execute(
            f"SELECT count(*) FROM events WHERE memory_id IN ({marks}) AND payload != ?", [*part, TOMBSTONE]
        ).fetchone()[0]
    for part in chunks(content_hashes):
        found["memories.content_hash"] += conn.execute(
            f"SELECT count(*) FROM memories WHERE content_hash IN ({_marks(part)})", part
        ).fetchone()[0]
    if health.has_vector_table(conn):
        found["vectors without a chunk"] = len(health.orphan_vectors(conn))
    return found


def index_consistent(conn) -> bool:
    """Whether the keyword index holds exactly the terms of the rows in `memories` (FTS5's own check on SQLite; on
    PostgreSQL no tokens row outlives its memory and the postings and counts are the tokens')."""
    return not health.keyword_index_problems(conn)


def behavior_leftovers(conn, ids: list[int]) -> dict[str, int]:
    found = {"feedback": 0, "uses": 0, "recalls": 0, "events.payload": 0}
    for part in chunks(ids):
        marks = _marks(part)
        found["feedback"] += conn.execute(
            f"SELECT count(*) FROM feedback WHERE memory_id IN ({marks})", part
        ).fetchone()[0]
        found["uses"] += conn.execute(f"SELECT count(*) FROM uses WHERE {_uses_of(conn, marks)}", part * 3).fetchone()[
            0
        ]
        found["recalls"] += conn.execute(
            f"SELECT count(*) FROM recalls WHERE {_returned(conn, marks)}",
            part,
        ).fetchone()[0]
        found["events.payload"] += conn.execute(
            f"SELECT count(*) FROM events WHERE memory_id IN ({marks}) AND payload != ?", [*part, TOMBSTONE]
        ).fetchone()[0]
    return found


# -- the journal of erasures in progress ------------------------------------------------------------------------
@dataclass(frozen=True)
class JournalEntry:
    id: str
    body: dict  # the receipt's body so far
    clusters: list[int]  # to relabel
    done: list[str]  # the steps finished


def journal_open(conn, entry: JournalEntry) -> None:
    conn.execute(
        "INSERT INTO erasure_journal (id, body, clusters, done) VALUES (?, ?, ?, ?)",
        (entry.id, json.dumps(entry.body), json.dumps(entry.clusters), json.dumps(entry.done)),
    )


def journal_save(conn, entry: JournalEntry) -> None:
    conn.execute(
        "UPDATE erasure_journal SET body = ?, done = ? WHERE id = ?",
        (json.dumps(entry.body), json.dumps(entry.done), entry.id),
    )


def journal_entries(conn, entry_id: str | None = None) -> list[JournalEntry]:
    """Erasures begun and not finished (or the one with this id), oldest first."""
    begun = "rowid" if conn.backend == "sqlite" else "CAST(body AS json)->>'erased_at', id"  # no rowid there
    rows = conn.execute(
        f"SELECT id, body, clusters, done FROM erasure_journal WHERE ? IS NULL OR id = ? ORDER BY {begun}",
        (entry_id, entry_id),
    ).fetchall()
    return [JournalEntry(i, json.loads(b), json.loads(c), json.loads(d)) for i, b, c, d in rows]


def journal_close(conn, entry_id: str) -> None:
    conn.execute("DELETE FROM erasure_journal WHERE id = ?", (entry_id,))


# -- the bytes: what each backend does beyond deleting rows --------------------------------------------------------
def erasure_lock(conn, lock_file: Path, wait: bool) -> AbstractContextManager[bool]:
    """The store's erasure lock, held by whoever runs an erasure: an flock on `lock_file` beside a SQLite file, an
    advisory lock of a PostgreSQL database (shared by every machine using it). Yields whether it was taken
    (`wait`: until it is); a crashed holder's lock is released by the kernel or the server."""
    if conn.backend == "postgres":
        return erasure_pg.erasure_lock(conn, wait)
    return erasure_sqlite.erasure_lock(lock_file, wait)


def delete_index_in_place(conn, on: bool) -> None:
    """Have the keyword index drop a deleted row's terms where they are (FTS5's `secure-delete`, a few ms a row, set
    back off in the same transaction). On PostgreSQL the terms are columns of the row and go with it."""
    if conn.backend == "sqlite":
        erasure_sqlite.fts_delete_in_place(conn, on)


def merge_index(conn) -> None:
    """Merge FTS5's segments, where deleted terms stay until merged. PostgreSQL's indexes are rebuilt when the
    tables are rewritten (`rewrite`)."""
    if conn.backend == "sqlite":
        erasure_sqlite.optimize_fts(conn)


def rewriting(conn) -> str:
    """What `rewrite` is doing, as a progress line."""
    if conn.backend == "postgres":
        return "rewriting the tables that held the erased rows"
    return "emptying the write-ahead logs and looking for stale copies"


def rewrite(conn, path: Path, texts: list[str] | None, kind: str, tell: Callable[[str], None]) -> list[str]:
    """Get the erased bytes of a database (`kind`: "memory" or "behavior") out of its files; what was rewritten.
    SQLite: the WAL emptied, the file VACUUMed only if a copy of `texts` is found in free space (or they are not
    known): its name then. PostgreSQL: VACUUM FULL of every table erasure touches: their names."""
    if conn.backend == "postgres":
        return erasure_pg.rewrite(conn, kind, tell)
    return erasure_sqlite.rewrite(conn, path, texts, kind, tell)


def guarantee(conn) -> str | None:
    """What a receipt must add about where copies of the erased bytes may remain: PostgreSQL's limits (a SQLite
    receipt needs none: `vacuumed` and the checks above cover every file)."""
    return erasure_pg.GUARANTEE if conn.backend == "postgres" else None
