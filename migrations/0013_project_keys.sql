-- Which project a working directory writes to: the identity of its repository (slm/core/project_identity.py:
-- `git:<normalised remote URL>`, `root:<root commit>`, or `dir:<folder>` outside a repository) bound to a project
-- name. Two clones, a moved folder and a worktree have one key, so one project. A key is bound the first time slm
-- infers a project for it; `slm project rename` and `merge` rebind it. Keys name folders and remote URLs: an
-- erasure drops those of projects left without memories, and `slm erase --all` every one.
CREATE TABLE project_keys (
    key      TEXT PRIMARY KEY,
    project  TEXT NOT NULL,
    bound_at TEXT NOT NULL      -- when it was bound (ISO-8601 UTC)
) WITHOUT ROWID;
CREATE INDEX project_keys_project ON project_keys (project);
