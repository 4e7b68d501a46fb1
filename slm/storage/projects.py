"""The `project_keys` table (migration 0013), projects kept to one member (`project_visibility`, 0016), and the
SQL that renames and merges projects: every table that stores a project name — memories, claims, contradictions,
the trust table of writes per project, the keys and the visibility.

Callers hold the write transaction around every change, so a rename or merge commits whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# every table that stores a project name, with the column; principal_projects is summed, not renamed (`_move_writes`)
NAMED = (("memories", "project"), ("claims", "project"), ("contradictions", "project"), ("project_keys", "project"))


@dataclass(frozen=True)
class KeyRow:
    key: str
    project: str
    bound_at: str


@dataclass(frozen=True)
class ProjectRow:
    name: str
    memories: int  # current memories
    versions: int  # every stored row, earlier versions included
    keys: int
    newest: str | None  # the newest write (stored time)
    oldest: str | None


class ProjectRepository:
    def __init__(self, conn) -> None:
        self.conn = conn

    # -- keys -----------------------------------------------------------------------------------------------------
    def bound(self, key: str) -> str | None:
        """The project `key` is bound to, if any."""
        row = self.conn.execute("SELECT project FROM project_keys WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def key_of_name(self, project: str) -> str | None:
        """A key bound to `project` (the first in key order), if any."""
        row = self.conn.execute("SELECT min(key) FROM project_keys WHERE project = ?", (project,)).fetchone()
        return row[0]

    def bind(self, key: str, project: str, at: str) -> str:
        """Bind `key` to `project` unless it is already bound; returns the project it is bound to (call inside the
        caller's write transaction, so that two processes binding one key agree)."""
        self.conn.execute(
            "INSERT INTO project_keys (key, project, bound_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, project, at),
        )
        return self.bound(key)  # type: ignore[return-value]

    def keys(self, project: str | None = None) -> list[KeyRow]:
        """The keys bound to `project` (None: every key), in key order."""
        rows = self.conn.execute(
            "SELECT key, project, bound_at FROM project_keys WHERE ? IS NULL OR project = ? ORDER BY key",
            (project, project),
        )
        return [KeyRow(*r) for r in rows]

    def drop_orphan_keys(self) -> int:
        """Keys of projects that hold no memory any more (an erasure took them): they name folders and remotes."""
        self.conn.execute("DELETE FROM project_keys WHERE project NOT IN (SELECT project FROM memories)")
        return self.conn.changes()

    def clear_keys(self) -> int:
        self.conn.execute("DELETE FROM project_keys")
        return self.conn.changes()

    # -- visibility (a team's store) --------------------------------------------------------------------------------
    def private_to(self, project: str) -> str | None:
        """The member key `project` is kept to; None: shared."""
        row = self.conn.execute("SELECT private_to FROM project_visibility WHERE project = ?", (project,)).fetchone()
        return row[0] if row else None

    def visibility(self) -> dict[str, str]:
        """Every private project with the member key it is kept to."""
        return dict(self.conn.execute("SELECT project, private_to FROM project_visibility").fetchall())

    def keep_to(self, project: str, key: str | None, at: str) -> None:
        """Keep `project` to the member `key`, or share it again (None)."""
        if key is None:
            self.conn.execute("DELETE FROM project_visibility WHERE project = ?", (project,))
            return
        self.conn.execute(
            "INSERT INTO project_visibility (project, private_to, set_at) VALUES (?, ?, ?) "
            "ON CONFLICT (project) DO UPDATE SET private_to = excluded.private_to, set_at = excluded.set_at",
            (project, key, at),
        )

    def drop_orphan_visibility(self) -> int:
        """The visibility of projects that hold no memory any more (it names the project and its member)."""
        self.conn.execute("DELETE FROM project_visibility WHERE project NOT IN (SELECT project FROM memories)")
        return self.conn.changes()

    # -- reading --------------------------------------------------------------------------------------------------
    def projects(self, name: str | None = None) -> list[ProjectRow]:
        """Every project a memory or a key names (or only `name`), the most recently written first."""
        only = "WHERE project = ?" if name is not None else ""
        params = [name, name] if name is not None else []
        rows = self.conn.execute(
            "SELECT p.name, coalesce(m.current, 0), coalesce(m.versions, 0), coalesce(k.keys, 0), m.newest, m.oldest "
            f"FROM (SELECT project AS name FROM memories {only} UNION SELECT project FROM project_keys {only}) p "
            f"LEFT JOIN (SELECT project, {self.conn.dialect.count_true('superseded_by IS NULL')} AS current, "
            "count(*) AS versions, "
            "max(created_at) AS newest, min(created_at) AS oldest FROM memories GROUP BY project) m "
            "ON m.project = p.name "
            "LEFT JOIN (SELECT project, count(*) AS keys FROM project_keys GROUP BY project) k ON k.project = p.name "
            "ORDER BY m.newest IS NULL, m.newest DESC, p.name",
            params,
        )
        return [ProjectRow(*r) for r in rows]

    def exists(self, name: str) -> bool:
        """Whether a memory (any version), a claim, a contradiction or a key names `name`."""
        return any(
            self.conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (name,)).fetchone()
            for table, column in NAMED
        )

    def kinds_and_agents(self, name: str) -> tuple[dict[str, int], dict[str, int]]:
        """Current memories of `name` per kind and per agent, the most first."""
        counts = []
        for column in ("kind", "agent"):
            rows = self.conn.execute(
                f"SELECT {column}, count(*) FROM memories WHERE project = ? AND superseded_by IS NULL "
                "GROUP BY 1 ORDER BY 2 DESC, 1",
                (name,),
            )
            counts.append(dict(rows.fetchall()))
        return counts[0], counts[1]

    def open_contradictions(self, name: str) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM contradictions WHERE project = ? AND status = 'open'", (name,)
        ).fetchone()[0]

    # -- renaming and merging (inside the caller's write transaction) -----------------------------------------------
    def twins(self, source: str, target: str) -> list[tuple[int, int]]:
        """(source memory, target memory) pairs of current memories with the same text: after a merge only one
        current copy of a text may stay in the project (the `memories_current_hash` index)."""
        return self.conn.execute(
            "SELECT s.id, t.id FROM memories s JOIN memories t ON t.project = ? AND t.content_hash = s.content_hash "
            "AND t.superseded_by IS NULL WHERE s.project = ? AND s.superseded_by IS NULL ORDER BY s.id",
            (target, source),
        ).fetchall()

    def rename_everywhere(self, source: str, target: str) -> dict[str, int]:
        """Every row naming `source` names `target` instead; returns the rows changed per table."""
        changed = {}
        for table, column in NAMED:
            self.conn.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (target, source))
            changed[table] = self.conn.changes()
        changed["principal_projects"] = self._move_writes(source, target)
        changed["project_visibility"] = self._move_visibility(source, target)
        return changed

    def _move_visibility(self, source: str, target: str) -> int:
        """`source`'s visibility goes with its name unless `target` has its own (a merge; the caller checked that
        both are alike)."""
        self.conn.execute(
            "UPDATE project_visibility SET project = ? WHERE project = ? "
            "AND NOT EXISTS (SELECT 1 FROM project_visibility v WHERE v.project = ?)",
            (target, source, target),
        )
        moved = self.conn.changes()
        self.conn.execute("DELETE FROM project_visibility WHERE project = ?", (source,))
        return moved

    def _move_writes(self, source: str, target: str) -> int:
        """Each principal's writes to `source` count as writes to `target` (added to those it already has)."""
        self.conn.execute(
            "INSERT INTO principal_projects (principal, project, writes) "
            "SELECT principal, ?, writes FROM principal_projects WHERE project = ? AND true "
            "ON CONFLICT (principal, project) DO UPDATE SET writes = principal_projects.writes + excluded.writes",
            (target, source),
        )
        self.conn.execute("DELETE FROM principal_projects WHERE project = ?", (source,))
        return self.conn.changes()

    def claim_keys(self, project: str) -> set[tuple[str, str, str]]:
        """The (subject, attribute, project) of every current claim of `project`: what a merge checks again."""
        rows = self.conn.execute(
            "SELECT DISTINCT subject, attribute, project FROM claims WHERE project = ? AND valid_to IS NULL",
            (project,),
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]

    def doubled_contradictions(self, project: str) -> list[tuple[int, int]]:
        """(newer, older) pairs of open contradictions about one subject and attribute of `project`: a merge
        brings each project's own; the older stays open, the newer is settled into it."""
        return self.conn.execute(
            "SELECT n.id, min(o.id) FROM contradictions n JOIN contradictions o ON o.subject = n.subject "
            "AND o.attribute = n.attribute AND o.project = n.project AND o.status = 'open' AND o.id < n.id "
            "WHERE n.project = ? AND n.status = 'open' GROUP BY n.id ORDER BY n.id",
            (project,),
        ).fetchall()

    def fold_contradiction(self, newer: int, older: int, at: str) -> None:
        """The claims of contradiction `newer` join `older`'s, and `newer` is settled as merged into it."""
        self.conn.execute(
            "INSERT INTO contradiction_claims (contradiction_id, claim_id, residual) "
            "SELECT ?, claim_id, residual FROM contradiction_claims WHERE contradiction_id = ? AND true "
            "ON CONFLICT DO NOTHING",
            (older, newer),
        )
        self.conn.execute(
            "UPDATE contradictions SET status = 'resolved', resolved_at = ?, resolution = ? WHERE id = ?",
            (at, f"merged into contradiction {older} when their projects were merged", newer),
        )
