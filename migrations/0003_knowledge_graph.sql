-- The knowledge graph: entities named in memories, memory-memory edges, and Leiden clusters.
--
-- Entities and a memory's edges are written in the same transaction as the memory; clusters are rebuilt by
-- `slm graph build` and a new memory joins one on write. Everything here hangs off `memories` with
-- ON DELETE CASCADE, so forgetting a memory removes its links, edges and cluster membership with it.

CREATE TABLE entities (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    key      TEXT NOT NULL UNIQUE,         -- canonical identity: "postgresql", "person:sarah", "path:src/app.py"
    name     TEXT NOT NULL,                -- how to show it
    kind     TEXT NOT NULL,                -- technology, person, place, organization, path, url, ...
    memories INTEGER NOT NULL DEFAULT 0    -- how many memories name it (kept by the triggers below)
);

CREATE TABLE memory_entities (
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    PRIMARY KEY (memory_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX memory_entities_entity ON memory_entities (entity_id, memory_id);

CREATE TRIGGER memory_entities_count_insert AFTER INSERT ON memory_entities BEGIN
    UPDATE entities SET memories = memories + 1 WHERE id = new.entity_id;
END;
CREATE TRIGGER memory_entities_count_delete AFTER DELETE ON memory_entities BEGIN
    UPDATE entities SET memories = memories - 1 WHERE id = old.entity_id;
END;

-- Undirected: stored once with source < target. kind: 'entity' (shared rare entities), 'similar' (nearest
-- neighbours above the measured cosine threshold), 'session' (the previous memory of the same conversation).
CREATE TABLE memory_edges (
    source INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    target INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    weight REAL NOT NULL CHECK (weight > 0),
    PRIMARY KEY (source, target, kind),
    CHECK (source < target)
) WITHOUT ROWID;
CREATE INDEX memory_edges_target ON memory_edges (target, source);

-- The conversation a memory belongs to, when its client says (meta.session): finds the previous turn fast.
CREATE INDEX memories_session ON memories (json_extract(meta, '$.session'), id)
    WHERE json_extract(meta, '$.session') IS NOT NULL;

-- Ids are kept across rebuilds by matching old clusters to new ones by overlap (AUTOINCREMENT: never reused).
CREATE TABLE clusters (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    parent   INTEGER REFERENCES clusters (id) ON DELETE CASCADE,   -- NULL for a top-level cluster
    label    TEXT NOT NULL,
    centroid BLOB,                          -- mean unit vector of the members (float32), for joining on write
    built_at TEXT NOT NULL
);
CREATE INDEX clusters_parent ON clusters (parent);

CREATE TABLE memory_clusters (
    memory_id  INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,   -- top level
    sub_id     INTEGER REFERENCES clusters (id) ON DELETE SET NULL            -- inside a split cluster
);
CREATE INDEX memory_clusters_cluster ON memory_clusters (cluster_id);
CREATE INDEX memory_clusters_sub ON memory_clusters (sub_id) WHERE sub_id IS NOT NULL;

-- Memories stored before this migration have no entities or edges yet: the next `slm graph build` links
-- them and removes this marker.
INSERT INTO settings (key, value)
    SELECT 'graph.unlinked_through', CAST(max(id) AS TEXT) FROM memories HAVING count(*) > 0;
