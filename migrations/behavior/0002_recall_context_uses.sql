-- What a learner trains on (issue 23): a recall's context, and what the agent then did with what it showed.
-- A use of a memory (opened with get, updated, cited by a memory written soon after) is kept only when a recall by
-- the same agent showed that memory shortly before, linked to the latest such recall: its position there is what
-- corrects for position bias. Feedback is linked the same way when it can be.

ALTER TABLE recalls ADD COLUMN session TEXT;      -- the caller's conversation, when its face knows it
ALTER TABLE recalls ADD COLUMN project TEXT;      -- the project the recall asked about, when it named one
ALTER TABLE recalls ADD COLUMN agent_id INTEGER;  -- the authenticated agent (agents.id in memory.db), if any
CREATE INDEX recalls_agent ON recalls (agent, id);

ALTER TABLE feedback ADD COLUMN agent_id INTEGER;
ALTER TABLE feedback ADD COLUMN recall_id INTEGER REFERENCES recalls (id) ON DELETE SET NULL;

CREATE TABLE uses (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    time      TEXT NOT NULL,
    recall_id INTEGER NOT NULL REFERENCES recalls (id) ON DELETE CASCADE,  -- who used it: that recall's agent
    memory_id INTEGER NOT NULL,                                            -- one of that recall's results
    kind      TEXT NOT NULL CHECK (kind IN ('get', 'update', 'cite')),
    by_id     INTEGER   -- update: the new version; cite: the new memory that cites it
);
CREATE INDEX uses_recall ON uses (recall_id);
CREATE INDEX uses_memory ON uses (memory_id);
CREATE INDEX uses_by ON uses (by_id);
