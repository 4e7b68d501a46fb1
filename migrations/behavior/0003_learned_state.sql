-- What the learned ranking needs besides the signals (issue 23): where each recall was made, the order its results
-- had before the personal re-ranking moved them, and the learner's own state.

ALTER TABLE recalls ADD COLUMN workspace TEXT;   -- the project of the caller's folder, when it named none to filter by
-- JSON list parallel to results: the rank (1 = first) each shown result had in the ranking before the personal
-- re-ranking; NULL: the shown order is the base order (learning was not applied)
ALTER TABLE recalls ADD COLUMN base_ranks TEXT CHECK (base_ranks IS NULL OR json_valid(base_ranks));
CREATE INDEX recalls_session ON recalls (session, id);   -- a recall's context: its session's latest recalls

-- The learner's state: a few named JSON objects ("model", "settings", ...). Derived from the behaviour rows and the
-- memories but "settings" (the user's switch and reset point), so an erasure deletes all the others.
CREATE TABLE learned (
    name       TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (json_valid(state)),   -- a JSON object
    updated_at TEXT NOT NULL
);
