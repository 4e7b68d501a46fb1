"""Erasure's SQLite-only part: FTS5 segments, the delete triggers, and getting the bytes out of the file.

`secure_delete` zeroes a deleted row where it is; FTS5 keeps deleted terms in older segments unless told to delete
them in place or merged; the WAL keeps old page images until it is checkpointed and emptied; a page rebalance can
leave a copy of a row in a page's free space, which is looked for here (the b-tree page scanner) and VACUUMed away
when found. `slm.storage.erasure` calls this module for a SQLite store; `erasure_pg` is PostgreSQL's counterpart.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from slm.storage import vectors
from slm.storage.connection import import_apsw

# What a delete trigger does row by row, done once when every row of its table goes (`delete_tables`): the table, the
# trigger, and the statement with the same effect (run before the rows go).
WHOLESALE = (
    ("memory_entities", "memory_entities_count_delete", "UPDATE entities SET memories = memories - g.n FROM (SELECT "
     "entity_id, count(*) AS n FROM memory_entities GROUP BY entity_id) AS g WHERE g.entity_id = entities.id"),
    ("chunks", "chunks_vector_delete", f"DELETE FROM {vectors.TABLE}"),
    ("memories", "memories_fts_delete", "INSERT INTO memories_fts (memories_fts) VALUES ('delete-all')"),
)  # fmt: skip


def delete_tables(conn, tables: list[str]) -> None:
    """Delete every row of `tables`, in order, with what a delete trigger would do per row done once
    (`WHOLESALE`; the trigger is dropped and made again from its own SQL in the caller's transaction). A cascade
    per memory took minutes at 100k, all with the write lock held."""
    triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    for table in tables:
        wholesale = [(trigger, whole) for owner, trigger, whole in WHOLESALE if owner == table and trigger in triggers]
        for trigger, whole in wholesale:
            conn.execute(f"DROP TRIGGER {trigger}")
            conn.execute(whole)
        conn.execute(f"DELETE FROM {table}")
        for trigger, _ in wholesale:
            conn.execute(triggers[trigger])


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


def rewrite(conn, path: Path, texts: list[str] | None, kind: str, tell: Callable[[str], None]) -> list[str]:
    """Checkpoint the WAL into the file and empty it (its frames hold old page images); then VACUUM, so that every
    page is written afresh, only if a piece of the erased texts is still in some page's free space, or if the
    texts are not known. The file's name if it was VACUUMed."""
    checkpoint(conn)
    if texts is not None and not stale_copies(conn, path, texts, TEXT_COLUMNS[kind]):
        return []
    tell(f"compacting {path.name}")
    compact(conn)
    return [path.name]


@contextmanager
def erasure_lock(lock_file: Path, wait: bool) -> Iterator[bool]:
    """An flock on `lock_file` (beside the store); yields whether it was taken (`wait`: until it is). The kernel
    drops it with the process that held it, however it died."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


# -- stale copies: what secure_delete does not reach ----------------------------------------------------------
PIECE = 16  # bytes of an erased text looked for at a time
TEXT_COLUMNS = {  # where each database keeps text a piece found in a page's free space may also belong to
    "memory": (("memories", "content"), ("memories", "meta"), ("memory_tags", "tag")),
    "behavior": (("recalls", "query"), ("feedback", "query"), ("events", "payload"), ("learned", "state")),
}
_BTREE_PAGES = (2, 5, 10, 13)  # interior index, interior table, leaf index, leaf table
_WORD = re.compile(r"\w{8,}")


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


def fts_consistent(conn) -> bool:
    """FTS5's own check that its index holds exactly the terms of the rows in `memories`."""
    apsw = import_apsw()
    try:
        conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)")
    except apsw.Error:
        return False
    return True
