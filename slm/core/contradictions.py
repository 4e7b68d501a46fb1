"""Claims and contradictions as callers see them: when a memory holds, what contradicts what, and settling it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from slm import validation
from slm.core.callers import Caller
from slm.errors import InvalidInput, NotFound

STATES = ("open", "resolved", "dismissed", None)
UNKNOWN_HINT = "list the contradictions with status all to see their ids"


class Contradictions:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.store = caller.store

    @property
    def claims(self):
        """The keeper that settles contradictions (imported on first need, with the claim rules)."""
        return self.store.claims

    @property
    def repo(self):
        """What reading claims needs: the session-start hook lists contradictions without the claim rules."""
        return self.store.claim_repo

    def memory_claims(self, memory_id: int) -> dict:
        row = self.caller.get(memory_id)
        valid_from, valid_to = self.repo.validity(row.id)
        claims = self.repo.of_memories([row.id])
        successors = {
            c.id: c.memory_id for c in self.repo.get_many([c.superseded_by for c in claims if c.superseded_by])
        }
        return {
            "valid_from": valid_from,
            "valid_to": valid_to,
            "current": valid_to is None,
            "claims": [asdict(c) | {"superseded_by_memory": successors.get(c.superseded_by)} for c in claims],
        }

    def listed(self, status: str | None, project: str | None, memory_id: int | None, limit: int) -> list[dict]:
        """Agents do not see the claims of quarantined memories or of others' private ones, nor a contradiction only
        such a claim made."""
        if status not in STATES:
            raise InvalidInput(f"unknown status {status!r}", "one of open, resolved, dismissed, or all")
        project = None if project is None else validation.clean_name(project, "project", "")
        memory_id = None if memory_id is None else validation.clean_id(memory_id)
        limit = validation.clean_limit(limit, "limit")
        found = [self.as_dict(row) for row in self.repo.contradictions(status, project, limit, memory_id)]
        if self.caller.is_owner:
            return found
        hidden = self.caller.hidden(sorted({c["memory_id"] for f in found for c in f["claims"]}))
        shown = [f | {"claims": [c for c in f["claims"] if c["memory_id"] not in hidden]} for f in found]
        return [f for f in shown if len({c["memory_id"] for c in f["claims"]}) >= 2]

    def one(self, contradiction_id: int) -> dict:
        row = self.repo.contradiction(validation.clean_id(contradiction_id, "contradiction id"))
        if row is None:
            raise NotFound(f"no contradiction with id {contradiction_id}", UNKNOWN_HINT, what="contradiction")
        return self.as_dict(row)

    def resolve(self, contradiction_id: int, keep: int | None, agent: str | None) -> dict:
        contradiction_id = validation.clean_id(contradiction_id, "contradiction id")
        keep = None if keep is None else validation.clean_id(keep)
        by = self.caller.name(agent)
        with self.store.conn.write_transaction():
            try:
                row = self.claims.resolve(contradiction_id, keep, self.caller.principal_named(by), datetime.now(UTC))
            except LookupError as err:
                raise NotFound(str(err), UNKNOWN_HINT, what="contradiction") from err
            except ValueError as err:
                raise InvalidInput(str(err), "keep one of its memories, or dismiss it") from err
            payload = {"contradiction": row.id, "status": row.status, "kept": keep}
            self.store.events.append([self.caller.event("contradiction.resolved", by, keep, payload)])
        return self.as_dict(row)

    def as_dict(self, row) -> dict:
        """The contradiction with each claim's memory text, author, time and trust."""
        claims = self.repo.get_many([i for i, _ in row.claims])
        by_id = {c.id: c for c in claims}
        memories = {m.id: m for m in self.store.repo.get_many(sorted({c.memory_id for c in claims}))}
        trusts = self.store.trust.memory_trusts(sorted(memories))
        carriers = []
        for claim_id, residual in row.claims:
            claim = by_id.get(claim_id)
            memory = memories.get(claim.memory_id) if claim else None
            if claim is None or memory is None:
                continue
            carriers.append(
                asdict(claim)
                | {"residual": residual, "text": memory.content, "agent": memory.agent}
                | {"time": memory.event_time or memory.created_at, "trust": trusts.get(memory.id, 1.0)}
            )
        return asdict(row) | {"claims": carriers}
