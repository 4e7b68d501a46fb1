-- PostgreSQL twin of migrations/0010_sessions.sql (conventions: 0001): the session a memory was said in, as a
-- column (no store predates this step here: nothing to copy from meta.session).
ALTER TABLE memories ADD COLUMN session text;
DROP INDEX memories_session;  -- on meta.session (0003): the column replaces it
CREATE INDEX memories_session ON memories (project, session, id) WHERE session IS NOT NULL;
