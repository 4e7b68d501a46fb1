"""SQL for erasure: choosing what goes, the rows derived from it, and getting the bytes out of the files.

Deleting a memory cascades to its tags, chunks (and through a trigger their vectors), entity links, edges,
cluster membership, trust, Gaussian, lifecycle and claims. What a cascade cannot reach is here: event payloads,
entities and contradictions left without memories, behaviour rows, FTS5 segments that still hold deleted terms,
and old page images in the WAL.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from slm.storage import health, vectors
from slm.storage.connection import import_apsw
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
    claims, and the identity keys of projects left without memories (they name folders and remote URLs; an
    erasure of everything leaves none)."""
    conn.execute("DELETE FROM entities WHERE memories <= 0")
    entities = conn.changes()
    conn.execute(
        "DELETE FROM contradictions WHERE NOT EXISTS "
        "(SELECT 1 FROM contradiction_claims cc WHERE cc.contradiction_id = contradictions.id)"
    )
    contradictions = conn.changes()
    keys = ProjectRepository(conn).drop_orphan_keys()
    return {"entities": entities, "contradictions": contradictions, "project keys": keys}


def holds_only(conn, ids: list[int]) -> bool:
    """Whether `ids` are every memory of the store (an erasure of everything, with nothing written meanwhile)."""
    return conn.execute("SELECT count(*) FROM memories").fetchone()[0] == len(ids)


def count_all(conn) -> dict[str, int]:
    """`count_rows` of an erasure of every memory: each derived table whole (an edge once, where chunks of ids
    would count an edge between two chunks twice), and the events that name a memory."""
    counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table, _ in DERIVED}
    named = "SELECT count(*) FROM events WHERE memory_id IN (SELECT id FROM memories)"
    return counts | {"events": conn.execute(named).fetchone()[0]}


# What a delete trigger does row by row, done once when every row of its table goes (`clear_all`): the table, the
# trigger, and the statement with the same effect (run before the rows go).
WHOLESALE = (
    ("memory_entities", "memory_entities_count_delete", "UPDATE entities SET memories = memories - g.n FROM (SELECT "
     "entity_id, count(*) AS n FROM memory_entities GROUP BY entity_id) AS g WHERE g.entity_id = entities.id"),
    ("chunks", "chunks_vector_delete", f"DELETE FROM {vectors.TABLE}"),
    ("memories", "memories_fts_delete", "INSERT INTO memories_fts (memories_fts) VALUES ('delete-all')"),
)  # fmt: skip


def clear_all(conn) -> int:
    """Delete every memory and every row derived from one, a table at a time: claims and contradictions first (no
    claim is left to check against another), the memories last, with nothing left to cascade to, and what a delete
    trigger would do per row done once (`WHOLESALE`; the trigger is dropped and made again from its own SQL in the
    caller's transaction). A cascade per memory took minutes at 100k, all with the write lock held. Returns the
    contradictions dropped."""
    conn.execute("DELETE FROM contradiction_claims")
    conn.execute("DELETE FROM contradictions")
    dropped = conn.changes()
    triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    for table in dict.fromkeys(table for table, _ in reversed(DERIVED)):
        wholesale = [(trigger, whole) for owner, trigger, whole in WHOLESALE if owner == table and trigger in triggers]
        for trigger, whole in wholesale:
            conn.execute(f"DROP TRIGGER {trigger}")
            conn.execute(whole)
        conn.execute(f"DELETE FROM {table}")
        for trigger, _ in wholesale:
            conn.execute(triggers[trigger])
    return dropped


def _returned(conn, marks: str) -> str:
    """The condition that a row of `recalls` returned one of the memories bound to `marks`."""
    return f"EXISTS (SELECT 1 FROM {conn.dialect.json_values('recalls.results', 'j')} WHERE j.value IN ({marks}))"


