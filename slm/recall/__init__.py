"""Recall: query analysis, channels, candidate features, the learned ranker, weighing (docs/ARCHITECTURE.md)."""
