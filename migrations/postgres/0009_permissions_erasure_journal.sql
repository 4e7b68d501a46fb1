-- PostgreSQL twin of migrations/0009_permissions_erasure_journal.sql (conventions: 0001): an agent's grant to
-- change others' memories, and erasures that survive a crash.
ALTER TABLE agents ADD COLUMN edit_others integer NOT NULL DEFAULT 0;

CREATE TABLE erasure_journal (
    id       text PRIMARY KEY,          -- the receipt's id
    body     text NOT NULL,             -- the receipt's body as JSON
    clusters text NOT NULL,             -- JSON ids of the clusters to relabel
    done     text NOT NULL DEFAULT '[]' -- JSON names of the steps finished
);
