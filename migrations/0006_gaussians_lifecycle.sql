-- Fisher-metric retrieval and the Langevin lifecycle (docs/ARCHITECTURE.md, "Fisher metric" and "Lifecycle").

-- Each memory is a diagonal Gaussian in embedding space (slm/app/fisher.py): Welford's summary of its
-- observations, first its chunks, then the memories that corroborate it. A memory observed once (one chunk,
-- never restated) has no row: its Gaussian is its one vector with the prior's spread, which its vector holds.
CREATE TABLE memory_gaussians (
    memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    n         REAL NOT NULL CHECK (n >= 1),  -- observations
    mean      BLOB NOT NULL,                 -- float16 x dimension
    m2        BLOB NOT NULL                  -- float16 x dimension: sum of squared deviations from the mean
);

-- Each memory's lifecycle state (slm/app/lifecycle.py): a point on a geodesic through the centre of the Poincaré
-- ball, moved by Langevin dynamics under a potential made from its use. Times are days since 1970 (UTC).
CREATE TABLE memory_lifecycle (
    memory_id  INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    position   REAL NOT NULL DEFAULT 0,   -- signed geodesic coordinate: |position| is the distance from the centre
    zone       TEXT NOT NULL DEFAULT 'active' CHECK (zone IN ('active', 'warm', 'cold', 'archived')),
    importance REAL NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
    born       REAL NOT NULL,             -- when it was stored
    uses       REAL NOT NULL DEFAULT 1,   -- weighted uses (recalls, helpful feedback), storing it counted as one
    last_used  REAL NOT NULL
);
CREATE INDEX memory_lifecycle_zone ON memory_lifecycle (zone);

INSERT INTO memory_lifecycle (memory_id, importance, born, last_used)
SELECT id,
       CASE WHEN json_type(meta, '$.importance') IN ('integer', 'real')
                 AND json_extract(meta, '$.importance') BETWEEN 0 AND 1
            THEN json_extract(meta, '$.importance') ELSE 0.5 END,
       julianday(created_at) - 2440587.5,
       julianday(created_at) - 2440587.5
FROM memories;

-- Multi-chunk memories stored before this migration get their Gaussians from their chunks when the store is
-- next opened (slm.app.gaussians.backfill): SQL cannot compute them.
INSERT INTO settings (key, value)
SELECT 'gaussians.backfill', '1' WHERE EXISTS (SELECT 1 FROM chunks GROUP BY memory_id HAVING count(*) > 1);
