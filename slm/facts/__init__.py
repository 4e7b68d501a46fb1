"""Facts: claims extracted from memories without an LLM, and their validity over time: which later claim
supersedes which, and which contradict (docs/ARCHITECTURE.md, "Claims and contradictions")."""
