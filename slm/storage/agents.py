"""The `agents` table: authenticated agents, their token hashes, revocation and renaming."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentRow:
    id: int
    name: str
    created_at: str
    revoked_at: str | None
    edit_others: bool = False  # may update or forget memories others wrote (granted by the user)
    memories: int = 0  # current memories it wrote while authenticated
    member: str | None = None  # the person it acts for on a team's store; None: a member of its own

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def member_key(self) -> str:
        """Whose private memories it writes and reads (`memories.private_to`): its member's, or its own."""
        return f"member:{self.member}" if self.member is not None else f"agent:{self.id}"


_COLUMNS = (
    "a.id, a.name, a.created_at, a.revoked_at, a.edit_others, "
    "(SELECT count(*) FROM memories m WHERE m.agent_id = a.id AND m.superseded_by IS NULL), a.member"
)


class AgentRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    def add(self, name: str, token_hash: str, created_at: str, member: str | None = None) -> int:
        return self.conn.execute(
            "INSERT INTO agents (name, token_hash, created_at, member) VALUES (?, ?, ?, ?) RETURNING id",
            (name, token_hash, created_at, member),
        ).fetchone()[0]

    def by_name(self, name: str) -> AgentRow | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM agents a WHERE a.name = ?", (name,)).fetchone()
        return _agent(row) if row else None

    def by_id(self, agent_id: int) -> AgentRow | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM agents a WHERE a.id = ?", (agent_id,)).fetchone()
        return _agent(row) if row else None

    def by_token_hash(self, token_hash: str) -> AgentRow | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM agents a WHERE a.token_hash = ?", (token_hash,)).fetchone()
        return _agent(row) if row else None

    def list(self) -> list[AgentRow]:
        return [_agent(r) for r in self.conn.execute(f"SELECT {_COLUMNS} FROM agents a ORDER BY a.id")]

    def revoke(self, agent_id: int, when: str) -> None:
        self.conn.execute("UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (when, agent_id))

    def set_edit_others(self, agent_id: int, allowed: bool) -> None:
        self.conn.execute("UPDATE agents SET edit_others = ? WHERE id = ?", (int(allowed), agent_id))

    def rename(self, agent_id: int, new_name: str) -> None:
        """The agent and the memories it wrote while authenticated; memories others wrote under the name stay."""
        self.conn.execute("UPDATE agents SET name = ? WHERE id = ?", (new_name, agent_id))
        self.conn.execute("UPDATE memories SET agent = ? WHERE agent_id = ?", (new_name, agent_id))


def _agent(row: tuple) -> AgentRow:
    agent_id, name, created_at, revoked_at, edit_others, memories, member = row
    return AgentRow(agent_id, name, created_at, revoked_at, bool(edit_others), memories, member)
