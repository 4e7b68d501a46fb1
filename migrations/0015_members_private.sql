-- A team's store (issue 24): the member (person) an agent acts for, and memories private to one member.
-- `agents.member` groups one person's agents (their assistants on several machines); NULL: the agent is a member of
-- its own. `memories.private_to` is NULL for a memory everyone who reads the store may see, else the key of the
-- only member who may (`member:NAME`, `agent:ID` for an agent of no member, `user` for the owner at the CLI or API):
-- recall, listings and every agent-facing read leave it out for anyone else (slm/core/callers.py).
ALTER TABLE agents ADD COLUMN member TEXT;
ALTER TABLE memories ADD COLUMN private_to TEXT;
CREATE INDEX memories_private ON memories (private_to) WHERE private_to IS NOT NULL;
