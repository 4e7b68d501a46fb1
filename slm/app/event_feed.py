"""One stream of events from both databases: changes to memories (memory.db) and usage (behavior.db).

Following polls SQLite, so it sees commits from every process that writes the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from slm.app import validation
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
        self._logs: dict[str, EventLog] = {"memory": memory.events, "behavior": memory.behavior.events}

    def latest(self, *, limit: int = 50, agent: str | None = None) -> list[FeedEvent]:
        """The newest `limit` events of both databases, oldest first."""
        limit = validation.clean_limit(limit, "limit", 100_000)
        agent = None if agent is None else validation.clean_name(agent, "agent", "")
        merged = [
            FeedEvent(source, e) for source, log in self._logs.items() for e in log.latest(agent=agent, limit=limit)
        ]
        return _in_time_order(merged)[-limit:]

    def follow(self, *, agent: str | None = None, since_start: bool = False) -> Iterator[FeedEvent]:
        """Events as they are committed, forever; from now on unless `since_start`."""
        agent = None if agent is None else validation.clean_name(agent, "agent", "")
        cursors = {source: 0 if since_start else log.last_id() for source, log in self._logs.items()}
        while True:
            fresh = []
            for source, log in self._logs.items():
                events = log.after(cursors[source], agent=agent)
                if events:
                    cursors[source] = events[-1].id
                fresh += [FeedEvent(source, e) for e in events]
            yield from _in_time_order(fresh)
            if not fresh:
                time.sleep(POLL_SECONDS)


def _in_time_order(events: list[FeedEvent]) -> list[FeedEvent]:
    return sorted(events, key=lambda f: (f.event.time, f.source, f.event.id))
