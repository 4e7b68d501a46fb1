-- The behaviour database (behavior.db beside memory.db): what users and agents did, kept apart from what
-- they know, so it can be exported and erased on its own. Memory ids point into memory.db (no foreign key
-- across files).

CREATE TABLE feedback (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    time      TEXT NOT NULL,
    memory_id INTEGER NOT NULL,
    helpful   INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    query     TEXT,
    agent     TEXT NOT NULL,
    protocol  TEXT NOT NULL
);
CREATE INDEX feedback_memory ON feedback (memory_id);

CREATE TABLE recalls (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    time     TEXT NOT NULL,
    query    TEXT NOT NULL,
    k        INTEGER NOT NULL,
    results  TEXT NOT NULL CHECK (json_valid(results)),   -- the returned memory ids, best first
    agent    TEXT NOT NULL,
    protocol TEXT NOT NULL
);

-- Same shape as memory.db's events, for feedback.recorded.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,   -- readers follow the log by id
    time      TEXT NOT NULL,
    type      TEXT NOT NULL,
    agent     TEXT NOT NULL,
    protocol  TEXT NOT NULL,
    memory_id INTEGER,
    payload   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);
CREATE INDEX events_agent ON events (agent, id);