def purge_behavior(conn, ids: list[int]) -> dict[str, int]:
    """Behaviour rows about `ids`: feedback on them, recalls that returned them (the query may quote them),
    and the payloads of their events."""
    counts = {"feedback": 0, "recalls": 0}
    for part in chunks(ids):
        marks = _marks(part)
        conn.execute(f"DELETE FROM feedback WHERE memory_id IN ({marks})", part)
        counts["feedback"] += conn.changes()
        conn.execute(
            f"DELETE FROM recalls WHERE {_returned(conn, marks)}",
            part,
        )
        counts["recalls"] += conn.changes()
    counts["events"] = tombstone_events(conn, ids)
    return counts


def count_behavior(conn, ids: list[int] | None) -> dict[str, int]:
    """The behaviour rows an erasure of `ids` (None: of the whole behaviour database) deletes or empties."""
    if ids is None:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("feedback", "recalls", "events")}
    found = behavior_leftovers(conn, ids)
    return {"feedback": found["feedback"], "recalls": found["recalls"], "events": found["events.payload"]}


def behavior_until(conn, time: str) -> dict[str, int]:
    """The rows of each behaviour table dated up to `time`."""
    return {
        t: conn.execute(f"SELECT count(*) FROM {t} WHERE time <= ?", (time,)).fetchone()[0]
        for t in ("feedback", "recalls", "events")
    }


def clear_behavior(conn) -> dict[str, int]:
    """Every row of the behaviour database."""
    counts = {}
    for table in ("feedback", "recalls", "events"):
        conn.execute(f"DELETE FROM {table}")
        counts[table] = conn.changes()
    return counts


def fts_delete_in_place(conn, on: bool) -> None:
    """FTS5's `secure-delete`: with it on, deleting a row removes its entries from the segments that hold them
    (by default a delete only adds a tombstone, and the terms stay in older segments until a merge). A few ms a
    row, so for small erasures; kept in the table's config, so set back off in the same transaction."""
    conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('secure-delete', ?)", (int(on),))


def optimize_fts(conn) -> None:
    """Merge the FTS5 index into one segment: a delete only adds a marker, and the deleted terms stay in the
    older segments until they are merged."""
    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")


def compact(conn, deadline_seconds: float = 120.0) -> None:
    """Move every committed page into the database file and empty the WAL (its frames hold old page images),
    then VACUUM so that every page is written afresh, and empty the WAL VACUUM itself wrote.

    A checkpoint that readers or writers block is retried until `deadline_seconds`.
    """
    checkpoint(conn, deadline_seconds)
    conn.execute("VACUUM")
    checkpoint(conn, deadline_seconds)


def checkpoint(conn, deadline_seconds: float = 120.0) -> None:
    """`PRAGMA wal_checkpoint(TRUNCATE)`: every committed page into the database file, the WAL emptied."""
    apsw = import_apsw()
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except apsw.BusyError:
            busy = 1
        if not busy:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("other processes kept the database busy: the WAL could not be emptied")
        time.sleep(0.05)


# -- stale copies: what secure_delete does not reach ----------------------------------------------------------
PIECE = 16  # bytes of an erased text looked for at a time
TEXT_COLUMNS = {  # where each database keeps text a piece found in a page's free space may also belong to
    "memory": (("memories", "content"), ("memories", "meta"), ("memory_tags", "tag")),
    "behavior": (("recalls", "query"), ("feedback", "query"), ("events", "payload")),
}
_BTREE_PAGES = (2, 5, 10, 13)  # interior index, interior table, leaf index, leaf table
_WORD = re.compile(r"\w{8,}")


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


def stale_copies(conn, path: Path, texts: Iterable[str], columns: tuple[tuple[str, str], ...]) -> bool:
    """Whether a piece of `texts` is still in the free space of the b-tree pages of the database file at `path`
    or its WAL and in no row of `columns` (text another row holds is not a trace of the erasure). Stops at the
    first: one is reason enough to VACUUM, and each costs a scan of the rows.

    `secure_delete` zeroes a deleted cell where it is, but when SQLite rebalances a page it rewrites the cells
    and leaves the bytes between the cell pointers and the cells as they were: a copy of a cell that moved away
    stays there, and deleting the row later does not reach it. Nowhere else does a deleted row's byte survive
    a checkpoint: freed pages and cells are zeroed, overflow pages and freelist trunks start with a page number
    (so are never taken for b-tree pages here). Call it after a `checkpoint`.
    """
    free = free_space(path) + b"\0" + free_space(path.with_name(path.name + "-wal"), wal=True)
    found = {piece for piece in _pieces(texts) if piece in free}
    return any(not _held(conn, piece, columns) for piece in found)


