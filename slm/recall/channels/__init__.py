"""Recall's channels, one module each: keyword, vector, graph, temporal, fisher (docs/ARCHITECTURE.md, "Recall")."""
