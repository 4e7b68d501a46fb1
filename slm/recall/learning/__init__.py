"""Recall that learns each user (issue 23): three behavioural layers, a guarded learner, the personal re-ranking
(docs/ARCHITECTURE.md, "Learning")."""