def free_space(path: Path, *, wal: bool = False) -> bytes:
    """The non-zero bytes between the cell pointers and the cells of every b-tree page of a database file (or of
    every page image in a WAL file), joined by zeros. Read, not mapped: the file may shrink meanwhile."""
    if not path.exists():
        return b""
    gaps = []
    with path.open("rb") as handle:
        head = handle.read(32 if wal else 100)
        if len(head) < (32 if wal else 100):
            return b""
        size = int.from_bytes(head[8:12] if wal else head[16:18], "big")
        size = 65536 if size == 1 else size  # a database header says 1 for 64 KB
        frame = size + 24 if wal else size
        handle.seek(32 if wal else 0)
        first = not wal
        while block := handle.read(frame * 256):
            for at in range(0, len(block) - frame + 1, frame):
                if wal:  # a frame: its page number, 16 more bytes of header, the page
                    first = int.from_bytes(block[at : at + 4], "big") == 1
                gaps.append(_gap(block, at + frame - size, size, first))
                first = first and wal
    return b"\0".join(gap for gap in gaps if gap)


def _gap(data: bytes, at: int, size: int, first: bool) -> bytes:
    head = at + (100 if first else 0)  # page 1 starts with the database header
    kind = data[head]
    if kind not in _BTREE_PAGES:
        return b""
    cells = int.from_bytes(data[head + 3 : head + 5], "big")
    start = head + (12 if kind in (2, 5) else 8) + 2 * cells
    end = at + min(int.from_bytes(data[head + 5 : head + 7], "big") or 65536, size)
    return data[start:end].strip(b"\0") if end > start else b""


def _pieces(texts: Iterable[str]) -> set[bytes]:
    """Pieces of each text to look for: PIECE bytes at every half PIECE (a stale run of 1.5 PIECE holds one whole),
    a shorter text whole, and each long word lowercased, as FTS5 keeps it."""
    pieces: set[bytes] = set()
    for text in texts:
        raw = text.encode("utf-8")
        if len(raw) <= PIECE:
            pieces.add(raw)
        else:
            pieces.update(raw[i : i + PIECE] for i in range(0, len(raw) - PIECE + 1, PIECE // 2))
            pieces.add(raw[-PIECE:])
        pieces.update(word.lower().encode("utf-8") for word in _WORD.findall(text))
    return {piece for piece in pieces if len(piece) >= 8}  # shorter ones turn up by chance


def _held(conn, piece: bytes, columns: tuple[tuple[str, str], ...]) -> bool:
    """Whether some row still holds `piece` (as is or, for a word, in any letter case)."""
    for where in ("instr(CAST({c} AS BLOB), ?) > 0", "instr(lower({c}), CAST(? AS TEXT)) > 0"):
        for table, column in columns:
            query = f"SELECT 1 FROM {table} WHERE {where.format(c=column)} LIMIT 1"
            if conn.execute(query, (piece,)).fetchone():
                return True
    return False


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


def fts_consistent(conn) -> bool:
    """FTS5's own check that its index holds exactly the terms of the rows in `memories`."""
    apsw = import_apsw()
    try:
        conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)")
    except apsw.Error:
        return False
    return True


def behavior_leftovers(conn, ids: list[int]) -> dict[str, int]:
    found = {"feedback": 0, "recalls": 0, "events.payload": 0}
    for part in chunks(ids):
        marks = _marks(part)
        found["feedback"] += conn.execute(
            f"SELECT count(*) FROM feedback WHERE memory_id IN ({marks})", part
        ).fetchone()[0]
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
