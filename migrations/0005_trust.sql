-- Trust. A principal is who trust is earned by: 'user' (the person at the CLI or the Python API, trusted by
-- definition), 'agent:<id>' (an authenticated agent) or 'name:<name>' (a name an unauthenticated caller gave).
-- Each has a Beta(alpha, beta) posterior: prior plus decayed evidence, updated by signals (slm/trust/model.py).

CREATE TABLE trust_principals (
    principal  TEXT PRIMARY KEY,
    alpha      REAL NOT NULL CHECK (alpha > 0),
    beta       REAL NOT NULL CHECK (beta > 0),
    drift      REAL NOT NULL DEFAULT 0,      -- the change-point detector's CUSUM statistic
    signals    INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    burst_at     TEXT,                       -- the start of the current write-rate window
    burst_writes INTEGER NOT NULL DEFAULT 0  -- writes in that window
);

-- Every update, with its reason: `slm trust explain` reads this. `memory_id` has no foreign key, because the
-- signal outlives a deleted memory; `reason` never quotes memory text, so erasing a memory leaves it content-free.
CREATE TABLE trust_signals (
    id        INTEGER PRIMARY KEY,
    principal TEXT NOT NULL,
    time      TEXT NOT NULL,
    signal    TEXT NOT NULL,
    weight    REAL NOT NULL,                 -- evidence: > 0 adds to alpha, < 0 to beta
    memory_id INTEGER,
    source    TEXT,                          -- the principal whose action raised it
    reason    TEXT NOT NULL,
    alpha     REAL NOT NULL,                 -- the posterior after the update
    beta      REAL NOT NULL
);
CREATE INDEX trust_signals_principal ON trust_signals (principal, id);

-- Per memory: who wrote it, the doubt its content raised, and the user's verdict on it.
CREATE TABLE memory_trust (
    memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    doubt     REAL NOT NULL DEFAULT 0 CHECK (doubt >= 0),    -- instruction-like content
    review    TEXT CHECK (review IN ('approved'))
);
CREATE INDEX memory_trust_principal ON memory_trust (principal);

-- Who vouched for a memory, and how: its support is the sum of their trusts *now*, so a voucher that falls
-- takes its support with it. A second corroboration or helpful mark by the same principal counts for nothing,
-- so no storm of them can inflate a memory or its author.
CREATE TABLE memory_endorsements (
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('corroborated', 'helpful')),
    PRIMARY KEY (memory_id, principal, kind)
) WITHOUT ROWID;

-- Where each principal writes, for the out-of-project signal.
CREATE TABLE principal_projects (
    principal TEXT NOT NULL,
    project   TEXT NOT NULL,
    writes    INTEGER NOT NULL,
    PRIMARY KEY (principal, project)
) WITHOUT ROWID;

INSERT INTO memory_trust (memory_id, principal)
SELECT id,
       CASE
           WHEN agent_id IS NOT NULL THEN 'agent:' || agent_id
           WHEN agent = 'user' AND protocol IN ('cli', 'api') THEN 'user'
           ELSE 'name:' || agent
       END
FROM memories;

INSERT INTO principal_projects (principal, project, writes)
SELECT t.principal, m.project, count(*)
FROM memory_trust t JOIN memories m ON m.id = t.memory_id
GROUP BY t.principal, m.project;
