-- PostgreSQL twin of migrations/0012_claims_key_covering.sql: the current claims of a key with what a new claim's
-- rivals are chosen by, read from the index alone (an index-only scan once the table is vacuumed).
DROP INDEX claims_key;
CREATE INDEX claims_key ON claims (subject, attribute, project, valid_from, id, memory_id, value, polarity, single, valid_to)
 WHERE valid_to IS NULL;
