-- Who may change what, and erasures that survive a crash.

-- An agent may update or forget the memories it wrote; with this set by the user (`slm agent grant NAME
-- edit-others`) also everyone else's. The user may always.
ALTER TABLE agents ADD COLUMN edit_others INTEGER NOT NULL DEFAULT 0;

-- An erasure in progress: written in the transaction that deletes the memories, so a crash after that commit
-- leaves a record of what is still to do (behaviour rows, cluster labels, the FTS merge, VACUUM, the receipt).
-- The next `slm erase`, `slm doctor --repair` or opening of the store finishes it; the row goes with the receipt.
CREATE TABLE erasure_journal (
    id       TEXT PRIMARY KEY,          -- the receipt's id
    body     TEXT NOT NULL,             -- the receipt's body as JSON (scope, ids, content hashes, counts, time)
    clusters TEXT NOT NULL,             -- JSON ids of the clusters to relabel
    done     TEXT NOT NULL DEFAULT '[]' -- JSON names of the steps finished
);
