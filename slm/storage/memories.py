"""The memories repository: rows, tags, chunks and vectors written together, and the SQL side of recall."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field

import numpy as np

from slm.storage import vectors
from slm.storage.keyword_pg import PostgresKeywordIndex
from slm.storage.keyword_sqlite import SqliteKeywordIndex

_COLUMNS = (
    "m.id, m.content, m.content_hash, m.created_at, m.event_time, m.agent, m.project, m.kind, m.meta, "
    "m.protocol, m.superseded_by, m.agent_id, m.session, m.private_to"
)
_CURRENT = "m.superseded_by IS NULL"
_LIVE = "NOT EXISTS (SELECT 1 FROM memory_lifecycle l WHERE l.memory_id = m.id AND l.zone = 'archived')"
MAX_VERSIONS = 10_000
_WHEN = "coalesce(m.event_time, m.created_at)"
# whose a memory is: its own `private_to`, else that of a project kept to one member (migration 0016), else no one's
_PRIVACY = "coalesce(m.private_to, (SELECT v.private_to FROM project_visibility v WHERE v.project = m.project))"


@dataclass(frozen=True, kw_only=True)
class MemoryFields:
    """What a memory is, stored or about to be."""

    content: str
    content_hash: str
    created_at: str
    event_time: str | None
    agent: str
    project: str
    kind: str
    meta: dict
    tags: tuple[str, ...] = ()
    protocol: str = "api"  # how it was written: api, cli, mcp-stdio, mcp-http
    agent_id: int | None = None  # the authenticated agent that wrote it; None: the name was only claimed
    session: str | None = None  # the conversation, coding session or thread it was said in
    private_to: str | None = None  # the only member who may see it (`AgentRow.member_key`); None: everyone


@dataclass(frozen=True, kw_only=True)
class MemoryRow(MemoryFields):
    id: int
    superseded_by: int | None = None  # the newer version that replaced this one, if it was updated


@dataclass(frozen=True, kw_only=True)
class NewMemory(MemoryFields):
    """A validated memory ready to store; `spans` and `vectors` are its embedded chunks."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    vectors: np.ndarray | None = None


@dataclass(frozen=True)
class MemoryFilter:
    """Restrictions shared by listing and both recall channels. Times are ISO-8601 UTC strings, inclusive."""

    project: str | None = None
    agent: str | None = None
    tags: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    session: str | None = None  # only memories said in this session
    live: bool = False  # leave out what the lifecycle archived (recall does, unless asked not to)
    as_of: str | None = None  # what held then, superseded versions included, instead of the current versions
    versions: bool = False  # every version, superseded ones too (erasure chooses among all of them)
    private_to: tuple[str, ...] | None = None  # the private memories the reader may see (their keys); None: all

    @property
    def is_empty(self) -> bool:
        """Nothing restricts the search beyond "current versions only" and `live`, which the vector channel applies
        cheaply as a list of exclusions."""
        restricted = self.project or self.agent or self.tags or self.since or self.until or self.session
        return not (restricted or self.as_of or self.private_to is not None)

    def where(self) -> tuple[str, list]:
        """A SQL condition over alias `m` and its parameters; superseded versions are left out (with `as_of`,
        what did not hold then)."""
        clauses, params = ([] if self.versions else [_CURRENT]), []
        if self.as_of is not None:
            clauses = [f"coalesce(m.valid_from, {_WHEN}) <= ? AND (m.valid_to IS NULL OR m.valid_to > ?)"]
            params += [self.as_of, self.as_of]
        if self.project is not None:
            clauses.append("m.project = ?")
            params.append(self.project)
        if self.agent is not None:
            clauses.append("m.agent = ?")
            params.append(self.agent)
        if self.session is not None:
            clauses.append("m.session = ?")
            params.append(self.session)
        for tag in self.tags:
            clauses.append("EXISTS (SELECT 1 FROM memory_tags t WHERE t.memory_id = m.id AND t.tag = ?)")
            params.append(tag)
        if self.since is not None:
            clauses.append(f"{_WHEN} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{_WHEN} <= ?")
            params.append(self.until)
        if self.live:
            clauses.append(_LIVE)
        if self.private_to is not None:
            clause, keys = _visible_to(self.private_to)
            clauses.append(clause)
            params += keys
        return (" AND ".join(clauses) or "true"), params


