"""The `memory_lifecycle` table: each memory's position, zone and the use it is moved by.

A step reads and writes every current memory at once, as numpy arrays, in the caller's one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slm.storage.settings import get_setting, set_settings

ARCHIVED = "archived"
_ROW = ("position", "importance", "born", "uses", "last_used")


@dataclass(frozen=True)
class LifecycleStates:
    """Every current memory's lifecycle row, as arrays in memory id order."""

    ids: np.ndarray
    position: np.ndarray
    born: np.ndarray
    uses: np.ndarray
    last_used: np.ndarray
    importance: np.ndarray
    corroborations: np.ndarray


class LifecycleRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    def add(self, rows: list[tuple[int, float, float]]) -> None:
        """(memory id, importance, born in days) of new memories: at the centre, used once (by being stored)."""
        self.conn.executemany(
            "INSERT INTO memory_lifecycle (memory_id, importance, born, last_used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(memory_id, importance, born, born) for memory_id, importance, born in rows],
        )

    def states(self) -> LifecycleStates:
        rows = self.conn.execute(
            "SELECT l.memory_id, l.position, l.born, l.uses, l.last_used, l.importance "
            "FROM memory_lifecycle AS l JOIN memories AS m ON m.id = l.memory_id "
            "WHERE m.superseded_by IS NULL ORDER BY l.memory_id"
        ).fetchall()
        columns = np.array(rows, np.float64).reshape(len(rows), 6).T
        ids = columns[0].astype(np.int64)
        corroborated = self.conn.execute(
            "SELECT memory_id, count(*) FROM memory_endorsements WHERE kind = 'corroborated' GROUP BY memory_id"
        ).fetchall()
        counts = np.zeros(len(ids))
        if corroborated and len(ids):
            found = np.array(corroborated, np.int64).reshape(len(corroborated), 2)
            at = np.searchsorted(ids, found[:, 0]).clip(0, len(ids) - 1)
            current = ids[at] == found[:, 0]  # superseded memories' endorsements are not ours to count
            counts[at[current]] = found[current, 1]
        return LifecycleStates(ids, *columns[1:], counts)

    def use(self, uses: dict[int, tuple[float, float | None]]) -> None:
        """Add weighted uses: memory id -> (uses, time of the last whole one in days, or None to keep the last
        use); unknown ids are skipped."""
        self.conn.executemany(
            "UPDATE memory_lifecycle SET uses = uses + ?, "
            f"last_used = {self.conn.dialect.greatest('last_used', 'coalesce(?, last_used)')} "
            "WHERE memory_id = ?",
            [(count, last, memory_id) for memory_id, (count, last) in uses.items()],
        )

    def save(self, ids: np.ndarray, positions: np.ndarray, zones: np.ndarray) -> None:
        self.conn.executemany(
            "UPDATE memory_lifecycle SET position = ?, zone = ? WHERE memory_id = ?",
            zip(positions.tolist(), zones.tolist(), ids.tolist(), strict=True),
        )

    def positions(self, ids: list[int]) -> dict[int, float]:
        found: dict[int, float] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            query = f"SELECT memory_id, position FROM memory_lifecycle WHERE memory_id IN ({marks})"
            found |= dict(self.conn.execute(query, part).fetchall())
        return found

    def row(self, memory_id: int) -> dict | None:
        found = self.conn.execute(
            "SELECT position, importance, born, uses, last_used FROM memory_lifecycle WHERE memory_id = ?",
            (memory_id,),
        ).fetchone()
        return None if found is None else dict(zip(_ROW, found, strict=True))

    def archived_ids(self) -> np.ndarray:
        rows = self.conn.execute("SELECT memory_id FROM memory_lifecycle WHERE zone = ?", (ARCHIVED,)).fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, len(rows))

    def nearest_archive(self, limit: int) -> list[tuple[int, float, str]]:
        """(memory id, position, zone) of the current memories not archived, the farthest from the centre first."""
        return self.conn.execute(
            "SELECT l.memory_id, l.position, l.zone FROM memory_lifecycle AS l JOIN memories AS m "
            "ON m.id = l.memory_id WHERE m.superseded_by IS NULL AND l.zone != ? "
            "ORDER BY abs(l.position) DESC, l.memory_id LIMIT ?",
            (ARCHIVED, limit),
        ).fetchall()

    def zone_counts(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT l.zone, count(*) FROM memory_lifecycle AS l JOIN memories AS m ON m.id = l.memory_id "
            "WHERE m.superseded_by IS NULL GROUP BY l.zone"
        )
        return dict(rows.fetchall())

    def get_number(self, key: str, default: float) -> float:
        value = get_setting(self.conn, key)
        return default if value is None else float(value)

    def set_numbers(self, values: dict[str, float]) -> None:
        set_settings(self.conn, {key: repr(value) for key, value in values.items()})
