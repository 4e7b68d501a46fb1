"""The `agents` table: authenticated agents, their token hashes, revocation and renaming."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentRow:
    id: int
    name: str
    created_at: str
    revoked_at: str | None
    memories: int = 0  # current memories it wrote while authenticated

    @property
    def active(self) -> bool:
        return self.revoked_at is None


_COLUMNS = (
    "a.id, a.name, a.created_at, a.revoked_at, "
    "(SELECT count(*) FROM memories m WHERE m.agent_id = a.id AND m.superseded_by IS NULL)"
)


class AgentRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    def add(self, name: str, token_hash: str, created_at: str) -> int:
        return self.conn.execute(
            "INSERT INTO agents (name, token_hash, created_at) VALUES (?, ?, ?) RETURNING id",
            (name, token_hash, created_at),
        ).fetchone()[0]

    def by_name(self, name: str) -> AgentRow | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM agents a WHERE a.name = ?", (name,)).fetchone()
        return AgentRow(*row) if row else None

    def by_id(self, agent_id: int) -> AgentRow | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM agents a WHERE a.id = ?", (agent_id,)).fetchone()
        return AgentRow(*row) if row else None

    def by_token_hash(self, token_hash: str) -> AgentRow | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM agents a WHERE a.token_hash = ?", (token_hash,)).fetchone()
        return AgentRow(*row) if row else None

    def list(self) -> list[AgentRow]:
        return [AgentRow(*r) for r in self.conn.execute(f"SELECT {_COLUMNS} FROM agents a ORDER BY a.id")]

    def revoke(self, agent_id: int, when: str) -> None:
        self.conn.execute("UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (when, agent_id))

    def rename(self, agent_id: int, new_name: str) -> None:
        """The agent and the memories it wrote while authenticated; memories others wrote under the name stay."""
        self.conn.execute("UPDATE agents SET name = ? WHERE id = ?", (new_name, agent_id))
        self.conn.execute("UPDATE memories SET agent = ? WHERE agent_id = ?", (new_name, agent_id))
