-- Memories, their tags, their embedding chunks, and the FTS5 keyword index.
-- The vec0 vector table depends on the embedding model's dimension, so slm.storage.vectors creates it
-- when the model is first recorded (settings 'embedding.*').

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE memories (
    id           INTEGER PRIMARY KEY,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,                 -- sha256 of content: exact duplicates within a project
    created_at   TEXT NOT NULL,                 -- when slm stored it, ISO-8601 UTC
    event_time   TEXT,                          -- when it happened or was said, ISO-8601 UTC
    agent        TEXT NOT NULL,                 -- who wrote it
    project      TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'note',
    meta         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta))
);
CREATE UNIQUE INDEX memories_project_hash ON memories (project, content_hash);
CREATE INDEX memories_agent ON memories (agent);
CREATE INDEX memories_when ON memories (coalesce(event_time, created_at));

CREATE TABLE memory_tags (
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (memory_id, tag)
) WITHOUT ROWID;
CREATE INDEX memory_tags_tag ON memory_tags (tag, memory_id);

-- One row per embedded span of a memory (long memories are embedded in several chunks).
CREATE TABLE chunks (
    id        INTEGER PRIMARY KEY,
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    start     INTEGER NOT NULL,
    end       INTEGER NOT NULL
);
CREATE INDEX chunks_memory ON chunks (memory_id);

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    content,
    content = 'memories',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

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
