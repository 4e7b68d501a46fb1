"""Trust as the user reviews it: who is trusted and why, the quarantine, and the user's verdicts (approve,
reject) on what agents wrote."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime

from slm import validation
from slm.core.callers import Caller
from slm.core.writer import Writer
from slm.errors import InvalidInput, NotFound
from slm.storage.memories import MemoryRow
from slm.trust import model as trust_model


class Reviews:
    def __init__(self, caller: Caller, writer: Writer) -> None:
        self.caller = caller
        self.writer = writer
        self.store = caller.store

    def report(self) -> list[dict]:
        """Every principal that wrote or was scored, and every registered agent: trust, evidence, memories."""
        trust = self.store.trust
        counts = trust.repo.memory_counts()
        states = {state.principal: state for state in trust.repo.states()}
        principals = set(counts) | set(states) | {f"agent:{a.id}" for a in self.store.agents.list()}
        summaries = [self._summary(p, states.get(p), counts.get(p, 0)) for p in principals]
        return sorted(summaries, key=lambda row: (row["trust"], row["principal"]))

    def explain(self, agent: str, limit: int) -> list[dict]:
        """The identities behind a name (its authenticated agent, callers that only claimed the name, the user),
        each with its trust, its evidence by signal and its newest signals with their reasons."""
        name = validation.clean_name(agent, "agent", "")
        limit = validation.clean_limit(limit, "limit", 10_000)
        repo = self.store.trust.repo
        counts = repo.memory_counts()
        registered = self.store.agents.by_name(name)
        principals = [f"agent:{registered.id}"] if registered else []
        if name == trust_model.USER:
            principals.append(trust_model.USER)
        if repo.state(f"name:{name}") or counts.get(f"name:{name}"):
            principals.append(f"name:{name}")
        if not principals:
            raise NotFound(
                f"no agent named {name!r} has written a memory or been scored", "see the trust report", what="principal"
            )
        explained = []
        for principal in principals:
            summary = self._summary(principal, repo.state(principal), counts.get(principal, 0))
            summary["prior"] = asdict(trust_model.prior_of(principal)) if principal != trust_model.USER else None
            summary["by_signal"] = repo.signal_counts(principal)
            summary["recent"] = [asdict(row) for row in repo.signals_of(principal, limit)]
            explained.append(summary)
        return explained

    def _summary(self, principal: str, state, memories: int) -> dict:
        if principal == trust_model.USER:
            alpha = beta = None
        else:
            fresh = trust_model.fresh(principal)
            alpha, beta = (state.alpha, state.beta) if state else (fresh.alpha, fresh.beta)
        name, member = self._name_of(principal)
        return {
            "principal": principal,
            "name": name,
            "member": member,  # the person an authenticated agent acts for on a team's store, if any
            "kind": trust_model.kind_of(principal),
            "trust": self.store.trust.trust(principal),
            "alpha": alpha,
            "beta": beta,
            "signals": state.signals if state else 0,
            "drift": state.drift if state else 0.0,
            "memories": memories,
            "updated_at": state.updated_at if state else None,
        }

    def _who(self, principal: str) -> dict:
        name, member = self._name_of(principal)
        return {"principal": principal, "name": name, "member": member}

    def _name_of(self, principal: str) -> tuple[str, str | None]:
        """The principal's name, and its agent's member."""
        kind, _, rest = principal.partition(":")
        if kind == "agent":
            agent = self.store.agents.by_id(int(rest))
            return (agent.name, agent.member) if agent else (principal, None)
        return rest or principal, None

    def quarantine(self) -> list[tuple[MemoryRow, float]]:
        scored = self.store.trust.quarantined()
        rows = {row.id: row for row in self.store.repo.get_many([i for i, _ in scored])}
        return [(rows[i], trust) for i, trust in scored if i in rows]

    def memory_trust(self, memory_id: int) -> dict | None:
        trust = self.store.trust
        row = trust.repo.memory(self.caller.get(memory_id).id)
        if row is None:
            return None  # not possible through the API: every write makes the record in its transaction
        value = trust.memory_trusts([row.memory_id])[row.memory_id]
        return {
            "trust": value,
            "quarantined": trust_model.quarantined(value),
            "approved": row.approved,
            "author": self._who(row.principal)
            | {"kind": trust_model.kind_of(row.principal), "trust": trust.trust(row.principal)},
            "vouched_by": [self._who(p) for p in row.endorsers],
            "doubt": row.doubt,
        }

    def without_quarantined(self, rows: list[MemoryRow]) -> list[MemoryRow]:
        hidden = self.caller.quarantined([row.id for row in rows])
        return [row for row in rows if row.id not in hidden]

    def approve(self, memory_ids: Iterable[int]) -> list[int]:
        self.caller.owner_only("approve memories")
        ids = list(dict.fromkeys(validation.clean_id(i) for i in memory_ids))
        now = datetime.now(UTC)
        with self.store.conn.write_transaction():
            for memory_id in ids:
                if self.caller.get(memory_id).superseded_by is not None:
                    raise InvalidInput(f"memory {memory_id} was updated", "approve its current version")
                self.store.trust.approve(memory_id, now)
            user = validation.DEFAULT_AGENT
            self.store.events.append([self.caller.event("memory.approved", user, i) for i in ids])
        return ids

    def reject(self, memory_ids: Iterable[int]) -> list[int]:
        self.caller.owner_only("reject memories")
        ids = list(dict.fromkeys(validation.clean_id(i) for i in memory_ids))
        for memory_id in ids:
            if self.caller.get(memory_id).superseded_by is not None:
                raise InvalidInput(f"memory {memory_id} was updated", "reject its current version")
        now, user = datetime.now(UTC), validation.DEFAULT_AGENT
        store = self.store
        with store.conn.write_transaction():
            restored: list = []
            for memory_id in ids:
                store.trust.reject(memory_id, now)
                restored += [(old, memory_id) for old in store.repo.replaced_by(memory_id) if old not in ids]
            keys: set = set()
            for old, _ in restored:
                if store.repo.reinstate(old) is None:
                    store.claims.repo.reopen_version(old)
                    keys |= {c.key for c in store.claims.repo.of_memories([old])}
            self.writer.delete(ids, user, now, also=keys)
            store.events.append(
                [self.caller.event("memory.restored", user, old, {"rejected": new}) for old, new in restored]
            )
        store.unmirror(ids)
        return ids
