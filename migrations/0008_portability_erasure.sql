-- Export, import and erasure.
-- Import finds a record it already holds by (project, content hash, stored time), superseded versions included,
-- and `slm erase --verify` looks every receipt hash up: both need the hash indexed over all rows.
CREATE INDEX memories_hash ON memories (content_hash, project);

-- Backups slm made (`slm backup`): erasure warns that these still hold what it erased.
CREATE TABLE backups (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    path     TEXT NOT NULL,
    made_at  TEXT NOT NULL,
    memories INTEGER NOT NULL
);
