"""Provenance, Bayesian trust per agent, poisoning defence and contradiction checks (later issues)."""
