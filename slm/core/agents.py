"""Authenticated agents: registering them with a token, revoking, renaming, granting, and acting as one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slm import validation
from slm.core.callers import Caller
from slm.errors import Forbidden, InvalidInput, NotFound
from slm.storage.agents import AgentRow
from slm.trust import agents as agent_tokens


class Agents:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.repo = caller.store.agents

    def add(self, name: str, member: str | None = None) -> tuple[AgentRow, str]:
        name = _agent_name(name, "agent name")
        member = None if member is None else _agent_name(member, "member name")
        token = agent_tokens.new_token()
        with self.caller.store.conn.write_transaction():
            if self.repo.by_name(name) is not None:
                raise InvalidInput(f"an agent named {name!r} already exists", "choose another name, or revoke it")
            agent_id = self.repo.add(name, agent_tokens.token_hash(token), validation.now_utc(), member)
            self._record("agent.added", name, {"agent_id": agent_id, "member": member})
        return self.repo.by_name(name), token

    def revoke(self, name: str) -> AgentRow:
        with self.caller.store.conn.write_transaction():
            agent = self.named(name)
            if agent.active:
                self.repo.revoke(agent.id, validation.now_utc())
                self._record("agent.revoked", agent.name, {"agent_id": agent.id})
        return self.repo.by_name(agent.name)

    def rename(self, name: str, new_name: str) -> AgentRow:
        new_name = _agent_name(new_name, "new agent name")
        with self.caller.store.conn.write_transaction():
            agent = self.named(name)
            if self.repo.by_name(new_name) is not None:
                raise InvalidInput(f"an agent named {new_name!r} already exists", "choose another name")
            self.repo.rename(agent.id, new_name)
            self._record("agent.renamed", new_name, {"agent_id": agent.id, "from": agent.name})
        return self.repo.by_name(new_name)

    def grant(self, name: str, edit_others: bool) -> AgentRow:
        with self.caller.store.conn.write_transaction():
            agent = self.named(name)
            if agent.edit_others != edit_others:
                self.repo.set_edit_others(agent.id, edit_others)
                self._record("agent.permissions", agent.name, {"agent_id": agent.id, "edit_others": edit_others})
        return self.repo.by_id(agent.id)

    def of_token(self, token: object) -> AgentRow:
        """The active agent this token belongs to, or a clear refusal."""
        if not agent_tokens.looks_like_token(token):
            raise InvalidInput(
                f"that is not an slm agent token (they start with {agent_tokens.PREFIX!r})",
                "create one with `slm agent add NAME` and set SLM_AGENT_TOKEN to what it prints",
            )
        agent = self.repo.by_token_hash(agent_tokens.token_hash(token))
        if agent is None:
            raise InvalidInput("unknown agent token", "check SLM_AGENT_TOKEN, or create one with `slm agent add NAME`")
        if not agent.active:
            raise Forbidden(
                f"the token of agent {agent.name!r} was revoked on {agent.revoked_at}",
                "create a new agent with `slm agent add NAME`",
            )
        return agent

    @contextmanager
    def acting_as(self, agent_id: int | None) -> Iterator[None]:
        before = self.caller.verified_agent
        self.caller.verified_agent = None if agent_id is None else self.caller.active_agent(agent_id, f"#{agent_id}")
        try:
            yield
        finally:
            self.caller.verified_agent = before

    def named(self, name: str) -> AgentRow:
        agent = self.repo.by_name(validation.clean_name(name, "agent name", ""))
        if agent is None:
            raise NotFound(f"no agent named {name!r}", "list the agents to see their names", what="agent")
        return agent

    def _record(self, type_: str, name: str, payload: dict) -> None:
        self.caller.store.events.append([self.caller.event(type_, name, None, payload)])


def _agent_name(name: object, what: str) -> str:
    """A name for an authenticated agent: any visible name but the owner's."""
    return validation.refuse_owner_name(validation.clean_name(name, what, ""), what)
