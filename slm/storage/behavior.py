"""The behaviour database (`behavior.db` beside `memory.db`): recalls and feedback, kept apart from memories.

What users and agents *did* can then be exported or erased without touching what they *know*.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from slm import faults
from slm.storage import migrations
from slm.storage.events import Event, EventLog


def behavior_path(memory_db: Path) -> Path:
    """`memory.db` -> `behavior.db`; any other `NAME.db` -> `NAME.behavior.db`, so stores never share one."""
    stem = "behavior" if memory_db.stem == "memory" else f"{memory_db.stem}.behavior"
    return memory_db.with_name(stem + ".db")


USE_KINDS = ("get", "update", "cite")
KEPT_LEARNED = ("settings",)  # learned state that holds no personal data (the user's switch): kept by erasures
RECENT_RECALLS = 50  # the newest recalls of an agent a use is matched against: older ones are past any window


@dataclass(frozen=True)
class RecallRow:
    """A recall as the signals read it: who asked what, in which context, and what it showed, best first.

    `workspace` is the project the caller was working in when it named none to filter by (`project`); `base_ranks`,
    parallel to `results`, the rank (1 = first) each had before the personal re-ranking, None when the shown order
    is the base order (learning was not applied)."""

    id: int
    time: str
    query: str
    results: list[int]
    agent: str
    agent_id: int | None
    protocol: str
    session: str | None
    project: str | None
    workspace: str | None = None
    base_ranks: list[int] | None = None


@dataclass(frozen=True)
class UseRow:
    recall_id: int
    memory_id: int
    kind: str
    time: str


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    time: str
    memory_id: int
    helpful: bool
    agent: str
    agent_id: int | None
    protocol: str
    recall_id: int | None


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

    def record_feedback(
        self, event: Event, helpful: bool, query: str | None, agent_id: int | None = None, since: str | None = None
    ) -> int:
        """A feedback row and its `feedback.recorded` event, in one transaction; linked to the latest recall by the
        same agent since `since` that showed the memory, if any (None: not linked)."""
        with self.conn.write_transaction():
            recall_id = None
            if since is not None:
                recall_id = self.showing(event.agent, agent_id, [event.memory_id], since).get(event.memory_id)
            feedback_id = self.conn.execute(
                "INSERT INTO feedback (time, memory_id, helpful, query, agent, protocol, agent_id, recall_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (event.time, event.memory_id, int(helpful), query, event.agent, event.protocol, agent_id, recall_id),
            ).fetchone()[0]
            self.events.append([event])
        return feedback_id

    def record_recall(
        self,
        *,
        time: str,
        query: str,
        k: int,
        results: list[int],
        agent: str,
        protocol: str,
        session: str | None = None,
        project: str | None = None,
        agent_id: int | None = None,
        workspace: str | None = None,
        base_ranks: list[int] | None = None,
    ) -> int:
        """A recall and its context; its id. `base_ranks` (parallel to `results`, checked by the caller): the rank
        each result had before the personal re-ranking; None when it did not move them."""
        ranks = None if base_ranks is None else json.dumps(base_ranks)
        with self.conn.write_transaction():
            return self.conn.execute(
                "INSERT INTO recalls (time, query, k, results, agent, protocol, session, project, agent_id, workspace, "
                "base_ranks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (time, query, k, json.dumps(results), agent, protocol, session, project, agent_id, workspace, ranks),
            ).fetchone()[0]

    # -- uses of what a recall showed -----------------------------------------------------------------------------
    def showing(self, agent: str, agent_id: int | None, memory_ids: list[int], since: str) -> dict[int, int]:
        """For each of `memory_ids` some recall showed, the id of the latest recall by this agent (name and
        authenticated id alike) at or after `since` that showed it."""
        shown = self.shown_since(agent, agent_id, since)
        return {i: shown[i] for i in memory_ids if i in shown}

    def shown_since(
        self, agent: str, agent_id: int | None, since: str, recalls: int = RECENT_RECALLS
    ) -> dict[int, int]:
        """Every memory the agent's latest `recalls` recalls at or after `since` showed: memory id -> the latest
        recall showing it."""
        rows = self.conn.execute(
            "SELECT id, results FROM recalls WHERE agent = ? AND coalesce(agent_id, 0) = ? AND time >= ? "
            "ORDER BY id DESC LIMIT ?",
            (agent, agent_id or 0, since, recalls),
        ).fetchall()
        found: dict[int, int] = {}
        for recall_id, results in rows:
            for memory_id in json.loads(results):
                found.setdefault(memory_id, recall_id)
        return found

    def record_uses(self, uses: list[tuple[str, int, int, str, int | None]]) -> int:
        """(time, recall id, memory id, kind, by id) rows, all or none; how many."""
        with self.conn.write_transaction():
            for use in uses:
                self.conn.execute(
                    "INSERT INTO uses (time, recall_id, memory_id, kind, by_id) VALUES (?, ?, ?, ?, ?)", use
                )
                faults.step("behavior.use")  # inside the transaction: a crash here must leave none of them
        return len(uses)

    # -- what the signals read ------------------------------------------------------------------------------------
    def recalls_since(self, after: int = 0) -> list[RecallRow]:
        """The recalls after id `after`, oldest first, with their context."""
        rows = self.conn.execute(f"SELECT {_RECALL_COLUMNS} FROM recalls WHERE id > ? ORDER BY id", (after,))
        return [_recall_row(r) for r in rows.fetchall()]

    def session_recalls(self, session: str, since: str, limit: int) -> list[RecallRow]:
        """The latest `limit` recalls of `session` made at or after `since`, oldest first: the context a recall of
        that session is made in (read through the (session, id) index: a recall reads it)."""
        rows = self.conn.execute(
            f"SELECT {_RECALL_COLUMNS} FROM recalls WHERE session = ? AND time >= ? ORDER BY id DESC LIMIT ?",
            (session, since, limit),
        ).fetchall()
        return [_recall_row(r) for r in reversed(rows)]

    def used_in(self, recall_ids: list[int]) -> list[int]:
        """The memories used (opened, updated, cited) after these recalls, each once, in the order first used."""
        if not recall_ids:
            return []
        marks = ",".join("?" * len(recall_ids))
        rows = self.conn.execute(f"SELECT memory_id FROM uses WHERE recall_id IN ({marks}) ORDER BY id", recall_ids)
        return list(dict.fromkeys(r[0] for r in rows))

    def uses_since(self, after: int = 0) -> list[UseRow]:
        """The uses of the recalls after id `after`, oldest first."""
        rows = self.conn.execute(
            "SELECT recall_id, memory_id, kind, time FROM uses WHERE recall_id > ? ORDER BY id", (after,)
        ).fetchall()
        return [UseRow(*r) for r in rows]

    def feedback_rows(self) -> list[FeedbackRow]:
        """Every feedback row, oldest first, with who gave it and the recall it answers (None: not linked)."""
        rows = self.conn.execute(
            "SELECT id, time, memory_id, helpful, agent, agent_id, protocol, recall_id FROM feedback ORDER BY id"
        ).fetchall()
        return [FeedbackRow(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows]

    def use_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(USE_KINDS, 0)
        counts.update(self.conn.execute("SELECT kind, count(*) FROM uses GROUP BY kind").fetchall())
        return counts

    def feedback_counts(self) -> dict[str, int]:
        helpful, unhelpful = self.conn.execute(
            "SELECT coalesce(sum(helpful), 0), coalesce(sum(1 - helpful), 0) FROM feedback"
        ).fetchone()
        return {"helpful": helpful, "unhelpful": unhelpful}

    def recall_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM recalls").fetchone()[0]

    # -- the learner's state ---------------------------------------------------------------------------------------
    def learned_state(self, name: str) -> dict | None:
        """The learner's state called `name` ("model", "settings", ...), None if it has none. Read on every recall:
        one lookup by primary key."""
        row = self.conn.execute("SELECT state FROM learned WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def learned_version(self, name: str) -> str | None:
        """When the state called `name` was last saved (None: there is none): a reader that keeps the decoded state
        reads it again only when this changes (decoding a large state costs far more than this lookup)."""
        row = self.conn.execute("SELECT updated_at FROM learned WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def save_learned_state(self, name: str, state: dict, time: str) -> None:
        """Replace (or create) the state called `name`; `time` as `validation.event_time` writes it, which an
        erasure's receipt is compared with (state saved after an erasure is not a leftover of it)."""
        if not isinstance(state, dict):
            raise TypeError(f"learned state is a JSON object (a dict), got {type(state).__name__}")
        with self.conn.write_transaction():
            self.conn.execute(
                "INSERT INTO learned (name, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (name, json.dumps(state, ensure_ascii=False, separators=(",", ":")), time),
            )

    def update_learned_state(self, name: str, state: dict, time: str, version: str) -> bool:
        """Replace the state called `name` only if it is still the one saved at `version` (`learned_version`);
        whether it was. What a learner trains on may be erased while it trains: an erasure deletes the learned state
        after the memories and behaviour rows it removes, so a learner that read the version before what it trains
        on, and saves with it, never puts back state derived from what was erased (nor overwrites another's).
        Before the first training there is no version to hold on to: save a placeholder first."""
        if not isinstance(state, dict):
            raise TypeError(f"learned state is a JSON object (a dict), got {type(state).__name__}")
        with self.conn.write_transaction():
            self.conn.execute(
                "UPDATE learned SET state = ?, updated_at = ? WHERE name = ? AND updated_at = ?",
                (json.dumps(state, ensure_ascii=False, separators=(",", ":")), time, name, version),
            )
            return self.conn.changes() == 1

    def delete_learned_state(self, keep: Iterable[str] = ()) -> int:
        """Delete every learned state but those named in `keep` (a reset keeps "settings"); how many went."""
        with self.conn.write_transaction():
            return delete_learned(self.conn, keep)

    def learned_names(self) -> list[str]:
        """The names of the learned states there are, sorted."""
        return [r[0] for r in self.conn.execute("SELECT name FROM learned ORDER BY name")]

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


_RECALL_COLUMNS = "id, time, query, results, agent, agent_id, protocol, session, project, workspace, base_ranks"


def _recall_row(r: tuple) -> RecallRow:
    return RecallRow(*r[:3], json.loads(r[3]), *r[4:10], None if r[10] is None else json.loads(r[10]))


def delete_learned(conn, keep: Iterable[str] = ()) -> int:
    """Delete the learned states not named in `keep`, in the caller's transaction; how many went (erasure's too)."""
    kept = list(dict.fromkeys(keep))
    where = f"WHERE name NOT IN ({','.join('?' * len(kept))})" if kept else ""
    conn.execute(f"DELETE FROM learned {where}", kept)
    return conn.changes()
