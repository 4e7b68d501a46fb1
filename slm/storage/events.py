"""The event log: one row per change, appended inside the change's own transaction.

memory.db and behavior.db each hold an `events` table of this shape; readers merge the two streams.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Event:
    type: str
    agent: str
    protocol: str
    time: str
    memory_id: int | None = None
    payload: dict = field(default_factory=dict)
    id: int | None = None  # set once stored


class EventLog:
    def __init__(self, conn) -> None:
        self.conn = conn

    def append(self, events: list[Event]) -> None:
        """Store events; call inside the transaction of the change they describe."""
        self.conn.executemany(
            "INSERT INTO events (time, type, agent, protocol, memory_id, payload) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.time, e.type, e.agent, e.protocol, e.memory_id, json.dumps(e.payload, ensure_ascii=False))
                for e in events
            ],
        )

    def after(self, last_id: int = 0, *, agent: str | None = None, limit: int = 1000) -> list[Event]:
        """Events newer than `last_id`, oldest first."""
        where, params = "id > ?", [last_id]
        if agent is not None:
            where += " AND agent = ?"
            params.append(agent)
        return self._select(f"WHERE {where} ORDER BY id LIMIT ?", [*params, limit])

    def latest(self, *, agent: str | None = None, limit: int = 50) -> list[Event]:
        """The newest `limit` events, oldest first."""
        where, params = ("WHERE agent = ?", [agent]) if agent is not None else ("", [])
        return self._select(f"{where} ORDER BY id DESC LIMIT ?", [*params, limit])[::-1]

    def last_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]

    def count(self, type_: str | None = None) -> int:
        if type_ is None:
            return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM events WHERE type = ?", (type_,)).fetchone()[0]

    def _select(self, tail: str, params: list) -> list[Event]:
        rows = self.conn.execute(
            f"SELECT id, time, type, agent, protocol, memory_id, payload FROM events {tail}", params
        ).fetchall()
        return [
            Event(id=r[0], time=r[1], type=r[2], agent=r[3], protocol=r[4], memory_id=r[5], payload=json.loads(r[6]))
            for r in rows
        ]
