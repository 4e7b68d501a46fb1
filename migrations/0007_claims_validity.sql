-- Claims, temporal validity and contradictions (docs/ARCHITECTURE.md, "Claims and contradictions").

-- When what a memory says holds: from its claims' time (or its own), until every claim it makes is superseded
-- by a later one or the memory is updated. NULL valid_to: still current.
ALTER TABLE memories ADD COLUMN valid_from TEXT;
ALTER TABLE memories ADD COLUMN valid_to TEXT;
UPDATE memories SET valid_from = coalesce(event_time, created_at);
UPDATE memories SET valid_to = (SELECT n.created_at FROM memories AS n WHERE n.id = memories.superseded_by)
 WHERE superseded_by IS NOT NULL;
CREATE INDEX memories_valid_to ON memories (valid_to) WHERE valid_to IS NOT NULL;

-- One row per claim a memory makes (slm/app/claims.py). A claim is superseded, never deleted, by a later one
-- about the same subject and attribute in the same project: its validity closes where the newer one starts.
CREATE TABLE claims (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id     INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    attribute     TEXT NOT NULL,
    value         TEXT NOT NULL,
    polarity      INTEGER NOT NULL CHECK (polarity IN (-1, 1)),
    single        INTEGER NOT NULL CHECK (single IN (0, 1)),  -- the attribute holds one value at a time
    change        INTEGER NOT NULL CHECK (change IN (0, 1)),  -- the text says it changed ("moved to", "since")
    rule          TEXT NOT NULL,
    project       TEXT NOT NULL,
    principal     TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_to      TEXT,
    superseded_by INTEGER REFERENCES claims (id) ON DELETE SET NULL
);
CREATE INDEX claims_key ON claims (subject, attribute, project) WHERE valid_to IS NULL;
CREATE INDEX claims_memory ON claims (memory_id);
CREATE INDEX claims_superseded_by ON claims (superseded_by) WHERE superseded_by IS NOT NULL;

-- A contradiction found by the sheaf check (slm/trust/contradictions.py): current claims about one subject and
-- attribute in one project that no value explains. It stays as history once resolved or dismissed.
CREATE TABLE contradictions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subject     TEXT NOT NULL,
    attribute   TEXT NOT NULL,
    project     TEXT NOT NULL,
    severity    REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
    found_at    TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT
);
CREATE INDEX contradictions_key ON contradictions (subject, attribute, project, status);

CREATE TABLE contradiction_claims (
    contradiction_id INTEGER NOT NULL REFERENCES contradictions (id) ON DELETE CASCADE,
    claim_id         INTEGER NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
    residual         REAL NOT NULL,  -- the share of the unexplained discrepancy on this claim's edges
    PRIMARY KEY (contradiction_id, claim_id)
) WITHOUT ROWID;
CREATE INDEX contradiction_claims_claim ON contradiction_claims (claim_id);

-- Claims of the memories stored before this migration are extracted on next open (slm.app.memory).
INSERT INTO settings (key, value) SELECT 'claims.backfill', '1' WHERE EXISTS (SELECT 1 FROM memories);
