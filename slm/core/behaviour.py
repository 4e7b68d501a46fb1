"""What agents did, kept apart from what they know (behavior.db): recalls, feedback, uses, connections.

A *use* is what a recall's result is good for beyond being shown (issue 23): it was opened (`get`), updated, or
cited by a memory the same agent wrote soon after. A use is kept only when a recall by the same agent showed that
memory within `LINK_WINDOW`, linked to the latest such recall, so the learner knows the query it answered and the
rank it was shown at. Logging is best effort at the faces (the answer is already given) and costs one indexed read
of the agent's newest recalls; a store nobody recalled from never gets a behaviour database for it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from slm import validation
from slm.core.callers import Caller
from slm.errors import InvalidInput
from slm.recall import signals
from slm.recall.hits import Hit
from slm.recall.learning.replay import LINK_WINDOW  # a use, or feedback, answers the latest recall this recent

# A new memory cites a shown one that it names by id ("#12", "memory 12", "id: 12"), that shares this many of its
# entities, or that holds this share of the shown one's words (at least CITE_MIN_WORDS of them).
CITE_ENTITIES = 2
CITE_WORD_SHARE = 0.5
CITE_MIN_WORDS = 3
CITE_RECALLS = 5  # what a new memory may cite: the results of the agent's last 5 recalls (reading more costs ms)
_NAMED_ID = re.compile(r"(?:#|\bmemory\s+|\bid\s*[:=]?\s*)(\d{1,15})\b", re.IGNORECASE)
_WORD = re.compile(r"\w{4,}")
USE_KINDS = ("get", "update")  # what a face reports; cites are found by `written`


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
        return self.store.behavior.record_feedback(event, helpful, query, self._agent_id(agent), _since())

    def record_recall(
        self,
        query: str,
        k: int,
        hits: list[Hit],
        agent: str | None,
        session: str | None,
        project: str | None,
        workspace: str | None = None,
        base_ranks: list[int] | None = None,
    ) -> int:
        agent = self.caller.name(agent)
        return self.store.behavior.record_recall(
            time=validation.event_time(),
            query=query,
            k=k,
            results=[h.id for h in hits],
            agent=agent,
            protocol=self.caller.protocol,
            session=validation.clean_session(session, {}),
            project=None if project is None else validation.clean_name(project, "project", ""),
            agent_id=self._agent_id(agent),
            workspace=None if workspace is None else validation.clean_name(workspace, "workspace", ""),
            base_ranks=validation.clean_ranks(base_ranks, len(hits)) if base_ranks is not None else _base_ranks(hits),
        )

    def record_use(self, kind: str, memory_ids: list[int], agent: str | None, by: int | None) -> int:
        """Uses of `kind` ("get", "update": `by` the new version) of those of `memory_ids` a recall by this agent
        showed lately; how many were kept."""
        if kind not in USE_KINDS:
            raise InvalidInput(f"a use is one of {list(USE_KINDS)}, got {kind!r}", "cites are found by `written`")
        behavior = self.store.existing_behavior()
        if behavior is None:
            return 0
        agent = self.caller.name(agent)
        links = behavior.showing(agent, self._agent_id(agent), memory_ids, _since())
        now = validation.event_time()
        uses = [(now, links[i], i, kind, by) for i in dict.fromkeys(memory_ids) if i in links]
        return behavior.record_uses(uses) if uses else 0

    def written(self, memory_id: int, agent: str | None) -> int:
        """The memory `memory_id` the agent just wrote cites the memories its recent recalls showed that it names
        or repeats: a use ("cite") of each; how many."""
        behavior = self.store.existing_behavior()
        if behavior is None:
            return 0
        agent = self.caller.name(agent)
        shown = behavior.shown_since(agent, self._agent_id(agent), _since(), CITE_RECALLS)
        shown.pop(memory_id, None)
        if not shown:
            return 0
        cited = self._cited(memory_id, sorted(shown))
        now = validation.event_time()
        uses = [(now, shown[i], i, "cite", memory_id) for i in cited]
        return behavior.record_uses(uses) if uses else 0

    def signals(self) -> signals.Signals:
        """The labelled examples the behaviour store holds (`slm.recall.signals`); none without a behaviour store."""
        behavior = self.store.existing_behavior()
        if behavior is None:
            return signals.Signals([], signals.prior_propensities(1))
        return signals.collect(behavior, self.store.trust, self.store.repo)

    def _cited(self, memory_id: int, shown: list[int]) -> list[int]:
        rows = {row.id: row for row in self.store.repo.get_many([memory_id, *shown])}
        new = rows.get(memory_id)
        if new is None:
            return []
        named = {int(m) for m in _NAMED_ID.findall(new.content)}
        words = set(_WORD.findall(new.content.lower()))
        entities = {i: {e.id for e in found} for i, found in self.store.graph.entities_of([memory_id, *shown]).items()}
        own_entities = entities.get(memory_id, set())
        cited = []
        for i in shown:
            if i not in rows:
                continue
            theirs = set(_WORD.findall(rows[i].content.lower()))
            shared = len(theirs & words)
            if (
                i in named
                or len(own_entities & entities.get(i, set())) >= CITE_ENTITIES
                or (shared >= CITE_MIN_WORDS and shared >= CITE_WORD_SHARE * len(theirs))
            ):
                cited.append(i)
        return cited

    def _agent_id(self, agent: str) -> int | None:
        """The authenticated agent's id when the call acts in its name (another name it uses is only a name)."""
        verified = self.caller.verified_agent
        return verified.id if verified is not None and verified.name == agent else None

    def agent_connected(self, agent: str, client: dict | None) -> None:
        event = self.caller.event("agent.connected", self.caller.name(agent), None, validation.clean_meta(client or {}))
        with self.store.conn.write_transaction():
            self.store.events.append([event])


def _since() -> str:
    """The earliest time a recall a use answers may have been made at, as behavior.db writes times."""
    m = datetime.now(UTC) - LINK_WINDOW
    return f"{validation.format_time(m)[:-1]}.{m.microsecond:06d}Z"


def _base_ranks(hits: list[Hit]) -> list[int] | None:
    """The rank each hit had before the personal re-ranking moved it (its `learned` evidence); None if that did not
    run. The learner must know which order the user saw was its own doing, or it would learn to repeat it."""
    if not any("learned" in h.channels for h in hits):
        return None
    return [h.channels["learned"].rank if "learned" in h.channels else n for n, h in enumerate(hits, 1)]
