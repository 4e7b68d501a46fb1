"""One stream of events from both databases: changes to memories (memory.db) and usage (behavior.db).

Following polls SQLite, so it sees commits from every process that writes the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from slm import validation
from slm.storage.events import Event, EventLog

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class FeedEvent:
    source: str  # "memory" or "behavior": which database (and id sequence) the event belongs to
    event: Event

    def to_dict(self) -> dict:
        e = self.event
        return {
            "source": self.source,
            "id": e.id,
            "time": e.time,
            "type": e.type,
            "agent": e.agent,
            "protocol": e.protocol,
            "memory_id": e.memory_id,
            "payload": e.payload,
        }


class EventFeed:
    def __init__(self, memory) -> None:
        self._memory = memory

    def _logs(self) -> dict[str, EventLog]:
        """Both logs; behavior.db only once it exists (reading the feed never creates it)."""
        logs = {"memory": self._memory.events}
        behavior = self._memory.existing_behavior()
        if behavior is not None:
            logs["behavior"] = behavior.events
        return logs

    def latest(self, *, limit: int = 50, agent: str | None = None) -> tuple[list[FeedEvent], dict[str, int]]:
        """The newest `limit` events of both databases, oldest first, and the cursors to `follow` from.

        The cursors are read before the events, so whatever is committed meanwhile is either listed or followed.
        """
        limit = validation.clean_limit(limit, "limit", 100_000)
        agent = None if agent is None else validation.clean_name(agent, "agent", "")
        logs = self._logs()
        cursors = {source: log.last_id() for source, log in logs.items()}
        merged = [FeedEvent(source, e) for source, log in logs.items() for e in log.latest(agent=agent, limit=limit)]
        listed = _in_time_order(merged)[-limit:]
        for item in listed:
            cursors[item.source] = max(cursors[item.source], item.event.id)
        return listed, cursors

    def follow(self, cursors: dict[str, int], *, agent: str | None = None) -> Iterator[FeedEvent]:
        """Events committed after `cursors`, as they come, forever."""
        agent = None if agent is None else validation.clean_name(agent, "agent", "")
        cursors = dict(cursors)
        while True:
            fresh = []
            for source, log in self._logs().items():
                events = log.after(cursors.get(source, 0), agent=agent)
                if events:
                    cursors[source] = events[-1].id
                fresh += [FeedEvent(source, e) for e in events]
            yield from _in_time_order(fresh)
            if not fresh:
                time.sleep(POLL_SECONDS)


def _in_time_order(events: list[FeedEvent]) -> list[FeedEvent]:
    return sorted(events, key=lambda f: (f.event.time, f.source, f.event.id))
