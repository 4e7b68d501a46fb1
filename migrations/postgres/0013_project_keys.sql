-- PostgreSQL twin of migrations/0013_project_keys.sql (conventions: 0001): which project a repository identity
-- (`git:<remote>`, `root:<commit>`, `dir:<folder>`) writes to.
CREATE TABLE project_keys (
    key      text PRIMARY KEY,
    project  text NOT NULL,
    bound_at text NOT NULL      -- when it was bound (ISO-8601 UTC)
);
CREATE INDEX project_keys_project ON project_keys (project);
