-- The current claims about one subject and attribute in a project, newest first, read in the index's order:
-- slm/facts/validity.py asks for them once per new claim, and sorting each answer cost an upgrade of 100k
-- memories seconds (docs/benchmarks.md, "Upgrade and erase --all").
DROP INDEX claims_key;
CREATE INDEX claims_key ON claims (subject, attribute, project, valid_from) WHERE valid_to IS NULL;