def _visible_to(keys: tuple[str, ...]) -> tuple[str, list]:
    """`_PRIVACY` is NULL or one of `keys`, spelt so the kept projects are read once per statement, not per row (a
    correlated lookup per row made a filtered count at 10k 30x slower): a memory private to one of the keys, or
    private to no one in a project not kept from them."""
    marks = ", ".join("?" * len(keys))
    kept = "SELECT v.project FROM project_visibility v" + (f" WHERE v.private_to NOT IN ({marks})" if keys else "")
    shared = f"(m.private_to IS NULL AND m.project NOT IN ({kept}))"
    return (f"({shared} OR m.private_to IN ({marks}))", [*keys, *keys]) if keys else (shared, [])


class MemoryRepository:
    def __init__(self, conn) -> None:
        self.conn = conn
        self.keyword = PostgresKeywordIndex(conn) if conn.backend == "postgres" else SqliteKeywordIndex(conn)

    # -- writes ---------------------------------------------------------------------------------------------
    def existing_id(self, project: str, content_hash: str) -> int | None:
        """The current memory of `project` with this content hash, if any."""
        row = self.conn.execute(
            "SELECT id FROM memories WHERE project = ? AND content_hash = ? AND superseded_by IS NULL",
            (project, content_hash),
        ).fetchone()
        return row[0] if row else None

    def insert_many(self, items: list[NewMemory]) -> list[tuple[int, bool]]:
        """Store every item (row, tags, keyword index, chunks, vectors); (id, whether it was new) for each.

        An item whose (project, hash) is already current is not stored again: its existing id comes back.
        Call inside the caller's write transaction, so the change and its events commit together.
        """
        with self.conn.transaction():
            return [self._insert_one(item) for item in items]

    def _insert_one(self, item: NewMemory) -> tuple[int, bool]:
        row = self.conn.execute(
            "INSERT INTO memories "
            "(content, content_hash, created_at, event_time, agent, project, kind, meta, protocol, agent_id, session, "
            "private_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (project, content_hash) WHERE superseded_by IS NULL DO NOTHING RETURNING id",
            (
                item.content,
                item.content_hash,
                item.created_at,
                item.event_time,
                item.agent,
                item.project,
                item.kind,
                json.dumps(item.meta, ensure_ascii=False),
                item.protocol,
                item.agent_id,
                item.session,
                item.private_to,
            ),
        ).fetchone()
        if row is None:
            return self.existing_id(item.project, item.content_hash), False
        memory_id = row[0]
        if isinstance(self.keyword, PostgresKeywordIndex):  # on SQLite, memories_fts's trigger indexed it
            self.keyword.add(memory_id, item.content)
        self.conn.executemany(
            "INSERT INTO memory_tags (memory_id, tag) VALUES (?, ?)", [(memory_id, t) for t in item.tags]
        )
        self.insert_chunks(memory_id, item.spans, item.vectors)
        return memory_id, True

    def insert_chunks(self, memory_id: int, spans: list[tuple[int, int]], matrix: np.ndarray) -> None:
        """A memory's embedded spans and their vectors (call inside the caller's transaction)."""
        if self.conn.backend == "postgres":
            vectors.insert_chunks_pg(self.conn, memory_id, spans, matrix)
            return
        chunk_ids = [
            self.conn.execute(
                'INSERT INTO chunks (memory_id, start, "end") VALUES (?, ?, ?) RETURNING id', (memory_id, s, e)
            ).fetchone()[0]
            for s, e in spans
        ]
        vectors.insert_vectors(self.conn, chunk_ids, matrix)

    def supersede(self, old_id: int, new_id: int) -> bool:
        """Mark `old_id` as replaced by `new_id`; False if it is gone or another version already replaced it."""
        self.conn.execute(
            "UPDATE memories SET superseded_by = ? WHERE id = ? AND superseded_by IS NULL", (new_id, old_id)
        )
        return self.conn.changes() > 0

    def replaced_by(self, memory_id: int) -> list[int]:
        """The versions `memory_id` replaced directly (usually one; several updates may have converged on it)."""
        return [r[0] for r in self.conn.execute("SELECT id FROM memories WHERE superseded_by = ?", (memory_id,))]

    def reinstate(self, memory_id: int) -> int | None:
        """Make a replaced version current again; if a current memory of its project already has its text, it
        becomes that memory's history instead (one current copy of a text per project). Returns that memory."""
        project, content_hash = self.conn.execute(
            "SELECT project, content_hash FROM memories WHERE id = ?", (memory_id,)
        ).fetchone()
        twin = self.existing_id(project, content_hash)
        self.conn.execute("UPDATE memories SET superseded_by = ? WHERE id = ?", (twin, memory_id))
        return twin

    def versions(self, memory_id: int) -> list[int]:
        """`memory_id` and every earlier version it replaced, newest first (bounded, should a cycle ever exist)."""
        return [
            r[0]
            for r in self.conn.execute(
                "WITH RECURSIVE chain (id, depth) AS (SELECT id, 0 FROM memories WHERE id = ? "
                "UNION SELECT m.id, c.depth + 1 FROM memories m JOIN chain c ON m.superseded_by = c.id "
                f"WHERE c.depth < {MAX_VERSIONS}) "
                "SELECT id FROM chain GROUP BY id ORDER BY min(depth)",
                (memory_id,),
            )
        ]

    def delete(self, ids: list[int]) -> None:
        """Delete memories; tags, FTS entries, chunks and vectors go with them (cascades and triggers)."""
        with self.conn.transaction():
            self.conn.executemany("DELETE FROM memories WHERE id = ?", [(i,) for i in ids])

    # -- reads ----------------------------------------------------------------------------------------------
    def contents(self, after_id: int, limit: int) -> list[tuple[int, str]]:
        """(id, content) pages in id order, for re-embedding."""
        return self.conn.execute(
            "SELECT id, content FROM memories WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ).fetchall()

    def get_many(self, ids: list[int]) -> list[MemoryRow]:
        """Rows for `ids` in the order given; unknown ids are skipped."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM memories m WHERE m.id IN ({marks})", ids).fetchall()
        tags = self._tags_of(ids)
        by_id = {r[0]: _row(r, tags.get(r[0], ())) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def get(self, memory_id: int) -> MemoryRow | None:
        found = self.get_many([memory_id])
        return found[0] if found else None

    def list(self, flt: MemoryFilter, limit: int, offset: int = 0) -> list[MemoryRow]:
        """Newest first (by event time, else stored time)."""
        where, params = flt.where()
        ids = [
            r[0]
            for r in self.conn.execute(
                f"SELECT m.id FROM memories m WHERE {where} ORDER BY {_WHEN} DESC, m.id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ]
        return self.get_many(ids)

    def ordered_ids(self, flt: MemoryFilter, zone: str | None = None, *, newest_first: bool = True) -> np.ndarray:
        """Every memory the filter passes (and in `zone`, when given), newest or oldest first: a browser's list.
        One row of text, not a row per id: apsw gives the GIL up around every step, and a UI thread that takes it
        meanwhile made 100k steps ten times slower."""
        where, params = flt.where()
        if zone is not None:
            where += " AND EXISTS (SELECT 1 FROM memory_lifecycle l WHERE l.memory_id = m.id AND l.zone = ?)"
            params = [*params, zone]
        order = "DESC" if newest_first else "ASC"
        listed = self.conn.execute(
            f"SELECT {self.conn.dialect.joined_ids('id', f'at {order}, id {order}')} FROM (SELECT m.id, {_WHEN} AS at "
            f"FROM memories m WHERE {where} ORDER BY {_WHEN} {order}, m.id {order}) AS listed",  # PG < 16: the alias
            params,
        ).fetchone()[0]
        return np.array(listed.split(","), dtype=np.int64) if listed else np.zeros(0, np.int64)

    def set_tags(self, memory_id: int, tags: tuple[str, ...]) -> None:
        """Replace a memory's tags (call inside the caller's write transaction)."""
        self.conn.execute("DELETE FROM memory_tags WHERE memory_id = ?", (memory_id,))
        self.conn.executemany("INSERT INTO memory_tags (memory_id, tag) VALUES (?, ?)", [(memory_id, t) for t in tags])

    def with_tag(self, ids: list[int], tag: str) -> set[int]:
        """Those of `ids` that carry `tag`."""
        sql = self.conn.dialect
        rows = self.conn.execute(
            f"SELECT memory_id FROM memory_tags WHERE tag = ? AND {sql.in_list('memory_id')}",
            (tag, sql.list_param(ids)),
        )
        return {r[0] for r in rows}

    def tag_counts(self, flt: MemoryFilter | None = None) -> dict[str, int]:
        """Current memories (those `flt` lets through) per tag, the most used first."""
        where, params = (flt or MemoryFilter()).where()
        rows = self.conn.execute(
            f"SELECT t.tag, count(*) FROM memory_tags t JOIN memories m ON m.id = t.memory_id WHERE {where} "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            params,
        )
        return dict(rows.fetchall())

    def count(self, flt: MemoryFilter | None = None) -> int:
        where, params = (flt or MemoryFilter()).where()
        return self.conn.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0]

    def row_count(self) -> int:
        """Every stored row, earlier versions included: a size for thresholds, 8x cheaper than `count()`."""
        return self.conn.execute("SELECT count(*) FROM memories").fetchone()[0]

    def ids_matching(self, flt: MemoryFilter) -> np.ndarray:
        where, params = flt.where()
        rows = self.conn.execute(f"SELECT m.id FROM memories m WHERE {where}", params).fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, len(rows))

    def filter_ids(self, ids: list[int], flt: MemoryFilter) -> set[int]:
        """Those of `ids` that pass the filter (current versions only)."""
        where, params = flt.where()
        kept: set[int] = set()
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            kept |= {
                r[0]
                for r in self.conn.execute(
                    f"SELECT m.id FROM memories m WHERE m.id IN ({marks}) AND {where}", [*chunk, *params]
                )
            }
        return kept

    def keyword_search(self, match: str, flt: MemoryFilter, limit: int) -> list[tuple[int, float]]:
        """(id, BM25 score, higher is better) for a keyword MATCH expression (`slm.recall.fts_query`), best first:
        the backend's keyword index (`keyword_sqlite`: FTS5) does the work."""
        if flt.is_empty:
            return self.keyword.unfiltered(match, _hidden_query(flt.live), limit)
        where, params = flt.where()
        return self.keyword.filtered(match, where, params, limit)

    # -- sessions ---------------------------------------------------------------------------------------------
    def sessions_of(self, ids: list[int]) -> dict[int, tuple[str, str]]:
        """(project, session) of each memory that was said in a session."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT id, project, session FROM memories WHERE id IN ({marks}) AND session IS NOT NULL", ids
        )
        return {memory_id: (project, session) for memory_id, project, session in rows}

    def session_members(self, ids: list[int]) -> tuple[dict[int, tuple[str, str]], dict[tuple[str, str], list[int]]]:
        """The session of each memory said in one, and the current members of those sessions in order."""
        sessions = self.sessions_of(ids)
        return sessions, self.members_of(set(sessions.values()))

    def members_of(self, sessions: set[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
        """The current members of each (project, session) in id order, read in one query (sessions are
        conversations: tens to thousands of memories)."""
        members: dict[tuple[str, str], list[int]] = {}
        if sessions:
            keys = sorted(sessions)
            pairs = ",".join("(?, ?)" for _ in keys)
            rows = self.conn.execute(
                f"SELECT m.project, m.session, m.id FROM memories m WHERE (m.project, m.session) IN (VALUES {pairs}) "
                f"AND m.session IS NOT NULL AND {_CURRENT} ORDER BY m.id",
                [value for key in keys for value in key],
            )
            for project, session, memory_id in rows:
                members.setdefault((project, session), []).append(memory_id)
        return members

    def lengths_of(self, ids: list[int]) -> dict[int, int]:
        """Each memory's length in characters."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.conn.execute(f"SELECT id, length(content) FROM memories WHERE id IN ({marks})", ids))

    def projects_of(self, ids: list[int]) -> dict[int, str]:
        """Each memory's project."""
        found: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.conn.execute(f"SELECT id, project FROM memories WHERE id IN ({marks})", chunk))
        return found

    def times_of(self, ids: list[int]) -> dict[int, str]:
        """Each memory's time: when it happened if known, else when it was stored."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.conn.execute(f"SELECT m.id, {_WHEN} FROM memories m WHERE m.id IN ({marks})", ids))

    def has_private(self) -> bool:
        """Whether any memory or project is private to one member (index lookups): readers only pay for the filter
        then."""
        found = self.conn.execute(
            "SELECT 1 FROM memories WHERE private_to IS NOT NULL UNION ALL SELECT 1 FROM project_visibility LIMIT 1"
        )
        return found.fetchone() is not None

    def private_to(self, ids: list[int]) -> dict[int, str]:
        """The member keys of those of `ids` that are private, themselves or by their project."""
        if not ids:
            return {}
        where = self.conn.dialect.in_list("m.id")
        sql = f"SELECT m.id, {_PRIVACY} FROM memories m WHERE {where} AND {_PRIVACY} IS NOT NULL"
        return dict(self.conn.execute(sql, [self.conn.dialect.list_param(ids)]).fetchall())

    def hidden_ids(self, live: bool) -> np.ndarray:
        """What an unfiltered search leaves out: superseded versions, and archived memories when `live`."""
        rows = self.conn.execute(_hidden_query(live)).fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, len(rows))

    def counts_by(self, column: str, flt: MemoryFilter | None = None) -> dict[str, int]:
        """Current memories (those `flt` lets through) per project, agent or kind."""
        if column not in ("project", "agent", "kind"):
            raise ValueError(column)
        where, params = (flt or MemoryFilter()).where()
        rows = self.conn.execute(
            f"SELECT m.{column}, count(*) FROM memories m WHERE {where} GROUP BY 1 ORDER BY 2 DESC", params
        ).fetchall()
        return dict(rows)

    def time_range(self, flt: MemoryFilter | None = None) -> tuple[str | None, str | None]:
        where, params = (flt or MemoryFilter()).where()
        return self.conn.execute(f"SELECT min({_WHEN}), max({_WHEN}) FROM memories m WHERE {where}", params).fetchone()

    def chunk_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def _tags_of(self, ids: list[int]) -> dict[int, tuple[str, ...]]:
        marks = ",".join("?" * len(ids))
        tags: dict[int, list[str]] = {}
        for memory_id, tag in self.conn.execute(
            f"SELECT memory_id, tag FROM memory_tags WHERE memory_id IN ({marks}) ORDER BY tag", ids
        ):
            tags.setdefault(memory_id, []).append(tag)
        return {k: tuple(v) for k, v in tags.items()}


def neighbours_in(
    sessions: dict[int, tuple[str, str]], members: dict[tuple[str, str], list[int]], width: int
) -> dict[int, list[tuple[int, int]]]:
    """The current memories said just before and after each memory in its session, from what `session_members`
    read, as (offset, id): offset -1 is the one before, +1 the one after, up to `width` each way."""
    found: dict[int, list[tuple[int, int]]] = {}
    for memory_id, key in sessions.items():
        order = members.get(key, [])
        at = bisect.bisect_left(order, memory_id)
        after = at + 1 if at < len(order) and order[at] == memory_id else at
        found[memory_id] = [(-n, order[at - n]) for n in range(1, width + 1) if at - n >= 0] + [
            (n, order[after + n - 1]) for n in range(1, width + 1) if after + n - 1 < len(order)
        ]
    return found


def _hidden_query(live: bool) -> str:
    superseded = "SELECT id FROM memories WHERE superseded_by IS NOT NULL"
    return superseded + (" UNION ALL SELECT memory_id FROM memory_lifecycle WHERE zone = 'archived'" if live else "")


def _row(r: tuple, tags: tuple[str, ...]) -> MemoryRow:
    return MemoryRow(
        id=r[0],
        content=r[1],
        content_hash=r[2],
        created_at=r[3],
        event_time=r[4],
        agent=r[5],
        project=r[6],
        kind=r[7],
        meta=json.loads(r[8]),
        protocol=r[9],
        superseded_by=r[10],
        agent_id=r[11],
        session=r[12],
        private_to=r[13],
        tags=tags,
    )
