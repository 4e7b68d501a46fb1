"""Trust: agents and their tokens, provenance, Bayesian trust per agent, the poisoning defence, the sheaf check of
contradictions and signed receipts (docs/ARCHITECTURE.md, "Trust")."""
