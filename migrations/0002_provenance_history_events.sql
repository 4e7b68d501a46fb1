-- Provenance (through which protocol a memory was written), update history, and the event log.
--
-- `update` never overwrites: the new text is a new memory and the old row points to it through
-- `superseded_by`. Deleting a memory deletes the versions it superseded with it (ON DELETE CASCADE), so
-- forgetting a fact forgets its history. Duplicate detection only looks at current memories, so a
-- fact that was updated away can be stated again.

ALTER TABLE memories ADD COLUMN protocol TEXT NOT NULL DEFAULT 'api';   -- api, cli, mcp-stdio, mcp-http
ALTER TABLE memories ADD COLUMN superseded_by INTEGER REFERENCES memories (id) ON DELETE CASCADE;

DROP INDEX memories_project_hash;
CREATE UNIQUE INDEX memories_current_hash ON memories (project, content_hash) WHERE superseded_by IS NULL;
CREATE INDEX memories_superseded ON memories (superseded_by) WHERE superseded_by IS NOT NULL;

-- One row per change, written in the same transaction as the change. `memory_id` has no foreign key:
-- the event outlives the memory it tells about. `payload` never holds memory text, so erasing a memory
-- leaves its events as content-free history.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    type      TEXT NOT NULL,     -- memory.created, memory.updated, memory.deleted, agent.connected
    agent     TEXT NOT NULL,
    protocol  TEXT NOT NULL,
    memory_id INTEGER,
    payload   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);
CREATE INDEX events_agent ON events (agent, id);
CREATE INDEX events_memory ON events (memory_id) WHERE memory_id IS NOT NULL;
