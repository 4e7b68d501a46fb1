-- The current claims about one subject and attribute in a project, newest first, with what a new claim's rivals
-- are chosen by (slm/storage/claims.py: rivals), read from the index alone: placing a claim reads the newest 128
-- of its key, and reading each from the table cost an upgrade of 100k memories seconds (docs/benchmarks.md). `id`
-- follows `valid_from`, so the index keeps the order those reads ask for; `valid_to` (always NULL here) makes it
-- cover their `valid_to IS NULL`.
DROP INDEX claims_key;
CREATE INDEX claims_key ON claims (subject, attribute, project, valid_from, id, memory_id, value, polarity, single, valid_to)
 WHERE valid_to IS NULL;
