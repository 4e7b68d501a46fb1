-- PostgreSQL twin of migrations/0014_memories_project_when.sql: a project's newest current memories read in index
-- order, not by sorting the whole project.
CREATE INDEX memories_project_when ON memories (project, (coalesce(event_time, created_at)), id)
    WHERE superseded_by IS NULL;
