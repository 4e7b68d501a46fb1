"""The behaviour database (`behavior.db` beside `memory.db`): recalls and feedback, kept apart from memories.

What users and agents *did* can then be exported or erased without touching what they *know*.
"""

from __future__ import annotations

import json
from pathlib import Path

from slm.storage import migrations
from slm.storage.events import Event, EventLog


def behavior_path(memory_db: Path) -> Path:
    """`memory.db` -> `behavior.db`; any other `NAME.db` -> `NAME.behavior.db`, so stores never share one."""
    stem = "behavior" if memory_db.stem == "memory" else f"{memory_db.stem}.behavior"
    return memory_db.with_name(stem + ".db")


class BehaviorRepository:
    def __init__(self, conn, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.events = EventLog(conn)

    @classmethod
    def open(cls, location) -> BehaviorRepository:
        """Open (creating it if needed) and migrate the behaviour database of the store at `location`."""
        from slm.storage.db import open_behavior_db

        conn = open_behavior_db(location)
        try:
            migrations.migrate(conn, migrations.history_dir(conn, "behavior"))
        except BaseException:
            conn.close()
            raise
        return cls(conn, location.behavior_db)

    def close(self) -> None:
        self.conn.close()

    def record_feedback(self, event: Event, helpful: bool, query: str | None) -> int:
        """A feedback row and its `feedback.recorded` event, in one transaction."""
        with self.conn.write_transaction():
            feedback_id = self.conn.execute(
                "INSERT INTO feedback (time, memory_id, helpful, query, agent, protocol) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (event.time, event.memory_id, int(helpful), query, event.agent, event.protocol),
            ).fetchone()[0]
            self.events.append([event])
        return feedback_id

    def record_recall(self, *, time: str, query: str, k: int, results: list[int], agent: str, protocol: str) -> None:
        with self.conn.write_transaction():
            self.conn.execute(
                "INSERT INTO recalls (time, query, k, results, agent, protocol) VALUES (?, ?, ?, ?, ?, ?)",
                (time, query, k, json.dumps(results), agent, protocol),
            )

    def feedback_counts(self) -> dict[str, int]:
        helpful, unhelpful = self.conn.execute(
            "SELECT coalesce(sum(helpful), 0), coalesce(sum(1 - helpful), 0) FROM feedback"
        ).fetchone()
        return {"helpful": helpful, "unhelpful": unhelpful}

    def recall_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM recalls").fetchone()[0]

    # -- what the lifecycle folds in ------------------------------------------------------------------------------
    def last_ids(self) -> tuple[int, int]:
        """The newest recall and feedback ids (0 when there are none)."""
        return tuple(
            self.conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            for table in ("recalls", "feedback")
        )

    def recalls_after(self, after: int) -> list[tuple[int, str, str]]:
        """(id, time, results as JSON) of the recalls after id `after`, oldest first."""
        return self.conn.execute("SELECT id, time, results FROM recalls WHERE id > ? ORDER BY id", (after,)).fetchall()

    def feedback_after(self, after: int) -> list[tuple[int, str, int, int]]:
        """(id, time, memory id, helpful) of the feedback after id `after`, oldest first."""
        return self.conn.execute(
            "SELECT id, time, memory_id, helpful FROM feedback WHERE id > ? ORDER BY id", (after,)
        ).fetchall()
