-- A project's newest current memories read in index order, not by sorting the whole project: session start's
-- newest memories, `slm list -p`, MCP `list_recent` with a project and the browser's project filter (a project of
-- 10,000 memories took ~25 ms to sort for its newest 30).
CREATE INDEX memories_project_when ON memories (project, coalesce(event_time, created_at), id)
    WHERE superseded_by IS NULL;
