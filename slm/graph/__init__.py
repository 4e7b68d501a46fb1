"""The knowledge graph: entities named in memories, the links between memories, and their Leiden clusters
(docs/ARCHITECTURE.md, "The knowledge graph")."""
