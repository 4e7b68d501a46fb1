"""The trust tables: principals' posteriors, the signal log, per-memory trust, endorsements, write projects.

Callers hold the write transaction around every read-modify-write, so concurrent writers serialise on SQLite's
lock and no update is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class PrincipalState:
    principal: str
    alpha: float
    beta: float
    drift: float
    signals: int
    updated_at: str
    burst_at: str | None
    burst_writes: int


@dataclass(frozen=True)
class SignalRow:
    id: int
    principal: str
    time: str
    signal: str
    weight: float
    memory_id: int | None
    source: str | None
    reason: str
    alpha: float
    beta: float


@dataclass(frozen=True)
class MemoryTrustRow:
    memory_id: int
    principal: str
    doubt: float
    approved: bool
    endorsers: tuple[str, ...] = ()  # one entry per corroboration or helpful mark


_PRINCIPAL = "principal, alpha, beta, drift, signals, updated_at, burst_at, burst_writes"
_PRINCIPAL_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in _PRINCIPAL.split(", ")[1:])
_SIGNAL = "id, principal, time, signal, weight, memory_id, source, reason, alpha, beta"


class TrustRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    # -- principals ---------------------------------------------------------------------------------------------
    def state(self, principal: str) -> PrincipalState | None:
        row = self.conn.execute(f"SELECT {_PRINCIPAL} FROM trust_principals WHERE principal = ?", (principal,))
        found = row.fetchone()
        return PrincipalState(*found) if found else None

    def states(self) -> list[PrincipalState]:
        return [PrincipalState(*r) for r in self.conn.execute(f"SELECT {_PRINCIPAL} FROM trust_principals")]

    def posteriors(self) -> dict[str, tuple[float, float]]:
        """Every principal's (alpha, beta): a few dozen rows, read whole for each recall."""
        return {p: (a, b) for p, a, b in self.conn.execute("SELECT principal, alpha, beta FROM trust_principals")}

    def save_state(self, state: PrincipalState) -> None:
        self.conn.execute(
            f"INSERT INTO trust_principals ({_PRINCIPAL}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT (principal) DO UPDATE SET {_PRINCIPAL_UPDATE}",
            (
                state.principal,
                state.alpha,
                state.beta,
                state.drift,
                state.signals,
                state.updated_at,
                state.burst_at,
                state.burst_writes,
            ),
        )

    # -- the signal log -----------------------------------------------------------------------------------------
    def add_signal(self, row: SignalRow) -> None:
        self.conn.execute(
            "INSERT INTO trust_signals (principal, time, signal, weight, memory_id, source, reason, alpha, beta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.principal,
                row.time,
                row.signal,
                row.weight,
                row.memory_id,
                row.source,
                row.reason,
                row.alpha,
                row.beta,
            ),
        )

    def signals_of(self, principal: str, limit: int) -> list[SignalRow]:
        """The newest `limit` signals, newest first."""
        rows = self.conn.execute(
            f"SELECT {_SIGNAL} FROM trust_signals WHERE principal = ? ORDER BY id DESC LIMIT ?", (principal, limit)
        )
        return [SignalRow(*r) for r in rows]

    def signal_counts(self, principal: str) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT signal, count(*) FROM trust_signals WHERE principal = ? GROUP BY signal", (principal,)
        )
        return dict(rows.fetchall())

    # -- memories -----------------------------------------------------------------------------------------------
    def add_memory(self, memory_id: int, principal: str) -> None:
        self.conn.execute("INSERT INTO memory_trust (memory_id, principal) VALUES (?, ?)", (memory_id, principal))

    def memories(self, ids: list[int]) -> dict[int, MemoryTrustRow]:
        sql = self.conn.dialect
        rows = self.conn.execute(
            "SELECT t.memory_id, t.principal, t.doubt, t.review = 'approved', "
            f"(SELECT {sql.json_array_agg('e.principal')} FROM memory_endorsements e WHERE e.memory_id = t.memory_id) "
            f"FROM memory_trust t WHERE {sql.in_list('t.memory_id')}",
            (sql.list_param(ids),),
        )
        return {r[0]: MemoryTrustRow(r[0], r[1], r[2], bool(r[3]), tuple(json.loads(r[4]))) for r in rows}

    def all_memories(self) -> list[tuple[int, str, float, bool]]:
        """(memory id, principal, doubt, approved) of every memory, in id order."""
        rows = self.conn.execute(
            "SELECT memory_id, principal, doubt, review = 'approved' FROM memory_trust ORDER BY memory_id"
        )
        return rows.fetchall()

    def all_endorsements(self) -> list[tuple[int, str]]:
        """(memory id, principal) of every corroboration and helpful mark."""
        return self.conn.execute("SELECT memory_id, principal FROM memory_endorsements").fetchall()

    def memory_counts(self) -> dict[str, int]:
        """Current memories per principal."""
        rows = self.conn.execute(
            "SELECT t.principal, count(*) FROM memory_trust t JOIN memories m ON m.id = t.memory_id "
            "WHERE m.superseded_by IS NULL GROUP BY t.principal"
        )
        return dict(rows.fetchall())

    def memory(self, memory_id: int) -> MemoryTrustRow | None:
        return self.memories([memory_id]).get(memory_id)

    def add_doubt(self, memory_id: int, amount: float) -> None:
        self.conn.execute("UPDATE memory_trust SET doubt = doubt + ? WHERE memory_id = ?", (amount, memory_id))

    def approve(self, memory_id: int) -> bool:
        """Mark it approved; False if it already was."""
        self.conn.execute(
            "UPDATE memory_trust SET review = 'approved' WHERE memory_id = ? AND review IS NULL", (memory_id,)
        )
        return self.conn.changes() > 0

    def endorse(self, memory_id: int, principal: str, kind: str) -> bool:
        """Record that `principal` vouched for the memory this way; False if it already had."""
        self.conn.execute(
            "INSERT INTO memory_endorsements (memory_id, principal, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (memory_id, principal, kind),
        )
        return self.conn.changes() > 0

    def unreviewed_current(self, principals: list[str]) -> list[MemoryTrustRow]:
        """The current, unapproved memories of these principals, or with doubt of their own: quarantine candidates."""
        sql = self.conn.dialect
        rows = self.conn.execute(
            "SELECT t.memory_id FROM memory_trust t JOIN memories m ON m.id = t.memory_id "
            "WHERE m.superseded_by IS NULL AND t.review IS NULL "
            f"AND (t.doubt > 0 OR {sql.in_list('t.principal')}) ORDER BY t.memory_id",
            (sql.list_param(principals),),
        )
        return list(self.memories([r[0] for r in rows]).values())

    # -- where principals write ---------------------------------------------------------------------------------
    def project_writes(self, principal: str, project: str) -> tuple[int, int]:
        """(writes to this project, writes in all) so far."""
        row = self.conn.execute(
            "SELECT coalesce(sum(writes), 0), coalesce(sum(CASE WHEN project = ? THEN writes END), 0) "
            "FROM principal_projects WHERE principal = ?",
            (project, principal),
        ).fetchone()
        return row[1], row[0]

    def count_write(self, principal: str, project: str) -> None:
        self.conn.execute(
            "INSERT INTO principal_projects (principal, project, writes) VALUES (?, ?, 1) "
            "ON CONFLICT (principal, project) DO UPDATE SET writes = principal_projects.writes + 1",
            (principal, project),
        )
