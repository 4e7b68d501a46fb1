"""What agents did, kept apart from what they know (behavior.db): recalls, feedback, connections."""

from __future__ import annotations

from datetime import UTC, datetime

from slm import validation
from slm.core.callers import Caller
from slm.errors import InvalidInput
from slm.recall.hits import Hit


class Behaviour:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.store = caller.store

    def feedback(self, memory_id: int, helpful: bool, query: str | None, agent: str | None) -> int:
        memory_id = validation.clean_id(memory_id)
        if not isinstance(helpful, bool):
            raise InvalidInput(f"helpful must be true or false, got {helpful!r}")
        if query is not None:
            query = validation.clean_text(query, "query", validation.MAX_QUERY_BYTES)
        self.caller.get(memory_id)
        agent = self.caller.name(agent)
        self.caller.only_visible([memory_id])
        if helpful:
            with self.store.conn.write_transaction():
                self.store.trust.note_helpful(memory_id, self.caller.principal_named(agent), datetime.now(UTC))
        event = self.caller.event("feedback.recorded", agent, memory_id, {"helpful": helpful})
        return self.store.behavior.record_feedback(event, helpful, query)

    def record_recall(self, query: str, k: int, hits: list[Hit], agent: str | None) -> None:
        self.store.behavior.record_recall(
            time=validation.event_time(),
            query=query,
            k=k,
            results=[h.id for h in hits],
            agent=self.caller.name(agent),
            protocol=self.caller.protocol,
        )

    def agent_connected(self, agent: str, client: dict | None) -> None:
        event = self.caller.event("agent.connected", self.caller.name(agent), None, validation.clean_meta(client or {}))
        with self.store.conn.write_transaction():
            self.store.events.append([event])
