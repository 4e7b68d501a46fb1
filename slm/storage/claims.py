"""The `claims`, `contradictions` and `contradiction_claims` tables, and memories' validity columns."""

from __future__ import annotations

from dataclasses import dataclass

BACKFILL = "claims.backfill"  # set by migration 0007 when memories stored before it need their claims
_CLAIM = (
    "id, memory_id, subject, attribute, value, polarity, single, change, rule, project, principal, valid_from, "
    "valid_to, superseded_by"
)

# The newest current claims of a key, with what rivals are chosen by: all in the `claims_key` index (0012)
WINDOW = (
    "SELECT id, memory_id, value, polarity, single FROM claims WHERE subject = ? AND attribute = ? AND project = ? "
    "AND valid_to IS NULL ORDER BY valid_from DESC, id DESC LIMIT ?"
)


@dataclass(frozen=True)
class ClaimRow:
    id: int
    memory_id: int
    subject: str
    attribute: str
    value: str
    polarity: int
    single: bool
    change: bool
    rule: str
    project: str
    principal: str
    valid_from: str
    valid_to: str | None = None
    superseded_by: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.subject, self.attribute, self.project


@dataclass(frozen=True)
class ContradictionRow:
    id: int
    subject: str
    attribute: str
    project: str
    severity: float
    status: str
    found_at: str
    resolved_at: str | None
    resolution: str | None
    claims: tuple[tuple[int, float], ...] = ()  # (claim id, residual), largest residual first


class ClaimRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    # -- claims ---------------------------------------------------------------------------------------------------
    def add(self, row: ClaimRow) -> ClaimRow:
        """Store `row` (its id aside); the row as stored, with its id. Made anew, not by `dataclasses.replace`,
        which cost an upgrade of 100k memories half a second."""
        values = (row.memory_id, row.subject, row.attribute, row.value, row.polarity, row.single, row.change)
        values += (row.rule, row.project, row.principal, row.valid_from, row.valid_to)
        stored = self.conn.execute(
            "INSERT INTO claims (memory_id, subject, attribute, value, polarity, single, change, rule, project, "
            "principal, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            values,
        ).fetchone()[0]
        return ClaimRow(stored, *values)

    def has(self, row: ClaimRow) -> bool:
        """Whether the memory already makes this claim (same subject, attribute, value and polarity)."""
        return (
            self.conn.execute(
                "SELECT 1 FROM claims WHERE memory_id = ? AND subject = ? AND attribute = ? AND value = ? "
                "AND polarity = ?",
                (row.memory_id, row.subject, row.attribute, row.value, row.polarity),
            ).fetchone()
            is not None
        )

    def memories_for_alignment(self, ids: list[int]) -> list[tuple[int, str, str, str]]:
        """(id, content, project, valid from) of those of `ids` that are current."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self.conn.execute(
            "SELECT id, content, project, coalesce(valid_from, event_time, created_at) FROM memories "
            f"WHERE id IN ({marks}) AND superseded_by IS NULL AND valid_to IS NULL ORDER BY id",
            ids,
        ).fetchall()

    def current(self, subject: str, attribute: str, project: str, limit: int) -> list[ClaimRow]:
        """The newest `limit` claims still valid about one subject and attribute in one project, oldest first."""
        rows = self.conn.execute(
            f"SELECT {_CLAIM} FROM claims WHERE subject = ? AND attribute = ? AND project = ? AND valid_to IS NULL "
            "ORDER BY valid_from DESC, id DESC LIMIT ?",
            (subject, attribute, project, limit),
        ).fetchall()
        return [_claim(r) for r in reversed(rows)]

    def rivals(self, row: ClaimRow, limit: int) -> list[ClaimRow]:
        """Those of the newest `limit` current claims about `row`'s subject and attribute in its project (oldest
        first) that may disagree with it: other memories' claims of its value with the other polarity, or, when
        `row` affirms a single value, any that affirm one (validity decides). The window is read from the index
        alone (migration 0012) and narrowed here; most claims have no rival, and only rivals are read in full: one
        statement of subqueries and sorts per claim cost an upgrade of 100k memories seconds."""
        narrow = row.single and row.polarity > 0
        window = self.conn.execute(WINDOW, (*row.key, limit))
        ids = [
            claim_id
            for claim_id, memory_id, value, polarity, single in window
            if memory_id != row.memory_id
            and ((value == row.value and polarity != row.polarity) or (narrow and single and polarity > 0))
        ]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT {_CLAIM} FROM claims WHERE id IN ({marks}) ORDER BY valid_from, id", ids)
        return [_claim(r) for r in rows]

    def disputable(self, keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Those of `keys` whose current claims hold two values (or a value and its denial), or that have an open
        contradiction: the only ones a check can change. One statement for all: a backfill checks 40k keys."""
        sql = self.conn.dialect
        rows = self.conn.execute(
            f"WITH k (subject, attribute, project) AS ({sql.rows_of(3)}) "
            "SELECT subject, attribute, project FROM k WHERE (SELECT min(c.value) != max(c.value) "
            "OR min(c.polarity) != max(c.polarity) FROM claims c WHERE c.subject = k.subject "
            "AND c.attribute = k.attribute AND c.project = k.project AND c.valid_to IS NULL) OR EXISTS (SELECT 1 FROM "
            "contradictions o WHERE o.subject = k.subject AND o.attribute = k.attribute AND o.project = k.project "
            "AND o.status = 'open')",
            (sql.rows_param(keys),),
        ).fetchall()
        return {tuple(r) for r in rows}

    def get_many(self, ids: list[int]) -> list[ClaimRow]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return [_claim(r) for r in self.conn.execute(f"SELECT {_CLAIM} FROM claims WHERE id IN ({marks})", ids)]

    def of_memories(self, memory_ids: list[int]) -> list[ClaimRow]:
        if not memory_ids:
            return []
        marks = ",".join("?" * len(memory_ids))
        rows = self.conn.execute(
            f"SELECT {_CLAIM} FROM claims WHERE memory_id IN ({marks}) ORDER BY id", memory_ids
        ).fetchall()
        return [_claim(r) for r in rows]

    def close(self, claim_id: int, valid_to: str, superseded_by: int | None) -> None:
        self.conn.execute(
            "UPDATE claims SET valid_to = ?, superseded_by = ? WHERE id = ?", (valid_to, superseded_by, claim_id)
        )

    def superseded_by_any(self, claim_ids: list[int]) -> list[ClaimRow]:
        """Claims that one of `claim_ids` closed."""
        if not claim_ids:
            return []
        marks = ",".join("?" * len(claim_ids))
        rows = self.conn.execute(f"SELECT {_CLAIM} FROM claims WHERE superseded_by IN ({marks})", claim_ids)
        return [_claim(r) for r in rows]

    def successors(self, memory_ids: list[int]) -> dict[int, set[int]]:
        """Among `memory_ids`: memory -> the memories whose claims superseded one of its claims."""
        if not memory_ids:
            return {}
        marks = ",".join("?" * len(memory_ids))
        rows = self.conn.execute(
            "SELECT DISTINCT c.memory_id, n.memory_id FROM claims c JOIN claims n ON n.id = c.superseded_by "
            f"WHERE c.memory_id IN ({marks}) AND n.memory_id IN ({marks}) AND n.memory_id != c.memory_id",
            memory_ids + memory_ids,
        ).fetchall()
        found: dict[int, set[int]] = {}
        for old, new in rows:
            found.setdefault(old, set()).add(new)
        return found

    def reopen(self, claim_ids: list[int]) -> None:
        self.conn.executemany(
            "UPDATE claims SET valid_to = NULL, superseded_by = NULL WHERE id = ?", [(i,) for i in claim_ids]
        )

    def reopen_version(self, memory_id: int) -> None:
        """A replaced version made current again: the claims its replacement closed hold again (those a newer
        claim superseded stay closed), and so does the memory."""
        self.conn.execute(
            "UPDATE claims SET valid_to = NULL WHERE memory_id = ? AND superseded_by IS NULL", (memory_id,)
        )
        self.conn.execute("UPDATE memories SET valid_to = NULL WHERE id = ?", (memory_id,))
        self.refresh_validity([memory_id])

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM claims").fetchone()[0]

    # -- memories' validity -------------------------------------------------------------------------------------
    def set_valid_from(self, rows: list[tuple[int, str]]) -> None:
        self.conn.executemany("UPDATE memories SET valid_from = ? WHERE id = ?", [(t, i) for i, t in rows])

    def refresh_validity(self, memory_ids: list[int]) -> None:
        """A memory holds until all of its claims are superseded (then until the last of them closes); a memory
        with no claims keeps what `update` gave it."""
        self.conn.executemany(
            "UPDATE memories SET valid_to = CASE "
            " WHEN superseded_by IS NOT NULL THEN valid_to"
            " WHEN EXISTS (SELECT 1 FROM claims c WHERE c.memory_id = memories.id AND c.valid_to IS NULL) THEN NULL"
            " ELSE (SELECT max(c.valid_to) FROM claims c WHERE c.memory_id = memories.id) END "
            "WHERE id = ?",
            [(i,) for i in memory_ids],
        )

    def close_memory(self, memory_id: int, valid_to: str) -> None:
        self.conn.execute("UPDATE memories SET valid_to = ? WHERE id = ?", (valid_to, memory_id))

    def closed(self, memory_ids: list[int]) -> set[int]:
        """Those of `memory_ids` that no longer hold (a newer claim superseded everything they say)."""
        if not memory_ids:
            return set()
        marks = ",".join("?" * len(memory_ids))
        rows = self.conn.execute(
            f"SELECT id FROM memories WHERE id IN ({marks}) AND valid_to IS NOT NULL", memory_ids
        ).fetchall()
        return {r[0] for r in rows}

    def validity(self, memory_id: int) -> tuple[str | None, str | None]:
        row = self.conn.execute("SELECT valid_from, valid_to FROM memories WHERE id = ?", (memory_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def current_memories_oldest_first(self) -> list[tuple]:
        """(id, content, project, agent, created_at, event_time, agent_id, protocol) of every current memory, oldest
        first: what the backfill extracts claims from."""
        return self.conn.execute(
            "SELECT id, content, project, agent, created_at, event_time, agent_id, protocol FROM memories "
            "WHERE superseded_by IS NULL ORDER BY coalesce(event_time, created_at), id"
        ).fetchall()

    def backfill_pending(self) -> bool:
        return self.conn.execute("SELECT 1 FROM settings WHERE key = ?", (BACKFILL,)).fetchone() is not None

    def backfill_done(self) -> None:
        self.conn.execute("DELETE FROM settings WHERE key = ?", (BACKFILL,))

    # -- contradictions ---------------------------------------------------------------------------------------------
    def open_for(self, subject: str, attribute: str, project: str) -> ContradictionRow | None:
        row = self.conn.execute(
            "SELECT id FROM contradictions WHERE subject = ? AND attribute = ? AND project = ? AND status = 'open'",
            (subject, attribute, project),
        ).fetchone()
        return self.contradiction(row[0]) if row else None

    def dismissed_sets(self, subject: str, attribute: str, project: str) -> list[frozenset[int]]:
        """The claim sets the user said are no contradiction, for this key."""
        rows = self.conn.execute(
            "SELECT c.id, cc.claim_id FROM contradictions c JOIN contradiction_claims cc ON cc.contradiction_id = c.id "
            "WHERE c.subject = ? AND c.attribute = ? AND c.project = ? AND c.status = 'dismissed'",
            (subject, attribute, project),
        ).fetchall()
        sets: dict[int, set[int]] = {}
        for contradiction_id, claim_id in rows:
            sets.setdefault(contradiction_id, set()).add(claim_id)
        return [frozenset(s) for s in sets.values()]

    def record(self, row: ContradictionRow) -> int:
        """Insert (id 0) or update a contradiction and replace its claims."""
        if row.id:
            self.conn.execute("UPDATE contradictions SET severity = ? WHERE id = ?", (row.severity, row.id))
            self.conn.execute("DELETE FROM contradiction_claims WHERE contradiction_id = ?", (row.id,))
            contradiction_id = row.id
        else:
            contradiction_id = self.conn.execute(
                "INSERT INTO contradictions (subject, attribute, project, severity, found_at) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id",
                (row.subject, row.attribute, row.project, row.severity, row.found_at),
            ).fetchone()[0]
        self.conn.executemany(
            "INSERT INTO contradiction_claims (contradiction_id, claim_id, residual) VALUES (?, ?, ?)",
            [(contradiction_id, claim_id, residual) for claim_id, residual in row.claims],
        )
        return contradiction_id

    def settle(self, contradiction_id: int, status: str, at: str, resolution: str) -> None:
        self.conn.execute(
            "UPDATE contradictions SET status = ?, resolved_at = ?, resolution = ? WHERE id = ?",
            (status, at, resolution, contradiction_id),
        )

    def contradiction(self, contradiction_id: int) -> ContradictionRow | None:
        row = self.conn.execute(
            "SELECT id, subject, attribute, project, severity, status, found_at, resolved_at, resolution "
            "FROM contradictions WHERE id = ?",
            (contradiction_id,),
        ).fetchone()
        if row is None:
            return None
        claims = self.conn.execute(
            "SELECT claim_id, residual FROM contradiction_claims WHERE contradiction_id = ? "
            "ORDER BY residual DESC, claim_id",
            (contradiction_id,),
        ).fetchall()
        return ContradictionRow(*row, claims=tuple((c, r) for c, r in claims))

    def contradictions(
        self, status: str | None, project: str | None, limit: int, memory_id: int | None = None
    ) -> list[ContradictionRow]:
        where, params = [], []
        if memory_id is not None:
            where.append(
                "id IN (SELECT cc.contradiction_id FROM contradiction_claims cc JOIN claims c ON c.id = cc.claim_id "
                "WHERE c.memory_id = ?)"
            )
            params.append(memory_id)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if project is not None:
            where.append("project = ?")
            params.append(project)
        ids = self.conn.execute(
            f"SELECT id FROM contradictions WHERE {' AND '.join(where) or 'true'} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [row for (i,) in ids if (row := self.contradiction(i)) is not None]


def _claim(row) -> ClaimRow:
    values = list(row)
    values[6], values[7] = bool(values[6]), bool(values[7])
    return ClaimRow(*values)
