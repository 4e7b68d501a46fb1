"""Who is calling: the face a store is used through, the agent a call acts for, and what that caller may see and
change. Every service asks here before it reads for an agent or writes in one's name."""

from __future__ import annotations

from dataclasses import replace

from slm import validation
from slm.core.store import Store
from slm.errors import Forbidden, InvalidInput, NotFound
from slm.storage.agents import AgentRow
from slm.storage.events import Event
from slm.storage.memories import MemoryFilter, MemoryRow
from slm.storage.projects import ProjectRepository
from slm.trust import model as trust_model
from slm.trust.ledger import principal_of

PROTOCOLS = frozenset({"api", "cli", "mcp-stdio", "mcp-http"})
OWNER_PROTOCOLS = frozenset({"api", "cli"})  # the faces only the owner uses: "user" there is the owner
OWNER_KEY = "user"  # the owner's own private memories: no agent sees them
UNKNOWN_ID_HINT = "list the memories to see their ids"


class Caller:
    """The face (`protocol`) and, once a token was shown, the authenticated agent calls act as."""

    def __init__(self, store: Store, protocol: str) -> None:
        if protocol not in PROTOCOLS:
            raise InvalidInput(f"unknown protocol {protocol!r}", f"one of {sorted(PROTOCOLS)}")
        self.store = store
        self.protocol = protocol
        self.verified_agent: AgentRow | None = None  # writes in its name record its id

    @property
    def is_owner(self) -> bool:
        return self.protocol in OWNER_PROTOCOLS

    def name(self, agent: object) -> str:
        """The name a call acts under, validated. Only the owner's faces (CLI, API) may act as "user"; without a
        name, an agent's face acts as its authenticated agent, else as "unknown"."""
        if agent is None:
            if self.verified_agent is not None:
                return self.verified_agent.name
            return validation.DEFAULT_AGENT if self.is_owner else validation.UNKNOWN_AGENT
        name = validation.clean_name(agent, "agent", validation.DEFAULT_AGENT)
        return name if self.is_owner else validation.refuse_owner_name(name, "agent")

    def principal_named(self, agent: str) -> str:
        """Who is acting when this face acts in `agent`'s name: the authenticated agent only if it is that name."""
        self.authorise()  # under the write lock, where callers hold it: a token revoked meanwhile speaks no more
        verified = self.verified_agent
        if verified is None or verified.name != agent:
            return principal_of(agent, None, self.protocol)
        return principal_of(agent, verified.id, self.protocol)

    def authorise(self) -> None:
        """Check, before a call, that the authenticated agent this caller acts as still may act: its token revoked
        by any process stops every call at once, with no falling back to a claimed name. A rename is followed."""
        if self.verified_agent is not None:
            self.verified_agent = self.active_agent(self.verified_agent.id, self.verified_agent.name)

    def active_agent(self, agent_id: int, name: str) -> AgentRow:
        agent = self.store.agents.by_id(agent_id)
        if agent is None or not agent.active:
            raise Forbidden(
                f"the token of agent {name!r} was revoked",
                "the user can create a new agent with `slm agent add NAME` and give its token to the client",
            )
        return agent

    def event(self, type_: str, agent: str, memory_id: int | None, payload: dict | None = None) -> Event:
        return Event(
            type=type_,
            agent=agent,
            protocol=self.protocol,
            time=validation.event_time(),
            memory_id=memory_id,
            payload=payload or {},
        )

    def owner_only(self, what: str) -> None:
        """The user's verdicts (approve, reject) are never an agent's: only the owner's faces may give them."""
        if not self.is_owner:
            raise Forbidden(f"only the user may {what}", "use `slm trust` at the command line")

    # -- private memories (a team's store) -----------------------------------------------------------------------
    def private_keys(self) -> tuple[str, ...] | None:
        """Whose private memories this caller sees: all of them at the user's faces (None); an authenticated agent
        its member's (or its own); an agent without a token none."""
        if self.is_owner:
            return None
        return () if self.verified_agent is None else (self.verified_agent.member_key,)

    def private_key(self) -> str:
        """The key a memory this caller keeps private is stored under: the member of its authenticated agent."""
        if self.is_owner:
            return OWNER_KEY
        if self.verified_agent is None:
            raise Forbidden(
                "only an authenticated agent can keep a memory private: no one would know whose it is",
                "start this MCP server with an agent token (`slm agent add NAME --member PERSON`)",
            )
        return self.verified_agent.member_key

    def restrict(self, flt: MemoryFilter) -> MemoryFilter:
        """`flt` narrowed to what this caller may see, when the store holds any private memory at all (an index
        lookup; without one, searches keep their unfiltered fast paths)."""
        keys = self.private_keys()
        if keys is None or not self.store.repo.has_private():
            return flt
        return replace(flt, private_to=keys)

    def may_write_to(self, project: str) -> None:
        """A project kept to one member is theirs: another member's agent may not write there (what it wrote would
        be out of its own sight at once)."""
        keys = self.private_keys()
        if keys is None:
            return
        kept = ProjectRepository(self.store.conn).private_to(project)
        if kept is not None and kept not in keys:
            raise Forbidden(
                f"project {project!r} is kept private to another member",
                "write to a shared project (`project=`), or ask the store's owner to share it (`slm project share`)",
            )

    def projects_kept_from(self) -> set[str]:
        """The projects kept to another member: this caller may not learn even their names."""
        keys = self.private_keys()
        if keys is None:
            return set()
        return {name for name, key in ProjectRepository(self.store.conn).visibility().items() if key not in keys}

    def private_to_others(self, ids: list[int]) -> set[int]:
        keys = self.private_keys()
        if keys is None:
            return set()
        return {i for i, key in self.store.repo.private_to(ids).items() if key not in keys}

    # -- what an agent may see ----------------------------------------------------------------------------------
    def get(self, memory_id: object) -> MemoryRow:
        """The memory, or NotFound, as for an unknown id, when it is private to someone else."""
        memory_id = validation.clean_id(memory_id)
        row = self.store.repo.get(memory_id)
        if row is None or self.private_to_others([memory_id]):
            raise NotFound(f"no memory with id {memory_id}", UNKNOWN_ID_HINT, what="memory")
        return row

    def quarantined(self, ids: list[int]) -> set[int]:
        return {i for i, trust in self.store.trust.memory_trusts(ids).items() if trust_model.quarantined(trust)}

    def hidden(self, ids: list[int]) -> set[int]:
        """Those of `ids` an agent's face may not show: the quarantined ones, and those private to another member.
        The user's faces (CLI, API) see everything; an agent name there only labels the work."""
        return set() if self.is_owner else self.quarantined(ids) | self.private_to_others(ids)

    def only_visible(self, ids: list[int]) -> None:
        """Quarantined memories do not exist for agents: acting on one is answered as for an unknown id, so an
        agent cannot even confirm it is there (only the user reviews the quarantine)."""
        hidden = self.hidden(ids)
        if hidden:
            raise NotFound(f"no memory with id {min(hidden)}", UNKNOWN_ID_HINT, what="memory")

    def refuse_hidden_copy(self, memory_id: int | None) -> None:
        """An agent's text equal to a current memory it cannot see: storing it would link to, vouch for or show the
        hidden one, so it is refused (an agent that knew the text word for word learns only that it is held)."""
        if memory_id is None:
            return
        if self.quarantined([memory_id]) and not self.is_owner:
            raise Forbidden(
                "this exact text is held for the user's review (quarantined) and cannot be stored again meanwhile",
                "write what you know in your own words, or ask the user to review it (`slm trust quarantine`)",
            )
        if self.private_to_others([memory_id]):
            raise Forbidden(
                "this exact text is already stored in this project as someone's private memory",
                "write what you know in your own words",
            )

    def may_change(self, rows: list[MemoryRow], principal: str, by: str) -> None:
        """Refuse, changing nothing, unless the caller wrote every one of `rows`, is the user (at the CLI or the
        API, whatever agent name labels the work), or is an authenticated agent the user let change others'
        memories (`grant_agent`)."""
        self.only_visible([row.id for row in rows if row.superseded_by is None])
        verified = self.verified_agent
        if self.is_owner or (verified is not None and verified.edit_others and principal == f"agent:{verified.id}"):
            return
        authors = self.store.trust.repo.memories([row.id for row in rows])
        for row in rows:
            author = authors.get(row.id)
            if author is None or author.principal != principal:
                raise Forbidden(
                    f"memory {row.id} was written by {row.agent}: {by} may change only the memories it wrote",
                    "the user can change it (slm update / slm forget), or let an authenticated agent change "
                    "others' memories: slm agent grant NAME edit-others",
                )
