-- Projects kept to one member on a team's store (issue 24). A row makes every memory of `project` private to
-- `private_to` (the same keys as `memories.private_to`: `member:NAME`, `agent:ID`, `user`) unless the memory is
-- itself private to someone; no row: the project is shared. Read-time, so memories moved in or out of the project,
-- and a project shared again, follow without rewriting them (slm/storage/memories.py `_PRIVACY`).
CREATE TABLE project_visibility (
    project TEXT PRIMARY KEY,
    private_to TEXT NOT NULL,
    set_at TEXT NOT NULL
) WITHOUT ROWID;
