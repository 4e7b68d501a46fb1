-- Authenticated agents. `slm agent add NAME` creates one with a secret token, shown once; only its SHA-256 is
-- stored (tokens are 256 random bits, so a slow password hash would add nothing). An MCP server started with
-- SLM_AGENT_TOKEN acts as that agent, and its memories record the agent's id: trust will be earned by this id,
-- never by the name a caller types. Agents are revoked, never deleted, so old memories keep their author.

CREATE TABLE agents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- NULL: written under a name nobody proved (the CLI, the API, an MCP client without a token).
ALTER TABLE memories ADD COLUMN agent_id INTEGER REFERENCES agents (id);
CREATE INDEX memories_agent_id ON memories (agent_id) WHERE agent_id IS NOT NULL;
