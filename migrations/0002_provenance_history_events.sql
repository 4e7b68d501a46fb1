-- Provenance (through which protocol a memory was written), update history, ids that are never reused,
-- and the event log.
--
-- `memories` and `chunks` are rebuilt with AUTOINCREMENT (SQLite's documented table-rebuild procedure; the
-- runner turns foreign keys off around it and checks them before committing). Without it SQLite hands the
-- largest id out again once that memory is deleted, and events, feedback and other processes' vector mirrors
-- would then point at a different memory or chunk.
--
-- `update` never overwrites: the new text is a new memory and the old row points to it through
-- `superseded_by`. Deleting a memory deletes the versions it superseded with it (ON DELETE CASCADE), so
-- forgetting a fact forgets its history. Duplicate detection only looks at current memories, so a
-- fact that was updated away can be stated again.

CREATE TABLE memories_v2 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    content       TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    event_time    TEXT,
    agent         TEXT NOT NULL,
    project       TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT 'note',
    meta          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
    protocol      TEXT NOT NULL DEFAULT 'api',     -- api, cli, mcp-stdio, mcp-http
    superseded_by INTEGER REFERENCES memories (id) ON DELETE CASCADE
);
INSERT INTO memories_v2 (id, content, content_hash, created_at, event_time, agent, project, kind, meta)
    SELECT id, content, content_hash, created_at, event_time, agent, project, kind, meta FROM memories;
DROP TABLE memories;
ALTER TABLE memories_v2 RENAME TO memories;

CREATE UNIQUE INDEX memories_current_hash ON memories (project, content_hash) WHERE superseded_by IS NULL;
CREATE INDEX memories_superseded ON memories (superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX memories_agent ON memories (agent);
CREATE INDEX memories_when ON memories (coalesce(event_time, created_at));

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO memories_fts (rowid, content) VALUES (new.id, new.content);
END;

-- The trigger that deletes a chunk's vector goes with the old table; slm.storage.vectors puts it back when the
-- vector table exists (its dimension, hence the table, comes from the model).
CREATE TABLE chunks_v2 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    start     INTEGER NOT NULL,
    end       INTEGER NOT NULL
);
INSERT INTO chunks_v2 (id, memory_id, start, end) SELECT id, memory_id, start, end FROM chunks;
DROP TABLE chunks;
ALTER TABLE chunks_v2 RENAME TO chunks;
CREATE INDEX chunks_memory ON chunks (memory_id);

-- One row per change, written in the same transaction as the change. `memory_id` has no foreign key:
-- the event outlives the memory it tells about. `payload` never holds memory text, so erasing a memory
-- leaves its events as content-free history.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,   -- readers follow the log by id
    time      TEXT NOT NULL,
    type      TEXT NOT NULL,     -- memory.created, memory.updated, memory.deleted, agent.connected
    agent     TEXT NOT NULL,
    protocol  TEXT NOT NULL,
    memory_id INTEGER,
    payload   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);
CREATE INDEX events_agent ON events (agent, id);
CREATE INDEX events_memory ON events (memory_id) WHERE memory_id IS NOT NULL;
