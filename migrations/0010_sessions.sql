-- Sessions: the conversation, coding session or thread a memory was said in. Recall scores a memory with the
-- context of its neighbours in the same session (nearest ids of the same project and session). Clients that
-- already gave a session in `meta.session` (the graph's session edges read it) keep it as the column's value.
ALTER TABLE memories ADD COLUMN session TEXT;
UPDATE memories SET session = CAST(json_extract(meta, '$.session') AS TEXT)
 WHERE json_type(meta, '$.session') IN ('text', 'integer');
DROP INDEX memories_session;  -- on meta.session (0003): the column replaces it
CREATE INDEX memories_session ON memories (project, session, id) WHERE session IS NOT NULL;
