-- PostgreSQL twin of migrations/0011_claims_key_order.sql: the current claims of a key, newest first, in index order.
DROP INDEX claims_key;
CREATE INDEX claims_key ON claims (subject, attribute, project, valid_from) WHERE valid_to IS NULL;
