-- PostgreSQL twin of migrations/0015_members_private.sql (conventions: 0001): the member an agent acts for, and
-- memories private to one member.
ALTER TABLE agents ADD COLUMN member text;
ALTER TABLE memories ADD COLUMN private_to text;
CREATE INDEX memories_private ON memories (private_to) WHERE private_to IS NOT NULL;
