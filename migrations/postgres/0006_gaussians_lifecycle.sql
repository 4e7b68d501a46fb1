-- PostgreSQL twin of migrations/0006_gaussians_lifecycle.sql (conventions: 0001): each memory's diagonal
-- Gaussian (float16 vectors as bytes) and its Langevin lifecycle state (times in days since 1970, UTC). No store
-- predates this step here: no lifecycle rows or Gaussian backfill marker for existing memories.

CREATE TABLE memory_gaussians (
    memory_id bigint PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    n         double precision NOT NULL CHECK (n >= 1),  -- observations
    mean      bytea NOT NULL,                            -- float16 x dimension
    m2        bytea NOT NULL                             -- float16 x dimension: sum of squared deviations
);

CREATE TABLE memory_lifecycle (
    memory_id  bigint PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    position   double precision NOT NULL DEFAULT 0,
    zone       text NOT NULL DEFAULT 'active' CHECK (zone IN ('active', 'warm', 'cold', 'archived')),
    importance double precision NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
    born       double precision NOT NULL,
    uses       double precision NOT NULL DEFAULT 1,
    last_used  double precision NOT NULL
);
CREATE INDEX memory_lifecycle_zone ON memory_lifecycle (zone);
